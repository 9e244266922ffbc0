import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync, existsSync, truncateSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { EventRecord } from '../../events/types.ts';
import type { Logger } from '../../shared/log.ts';
import { emptyState, StateDraft, stateFromJson, stateToJson } from '../core/state-ops.ts';
import type { ClusterState } from '../types.ts';
import { RevisionConflict, type CommitRecord, type LoadedState, type StateStore } from './state-store.ts';

const LOG_FILE = 'state.log';
const SNAPSHOT_FILE = 'state.snapshot.json';

export interface FileStoreOptions {
  dir: string;
  logger: Logger;
  /** Write a snapshot and start a new log after this many records... */
  compactEvery?: number;
  /**
   * ...and once the log is this many times as large as the last snapshot (default 3). A log
   * record holds an instance and its events, about four times what the snapshot keeps of it, so
   * at 1 a growing cluster writes a whole snapshot for every quarter more instances; at 3 the
   * snapshots of a ramp add up to about twice the last one, and a restart replays at most three
   * snapshots' worth of log.
   */
  logToSnapshot?: number;
  /** Events kept for Last-Event-ID resumption. */
  historyLimit?: number;
}

/**
 * Append-only, fsynced log of commit records plus a periodic snapshot. Each log line is
 * `<crc32 hex> <json>`; a torn or corrupt tail (a crash mid-write) is detected by its checksum,
 * cut off and reported — records before it are never touched.
 */
export class FileStore implements StateStore {
  readonly #options: FileStoreOptions;
  #log: FileHandle | undefined;
  #recordsInLog = 0;
  #size = 0;
  #seq = 0;
  /** Appends to wait before trying a compaction that failed again. */
  #compactBackoff = 0;
  #snapshotBytes = 0;
  #history: EventRecord[] = [];

  constructor(options: FileStoreOptions) {
    this.#options = options;
  }

