/**
 * How the etcd store lays its data out under a key prefix, and how it cuts what it writes to fit
 * etcd's limits (1.5 MiB per request, 128 operations per transaction by default):
 *
 * - `<prefix>/head`: the seq of the last committed record, as text; every commit is one
 *   compare-and-set on it, so a reader sees a commit entirely or not at all.
 * - `<prefix>/log/<first seq>`: one entry per commit (several records of a group commit), written
 *   in the same transaction as the head. Small commits hold their records inline; large ones name
 *   their parts.
 * - `<prefix>/parts/<first seq>-<id>/<n>`: the parts of a large commit, written before the
 *   compare-and-set; if it fails they are orphans, deleted at once or at the next start-up.
 * - `<prefix>/snapshot`: names the parts (`<seq>~snap-<id>`) holding the state as of a seq; made
 *   current by one transaction that also deletes the log entries and parts it holds.
 * - `<prefix>/lock`: the writer's key, bound to its lease.
 */

/** Bytes of JSON per part: 4 parts per transaction stay well under 1.5 MiB (base64 in the JSON gateway). */
export const PART_BYTES = 256 * 1024;
export const PARTS_PER_TXN = 4;
/** Commits this small ride inline in their log entry: one transaction in all. */
export const INLINE_BYTES = 256 * 1024;

const SEQ_DIGITS = 16;

export const padSeq = (seq: number): string => String(seq).padStart(SEQ_DIGITS, '0');

export interface EtcdKeys {
  head: string;
  lock: string;
  snapshot: string;
  /** Every log entry: `log/` + padded first seq. */
  logDir: string;
  log(firstSeq: number): string;
  partsDir: string;
  /** Where a commit's parts go (their group's name sorts by the commit's first seq). */
  commitParts(firstSeq: number, id: string): string;
  /** Where a snapshot's parts go: after every commit part of seq ≤ its seq, so that one range delete clears those. */
  snapshotParts(seq: number, id: string): string;
  part(group: string, n: number): string;
}

/** The keys under `prefix` (`/corral`; a trailing slash is dropped). */
export function etcdKeys(prefix: string): EtcdKeys {
  const base = prefix.replace(/\/+$/, '');
  return {
    head: `${base}/head`,
    lock: `${base}/lock`,
    snapshot: `${base}/snapshot`,
    logDir: `${base}/log/`,
    log: (firstSeq) => `${base}/log/${padSeq(firstSeq)}`,
    partsDir: `${base}/parts/`,
    commitParts: (firstSeq, id) => `${base}/parts/${padSeq(firstSeq)}-${id}/`,
    snapshotParts: (seq, id) => `${base}/parts/${padSeq(seq)}~snap-${id}/`,
    part: (group, n) => `${group}${String(n).padStart(6, '0')}`,
  };
}

/** The end of etcd's range over every key starting with `prefix`: its last byte + 1 (UTF-8 never holds 0xff, so that byte exists). */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix);
  // etcd reads "\0" as "to the end of the key space".
  if (bytes.length === 0) return Buffer.from([0]);
  bytes[bytes.length - 1] = bytes.at(-1)! + 1;
  return bytes;
}

/** The bytes, cut into pieces of at most `size` (one empty piece for no bytes). */
export function splitBytes(bytes: Buffer, size = PART_BYTES): Buffer[] {
  if (bytes.length === 0) return [bytes];
  const pieces: Buffer[] = [];
  for (let from = 0; from < bytes.length; from += size) pieces.push(bytes.subarray(from, from + size));
  return pieces;
}

/** Consecutive groups of part numbers, each written by one transaction. */
export function txnGroups(parts: number, perTxn = PARTS_PER_TXN): number[][] {
  const groups: number[][] = [];
  for (let from = 0; from < parts; from += perTxn) groups.push(Array.from({ length: Math.min(perTxn, parts - from) }, (_, i) => from + i));
  return groups;
}

/** A log entry: the records inline, or the group holding them in `count` parts. */
export type LogEntry<R> = { last: number; records: R[] } | { last: number; parts: string; count: number };

/** The head's value as a seq; a missing head is seq 0. */
export function parseHead(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d{1,16}$/.test(value)) throw new Error(`the etcd store's head is '${value.slice(0, 40)}', not a seq: is another program using this prefix?`);
  return Number(value);
}

/**
 * The part groups nothing references (the leftovers of a failed or interrupted commit or
 * snapshot): every group under `parts/` but those of the log entries and the snapshot.
 */
export function orphanGroups(groups: readonly string[], referenced: readonly string[]): string[] {
  const keep = new Set(referenced);
  return groups.filter((group) => !keep.has(group));
}

/** The group (`…/parts/<name>/`) a part key belongs to. */
export const groupOf = (partKey: string): string => partKey.slice(0, partKey.lastIndexOf('/') + 1);
