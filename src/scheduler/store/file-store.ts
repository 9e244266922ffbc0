import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, existsSync, truncateSync, unlinkSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { EventRecord } from '../../events/types.ts';
import type { Logger } from '../../shared/log.ts';
import { emptyState, StateDraft, stateFromJson, stateToJson } from '../core/state-ops.ts';
import type { ClusterState } from '../types.ts';
import { RevisionConflict, type CommitRecord, type LoadedState, type StateStore } from './state-store.ts';

const LOG_FILE = 'state.log';
const SNAPSHOT_FILE = 'state.snapshot.json';
/** A log set aside for a snapshot being written: `state.log.<seq of its last record>`. */
const SEGMENT = /^state\.log\.(\d+)$/;
/** Entries serialized per write while a snapshot is made: small enough that the API is never kept waiting long. */
const SNAPSHOT_CHUNK = 2000;

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
 *
 * Compaction does not stop the scheduler: the log is set aside (renamed to a segment) and a new
 * one started at once, and the snapshot of the state as of that moment is written in small
 * pieces in the background; once it is safely renamed into place, the segments it holds are
 * deleted. A crash at any point leaves a snapshot plus segments plus the log, and loading replays
 * them in order, skipping what the snapshot already holds.
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
  /** The snapshot being written in the background, if any. */
  #compacting: Promise<void> | undefined;

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
    // Segments set aside for a snapshot that did not finish, oldest first, then the live log.
    const segments = readdirSync(dir).flatMap((name) => {
      const match = SEGMENT.exec(name);
      return match === null ? [] : [{ path: join(dir, name), last: Number(match[1]) }];
    }).sort((a, b) => a.last - b.last);
    const draft = new StateDraft(state, 'commit');
    for (const path of [...segments.map((segment) => segment.path), logPath]) {
      if (!existsSync(path)) continue;
      const { records, validBytes, totalBytes } = readLog(readFileSync(path));
      if (validBytes < totalBytes) {
        logger.warn({ logPath: path, validBytes, droppedBytes: totalBytes - validBytes }, 'dropping torn or corrupt tail of the state log');
        truncateSync(path, validBytes);
      }
      for (const record of records) {
        // A crash between writing a snapshot and deleting the logs it holds leaves records it holds.
        if ((record.seq ?? 0) <= this.#seq) continue;
        this.#seq = record.seq ?? this.#seq;
        draft.apply(record.ops);
        this.#remember(record.events);
        lastEventId = Math.max(lastEventId, ...record.events.map((e) => e.eventId));
      }
      if (path === logPath) this.#recordsInLog = records.length;
    }
    state = draft.state;
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
    if (this.#compacting === undefined && this.#recordsInLog >= (this.#options.compactEvery ?? 5000)
      && this.#size >= (this.#options.logToSnapshot ?? 3) * this.#snapshotBytes && --this.#compactBackoff <= 0) {
      // The records are durable already: a failed compaction must not fail the write.
      try {
        await this.#startCompaction(stateAfter);
      } catch (err) {
        this.#compactionFailed(err);
      }
    }
    return this.#seq;
  }

  /** Waits for a snapshot being written, then closes the log. */
  async close(): Promise<void> {
    await this.#compacting;
    await this.#log?.close();
    this.#log = undefined;
  }

  #compactionFailed(err: unknown): void {
    this.#compactBackoff = 100;
    this.#options.logger.error({ err: (err as Error).message }, 'state log compaction failed; the log keeps growing until it succeeds');
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

  /**
   * Sets the log aside and starts a new one, then writes the snapshot of `state` (as of the last
   * record in the set-aside log) in the background.
   */
  async #startCompaction(state: ClusterState): Promise<void> {
    const { dir } = this.#options;
    // Entries are copied now (values are never changed in place), so later commits do not leak in.
    const collections = Object.entries(stateToJson(state));
    const header = { seq: this.#seq, lastEventId: this.#history.at(-1)?.eventId ?? 0, history: this.#historyTail() };
    const logPath = join(dir, LOG_FILE);
    const segment = join(dir, `${LOG_FILE}.${this.#seq}`);
    renameSync(logPath, segment);
    const old = this.#log;
    this.#log = await open(logPath, 'a');
    // The new log's name must be durable before a record in it is acknowledged.
    fsyncDir(dir);
    this.#size = 0;
    this.#recordsInLog = 0;
    await old?.close();
    this.#compacting = this.#writeSnapshot(header, collections)
      .then(() => this.#options.logger.info({ lastEventId: header.lastEventId, seq: header.seq }, 'state log compacted into a snapshot'))
      .catch((err: unknown) => this.#compactionFailed(err))
      .finally(() => {
        this.#compacting = undefined;
      });
  }

  /** The snapshot, piece by piece, atomically renamed into place; then the segments it holds go. */
  async #writeSnapshot(header: Omit<SnapshotFile, 'state'>, collections: Array<[string, Array<[string, unknown]>]>): Promise<void> {
    const { dir } = this.#options;
    const tmp = join(dir, `${SNAPSHOT_FILE}.tmp`);
    const file = await open(tmp, 'w');
    let bytes = 0;
    const write = async (text: string): Promise<void> => {
      bytes += (await file.write(text)).bytesWritten;
    };
    try {
      // The same JSON as one JSON.stringify of a SnapshotFile, written in pieces.
      await write(`${JSON.stringify(header).slice(0, -1)},"state":{`);
      for (const [index, [name, entries]] of collections.entries()) {
        await write(`${index === 0 ? '' : ','}${JSON.stringify(name)}:[`);
        for (let from = 0; from < entries.length; from += SNAPSHOT_CHUNK) {
          await write(`${from === 0 ? '' : ','}${JSON.stringify(entries.slice(from, from + SNAPSHOT_CHUNK)).slice(1, -1)}`);
        }
        await write(']');
      }
      await write('}}');
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(tmp, join(dir, SNAPSHOT_FILE));
    fsyncDir(dir);
    this.#snapshotBytes = bytes;
    for (const name of readdirSync(dir)) {
      const match = SEGMENT.exec(name);
      if (match !== null && Number(match[1]) <= header.seq) unlinkSync(join(dir, name));
    }
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