  get #historyLimit(): number {
    return this.#options.historyLimit ?? 10_000;
  }

  async load(): Promise<LoadedState> {
    const { dir, logger } = this.#options;
    mkdirSync(dir, { recursive: true });
    let state = emptyState();
    let lastEventId = 0;
    const snapshotPath = join(dir, SNAPSHOT_FILE);
    if (existsSync(snapshotPath)) {
      const text = readFileSync(snapshotPath, 'utf8');
      this.#snapshotBytes = Buffer.byteLength(text);
      const snapshot = JSON.parse(text) as SnapshotFile;
      state = stateFromJson(snapshot.state);
      lastEventId = snapshot.lastEventId;
      this.#history = snapshot.history;
      this.#seq = snapshot.seq;
    }
    const logPath = join(dir, LOG_FILE);
    if (existsSync(logPath)) {
      const { records, validBytes, totalBytes } = readLog(readFileSync(logPath));
      if (validBytes < totalBytes) {
        logger.warn({ logPath, validBytes, droppedBytes: totalBytes - validBytes }, 'dropping torn or corrupt tail of the state log');
        truncateSync(logPath, validBytes);
      }
      const draft = new StateDraft(state, 'commit');
      for (const record of records) {
        // A crash between writing a snapshot and emptying the log leaves records the snapshot holds.
        if ((record.seq ?? 0) <= this.#seq) continue;
        this.#seq = record.seq ?? this.#seq;
        draft.apply(record.ops);
        this.#remember(record.events);
        lastEventId = Math.max(lastEventId, ...record.events.map((e) => e.eventId));
      }
      this.#recordsInLog = records.length;
      state = draft.state;
    }
    this.#log = await open(logPath, 'a');
    this.#size = (await this.#log.stat()).size;
    logger.info({ dir, lastEventId, apps: state.apps.size, instances: state.instances.size }, 'state loaded');
    return { state, revision: this.#seq, lastEventId, history: this.#historyTail() };
  }

  async append(records: readonly CommitRecord[], stateAfter: ClusterState, expectedRevision: number): Promise<number> {
    const log = this.#log;
    if (log === undefined) throw new Error('store is not open');
    if (expectedRevision !== this.#seq) throw new RevisionConflict(expectedRevision, this.#seq);
    const text = records
      .map((record, index) => {
        const json = JSON.stringify({ ...record, seq: this.#seq + 1 + index });
        return `${crc32(json).toString(16).padStart(8, '0')} ${json}\n`;
      })
      .join('');
    const size = this.#size;
    try {
      await log.write(text);
      await log.datasync();
    } catch (err) {
      // Cut a partial line off, or every later record would sit behind it and be dropped on load.
      await log.truncate(size).catch(() => undefined);
      throw err;
    }
    this.#size += Buffer.byteLength(text);
    this.#seq += records.length;
    for (const record of records) this.#remember(record.events);
    this.#recordsInLog += records.length;
    // Rewriting the snapshot then costs a fraction of what was appended, however large the state
    // (100,000 instances: tens of MiB).
    if (this.#recordsInLog >= (this.#options.compactEvery ?? 5000) && this.#size >= (this.#options.logToSnapshot ?? 3) * this.#snapshotBytes && --this.#compactBackoff <= 0) {
      // The records are durable already: a failed compaction must not fail the write.
      try {
        this.#compact(stateAfter, records.at(-1));
      } catch (err) {
        this.#compactBackoff = 100;
        this.#options.logger.error({ err: (err as Error).message }, 'state log compaction failed; the log keeps growing until it succeeds');
      }
    }
    return this.#seq;
  }

  async close(): Promise<void> {
    await this.#log?.close();
    this.#log = undefined;
  }

  #remember(events: EventRecord[]): void {
    for (const event of events) this.#history.push(event);
    // Trimmed now and then rather than on every append: a copy of 10,000 entries each time adds up.
    if (this.#history.length > this.#historyLimit * 1.25) this.#history = this.#history.slice(-this.#historyLimit);
  }

  /** The events a snapshot keeps for Last-Event-ID resumption. */
  #historyTail(): EventRecord[] {
    return this.#history.slice(-this.#historyLimit);
  }

  /** Snapshot first (atomically, by rename), then empty the log: a crash between leaves both, and replay is idempotent over puts. */
  #compact(state: ClusterState, last: CommitRecord | undefined): void {
    const { dir } = this.#options;
    const lastEventId = this.#history.at(-1)?.eventId ?? last?.events.at(-1)?.eventId ?? 0;
    const snapshot: SnapshotFile = { seq: this.#seq, state: stateToJson(state), lastEventId, history: this.#historyTail() };
    const tmp = join(dir, `${SNAPSHOT_FILE}.tmp`);
    const fd = openSync(tmp, 'w');
    try {
      const json = JSON.stringify(snapshot);
      this.#snapshotBytes = Buffer.byteLength(json);
      writeSync(fd, json);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, SNAPSHOT_FILE));
    fsyncDir(dir);
    truncateSync(join(dir, LOG_FILE), 0);
    this.#recordsInLog = 0;
    this.#size = 0;
    this.#options.logger.info({ lastEventId }, 'state log compacted into a snapshot');
  }
}

interface SnapshotFile {
  /** The last record the snapshot includes. */
  seq: number;
  state: ReturnType<typeof stateToJson>;
  lastEventId: number;
  history: EventRecord[];
}

/** Parses log lines up to the first one that is incomplete or fails its checksum. */
export function readLog(buffer: Buffer): { records: CommitRecord[]; validBytes: number; totalBytes: number } {
  const records: CommitRecord[] = [];
  let offset = 0;
  while (offset < buffer.length) {
    const newline = buffer.indexOf(0x0a, offset);
    if (newline === -1) break;
    const line = buffer.subarray(offset, newline).toString('utf8');
    const space = line.indexOf(' ');
    const json = line.slice(space + 1);
    if (space !== 8 || parseInt(line.slice(0, 8), 16) !== crc32(json)) break;
    try {
      records.push(JSON.parse(json) as CommitRecord);
    } catch {
      break;
    }
    offset = newline + 1;
  }
  return { records, validBytes: offset, totalBytes: buffer.length };
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
