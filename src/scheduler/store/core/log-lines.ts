import { crc32 } from 'node:zlib';
import type { CommitRecord } from '../state-store.ts';

/**
 * One line of the state log, `<crc32 hex> <json>\n`, as found on disk: a record whose checksum
 * holds, or the damage that stands in its place.
 */
export type LogLine =
  | { offset: number; end: number; record: CommitRecord & { seq: number } }
  | { offset: number; end: number; problem: string };

/** The bytes of records as they are appended (numbered from `firstSeq`). */
export function encodeRecords(records: readonly CommitRecord[], firstSeq: number): string {
  return records
    .map((record, index) => {
      const json = JSON.stringify({ ...record, seq: firstSeq + index });
      return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
    })
    .join('');
}

/**
 * Every line of a log, good or bad. A bad line does not end the scan: whether valid records
 * follow it is what tells a torn tail (a crash mid-write) from damage in the middle.
 */
export function scanLog(buffer: Buffer): LogLine[] {
  const lines: LogLine[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const newline = buffer.indexOf(0x0a, offset);
    const end = newline === -1 ? buffer.length : newline + 1;
    lines.push({ offset, end, ...parseLine(buffer.subarray(offset, newline === -1 ? end : newline), newline === -1) });
    offset = end;
  }
  return lines;
}

function parseLine(bytes: Buffer, unterminated: boolean): { record: CommitRecord & { seq: number } } | { problem: string } {
  if (unterminated) return { problem: 'incomplete record (no end of line)' };
  const line = bytes.toString('utf8');
  const json = line.slice(9);
  if (line[8] !== ' ' || !/^[0-9a-f]{8}$/.test(line.slice(0, 8)) || parseInt(line.slice(0, 8), 16) !== crc32(json)) {
    return { problem: 'checksum mismatch' };
  }
  try {
    const record = JSON.parse(json) as CommitRecord;
    if (!Number.isSafeInteger(record.seq) || !Array.isArray(record.ops) || !Array.isArray(record.events)) return { problem: 'not a commit record' };
    return { record: record as CommitRecord & { seq: number } };
  } catch {
    return { problem: 'not JSON' };
  }
}
