import { crc32 } from 'node:zlib';

/**
 * A snapshot file is the snapshot's JSON followed by one trailer line,
 * `#corral-snapshot bytes=<n> crc32=<hex>`, over the JSON's bytes: a truncated or changed
 * snapshot is told from a good one before anything of it is believed.
 */
const TRAILER = /\n#corral-snapshot bytes=(\d+) crc32=([0-9a-f]{8})\n$/;

/** `state.snapshot.<seq of the last record it holds>.json` */
export const SNAPSHOT_NAME = /^state\.snapshot\.(\d+)\.json$/;
export const snapshotName = (seq: number): string => `state.snapshot.${seq}.json`;

/** The trailer for JSON of `bytes` bytes whose running crc32 is `crc`. */
export function snapshotTrailer(bytes: number, crc: number): string {
  return `\n#corral-snapshot bytes=${bytes} crc32=${crc.toString(16).padStart(8, '0')}\n`;
}

/** The snapshot's JSON text if its trailer vouches for it, else what is wrong. */
export function verifySnapshot(buffer: Buffer): { json: string } | { problem: string } {
  const tail = buffer.subarray(Math.max(0, buffer.length - 64)).toString('latin1');
  const match = TRAILER.exec(tail);
  if (match === null) return { problem: 'no checksum trailer (truncated, or not a Corral snapshot)' };
  const bytes = Number(match[1]);
  if (bytes + match[0].length !== buffer.length) return { problem: `${buffer.length} bytes where the trailer says ${bytes + match[0].length}` };
  const json = buffer.subarray(0, bytes);
  if (crc32(json) !== parseInt(match[2]!, 16)) return { problem: 'checksum mismatch' };
  return { json: json.toString('utf8') };
}

/**
 * What start-up may delete once the state is loaded: snapshots but the newest `keep`, and the
 * set-aside logs that the oldest kept snapshot holds (the logs after it stay, so that a bad
 * newest snapshot can be replaced by the one before it plus those logs).
 */
export function superseded(snapshotSeqs: readonly number[], segmentSeqs: readonly number[], keep = 2): { snapshots: number[]; segments: number[] } {
  const newestFirst = [...snapshotSeqs].sort((a, b) => b - a);
  const kept = newestFirst.slice(0, keep);
  const oldestKept = kept.length < keep ? 0 : kept.at(-1)!;
  return {
    snapshots: newestFirst.slice(keep),
    segments: segmentSeqs.filter((seq) => seq <= oldestKept),
  };
}
