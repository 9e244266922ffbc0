import type { CommitRecord } from '../state-store.ts';
import type { LogLine } from './log-lines.ts';

/** A log file as scanned, in replay order: set-aside segments (oldest first), then the live log. */
export interface ScannedLog {
  name: string;
  bytes: number;
  lines: LogLine[];
}

/** Where the logs stop being trustworthy, and what lies beyond that point. */
export interface LogDamage {
  file: string;
  offset: number;
  problem: string;
  /** Valid records after the damage, which cannot be applied on top of it. */
  recordsAfter: number;
  seqsAfter?: [number, number];
  /** Files after the damaged one, all of which would go with it. */
  filesAfter: string[];
}

export interface ReplayPlan {
  /** The records to apply on top of the snapshot, in order. */
  records: Array<CommitRecord & { seq: number }>;
  /** The seq of the last good record (the snapshot's when none follows it). */
  lastSeq: number;
  /** The highest event id of any valid record, including any beyond damage: ids never go back. */
  maxEventId: number;
  /** A crash mid-write: bytes at the very end of the live log with no valid record after them. */
  tornTail?: { file: string; offset: number; bytes: number; problem: string };
  /** Anything else: start-up stops unless the operator accepts the loss (`--repair`). */
  damage?: LogDamage;
}

/**
 * Which records to replay over a snapshot holding records up to `baseSeq`, and what is wrong with
 * the logs. Records must follow each other without a gap or repeat from the snapshot on (a
 * repeat is what two schedulers writing one log leave); records the snapshot holds already are
 * skipped. Only bad bytes at the end of the live log are a torn tail; a bad line that valid
 * records follow, or one in a set-aside segment (complete when it was set aside), is damage.
 */
export function planReplay(baseSeq: number, logs: readonly ScannedLog[]): ReplayPlan {
  const records: ReplayPlan['records'] = [];
  let previous: number | undefined;
  let maxEventId = 0;
  for (const [fileIndex, log] of logs.entries()) {
    for (const [lineIndex, line] of log.lines.entries()) {
      const isLive = fileIndex === logs.length - 1;
      if ('problem' in line) {
        const validAfter = log.lines.slice(lineIndex + 1).some((later) => 'record' in later);
        if (isLive && !validAfter) {
          const tornTail = { file: log.name, offset: line.offset, bytes: log.bytes - line.offset, problem: line.problem };
          return { records, lastSeq: previous ?? baseSeq, maxEventId, tornTail };
        }
        return damaged(records, previous ?? baseSeq, maxEventId, logs, fileIndex, lineIndex, line.problem);
      }
      const { seq } = line.record;
      const problem = sequenceProblem(previous, seq, baseSeq);
      if (problem !== undefined) return damaged(records, previous ?? baseSeq, maxEventId, logs, fileIndex, lineIndex, problem);
      previous = seq;
      for (const event of line.record.events) maxEventId = Math.max(maxEventId, event.eventId);
      if (seq > baseSeq) records.push(line.record);
    }
  }
  return { records, lastSeq: Math.max(previous ?? baseSeq, baseSeq), maxEventId };
}

function sequenceProblem(previous: number | undefined, seq: number, baseSeq: number): string | undefined {
  if (previous === undefined) {
    return seq > baseSeq + 1 ? `records ${baseSeq + 1}–${seq - 1} are missing (the snapshot ends at ${baseSeq}, the logs go on at ${seq})` : undefined;
  }
  if (seq === previous + 1) return undefined;
  if (seq <= previous) return `record ${seq} follows record ${previous} (a repeated or out-of-order sequence number: two writers?)`;
  return `records ${previous + 1}–${seq - 1} are missing`;
}

function damaged(
  records: ReplayPlan['records'],
  lastSeq: number,
  maxEventIdBefore: number,
  logs: readonly ScannedLog[],
  fileIndex: number,
  lineIndex: number,
  problem: string,
): ReplayPlan {
  const log = logs[fileIndex]!;
  const after = [...log.lines.slice(lineIndex), ...logs.slice(fileIndex + 1).flatMap((later) => later.lines)]
    .flatMap((line) => ('record' in line ? [line.record] : []));
  let maxEventId = maxEventIdBefore;
  let first = Infinity;
  let last = -Infinity;
  for (const record of after) {
    first = Math.min(first, record.seq);
    last = Math.max(last, record.seq);
    for (const event of record.events) maxEventId = Math.max(maxEventId, event.eventId);
  }
  return {
    records,
    lastSeq,
    maxEventId,
    damage: {
      file: log.name,
      offset: log.lines[lineIndex]!.offset,
      problem,
      recordsAfter: after.length,
      ...(after.length === 0 ? {} : { seqsAfter: [first, last] as [number, number] }),
      filesAfter: logs.slice(fileIndex + 1).map((later) => later.name),
    },
  };
}
