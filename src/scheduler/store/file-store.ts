import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { EventRecord } from '../../events/types.ts';
import type { Logger } from '../../shared/log.ts';
import { emptyState, StateDraft, stateFromJson, stateToJson } from '../core/state-ops.ts';
import type { ClusterState } from '../types.ts';
import { encodeRecords, scanLog } from './core/log-lines.ts';
import { planReplay, type LogDamage, type ReplayPlan } from './core/replay-plan.ts';
import { SNAPSHOT_NAME, snapshotName, snapshotTrailer, superseded, verifySnapshot } from './core/snapshot-file.ts';
import { DataDirLock } from './data-dir-lock.ts';
import { StoreDamagedError } from './errors.ts';
import { RevisionConflict, type CommitRecord, type LoadedState, type StateStore, type StoreRecovery, type StoreRepair } from './state-store.ts';

const LOG_FILE = 'state.log';
/** Written by Corral before snapshots carried a checksum; read, never written. */
const LEGACY_SNAPSHOT = 'state.snapshot.json';
const TMP_SNAPSHOT = 'state.snapshot.tmp';
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
  /** Accept the loss of the records after damage in the logs (`corral scheduler --repair`). */
  repair?: boolean;
  /** Written into the data dir's lock file, to name this scheduler to another that finds it locked. */
  holder?: Record<string, unknown>;
}

/**
 * Append-only, fsynced log of commit records plus a periodic snapshot, in a data dir that one
 * scheduler at a time holds (an flock). Each log line is `<crc32 hex> <json>` and each snapshot
 * ends in a checksum trailer. A torn tail of the live log (a crash mid-write) is cut off and
 * reported; damage anywhere else, or a gap or repeat in the records' sequence numbers, stops
 * start-up with every file untouched until the operator accepts the loss with `--repair`. A
 * damaged snapshot is set aside and the one before it, plus the logs kept since, used instead.
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
  #lock: DataDirLock | undefined;
  #recovery: StoreRecovery = { skippedSnapshots: [], removedLeftovers: [] };

  constructor(options: FileStoreOptions) {
    this.#options = options;
  }

  get #historyLimit(): number {
    return this.#options.historyLimit ?? 10_000;
  }

  async load(): Promise<LoadedState> {
    const { dir, logger } = this.#options;
    mkdirSync(dir, { recursive: true });
    this.#lock = DataDirLock.acquire(dir, this.#options.holder ?? {});
    try {
      return await this.#load(dir, logger);
    } catch (err) {
      this.#lock.release();
      this.#lock = undefined;
      throw err;
    }
  }

  async #load(dir: string, logger: Logger): Promise<LoadedState> {
    const recovery: StoreRecovery = { skippedSnapshots: [], removedLeftovers: [] };
    const aside = new SetAside(dir);
    const base = this.#loadNewestGoodSnapshot(dir, recovery, aside);
    const segments = listSegments(dir);
    // Segments the snapshot holds entirely are kept only to fall back on an older snapshot.
    const needed = segments.filter((segment) => segment.last > base.seq);
    const logPath = join(dir, LOG_FILE);
    const logs = [...needed.map((segment) => segment.name), LOG_FILE].map((name) => {
      const buffer = existsSync(join(dir, name)) ? readFileSync(join(dir, name)) : Buffer.alloc(0);
      return { name, bytes: buffer.length, lines: scanLog(buffer) };
    });
    const plan = planReplay(base.seq, logs);
    if (plan.damage !== undefined) {
      if (this.#options.repair !== true) throw new StoreDamagedError(describeDamage(dir, plan));
      recovery.repair = this.#repair(dir, plan.damage, plan.lastSeq, aside);
      logger.warn({ repair: recovery.repair }, 'state store repaired: records after the damage were dropped');
    }
    if (plan.tornTail !== undefined) {
      logger.warn({ ...plan.tornTail }, 'dropping the torn tail of the state log (a crash mid-write)');
      truncateSync(join(dir, plan.tornTail.file), plan.tornTail.offset);
      recovery.tornTail = { file: plan.tornTail.file, bytes: plan.tornTail.bytes, problem: plan.tornTail.problem };
    }
    const draft = new StateDraft(base.state, 'commit');
    this.#history = base.history;
    for (const record of plan.records) {
      draft.apply(record.ops);
      this.#remember(record.events);
    }
    this.#seq = plan.lastSeq;
    // Event ids keep increasing even past records a repair dropped: followers may have seen them.
    const lastEventId = Math.max(base.lastEventId, plan.maxEventId);
    const cut = plan.damage?.file === LOG_FILE ? plan.damage.offset : plan.damage !== undefined ? 0 : plan.tornTail?.offset ?? Infinity;
    this.#recordsInLog = logs.at(-1)!.lines.filter((line) => 'record' in line && line.offset < cut).length;
    recovery.removedLeftovers = this.#removeLeftovers(dir);
    this.#recovery = recovery;
    this.#log = await open(logPath, 'a');
    this.#size = (await this.#log.stat()).size;
    logger.info({ dir, lastEventId, snapshot: base.name ?? null, apps: draft.state.apps.size, instances: draft.state.instances.size }, 'state loaded');
    return { state: draft.state, revision: this.#seq, lastEventId, history: this.#historyTail(), recovery };
  }

  /** The newest snapshot whose checksum holds; bad ones are moved aside and reported. */
  #loadNewestGoodSnapshot(dir: string, recovery: StoreRecovery, aside: SetAside): LoadedSnapshot {
    for (const { name } of listSnapshots(dir)) {
      const verified = verifySnapshot(readFileSync(join(dir, name)));
      let problem = 'problem' in verified ? verified.problem : undefined;
      if (!('problem' in verified)) {
        try {
          const snapshot = JSON.parse(verified.json) as SnapshotFile;
          this.#snapshotBytes = Buffer.byteLength(verified.json);
          return { name, seq: snapshot.seq, state: stateFromJson(snapshot.state), lastEventId: snapshot.lastEventId, history: snapshot.history };
        } catch (err) {
          problem = `unreadable: ${(err as Error).message}`;
        }
      }
      const movedTo = aside.move(name);
      this.#options.logger.error({ snapshot: name, problem, movedTo }, 'snapshot is damaged: falling back to the one before it and the logs');
      recovery.skippedSnapshots.push({ file: name, problem: problem ?? 'damaged', movedTo });
    }
    return { name: undefined, seq: 0, state: emptyState(), lastEventId: 0, history: [] };
  }

  /**
   * Accepts the loss the operator asked for: keeps the records before the damage and sets aside
   * (copies, then cuts or removes) everything from the damage on.
   */
  #repair(dir: string, damage: LogDamage, lastSeq: number, aside: SetAside): StoreRepair {
    const savedTo = [damage.file, ...damage.filesAfter].map((name) => aside.copy(name));
    for (const name of damage.filesAfter) unlinkSync(join(dir, name));
    truncateSync(join(dir, damage.file), damage.offset);
    // A cut segment is renamed for its new last record, so that it still sorts before later logs.
    if (SEGMENT.test(damage.file)) {
      if (damage.offset === 0) unlinkSync(join(dir, damage.file));
      else renameSync(join(dir, damage.file), join(dir, `${LOG_FILE}.${lastSeq}`));
    }
    fsyncDir(dir);
    return {
      file: damage.file,
      offset: damage.offset,
      problem: damage.problem,
      keptUpToSeq: lastSeq,
      droppedRecords: damage.recordsAfter,
      ...(damage.seqsAfter === undefined ? {} : { droppedSeqs: damage.seqsAfter }),
      droppedFiles: damage.filesAfter,
      savedTo: savedTo[0] === undefined ? '' : dirname(savedTo[0]),
    };
  }

  /**
   * What a crash or an older snapshot leaves behind once this start-up no longer needs it: a
   * half-written `.tmp` snapshot, snapshots but the two newest, and the set-aside logs the older
   * of those holds.
   */
  #removeLeftovers(dir: string): string[] {
    const removed: string[] = [];
    const remove = (name: string): void => {
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(name);
    };
    if (existsSync(join(dir, TMP_SNAPSHOT))) remove(TMP_SNAPSHOT);
    const snapshots = listSnapshots(dir).filter((snapshot) => snapshot.seq !== undefined);
    const segments = listSegments(dir);
    const drop = superseded(snapshots.map((snapshot) => snapshot.seq!), segments.map((segment) => segment.last));
    for (const seq of drop.snapshots) remove(snapshotName(seq));
    for (const seq of drop.segments) remove(`${LOG_FILE}.${seq}`);
    if (snapshots.length > 0 && existsSync(join(dir, LEGACY_SNAPSHOT))) remove(LEGACY_SNAPSHOT);
    if (removed.length > 0) fsyncDir(dir);
    return removed;
  }

  async append(records: readonly CommitRecord[], stateAfter: ClusterState, expectedRevision: number): Promise<number> {
    const log = this.#log;
    if (log === undefined) throw new Error('store is not open');
    if (expectedRevision !== this.#seq) throw new RevisionConflict(expectedRevision, this.#seq);
    const text = encodeRecords(records, this.#seq + 1);
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
    // Rewriting the snapshot then costs a fraction of what was appended, however large the state.
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

  /** What start-up found wrong and did about it. */
  get recovery(): StoreRecovery {
    return this.#recovery;
  }

  /** Waits for a snapshot being written, then closes the log and releases the data dir. */
  async close(): Promise<void> {
    await this.#compacting;
    await this.#log?.close();
    this.#log = undefined;
    this.#lock?.release();
    this.#lock = undefined;
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

  /**
   * The snapshot, piece by piece, with its checksum trailer; atomically renamed into place. Then
   * what it supersedes goes, except the snapshot before it and the logs since that one.
   */
  async #writeSnapshot(header: Omit<SnapshotFile, 'state'>, collections: Array<[string, Array<[string, unknown]>]>): Promise<void> {
    const { dir } = this.#options;
    const tmp = join(dir, TMP_SNAPSHOT);
    const file = await open(tmp, 'w');
    let bytes = 0;
    let crc = 0;
    const write = async (text: string): Promise<void> => {
      crc = crc32(text, crc);
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
      await file.write(snapshotTrailer(bytes, crc));
      await file.datasync();
    } finally {
      await file.close();
    }
    await rename(tmp, join(dir, snapshotName(header.seq)));
    fsyncDir(dir);
    this.#snapshotBytes = bytes;
    this.#removeLeftovers(dir);
  }
}

interface SnapshotFile {
  /** The last record the snapshot includes. */
  seq: number;
  state: ReturnType<typeof stateToJson>;
  lastEventId: number;
  history: EventRecord[];
}

interface LoadedSnapshot {
  name: string | undefined;
  seq: number;
  state: ClusterState;
  lastEventId: number;
  history: EventRecord[];
}

/** Snapshots, newest first; one written before snapshots had a checksum comes last. */
function listSnapshots(dir: string): Array<{ name: string; seq: number | undefined }> {
  const names = readdirSync(dir);
  const numbered = names.flatMap((name) => {
    const match = SNAPSHOT_NAME.exec(name);
    return match === null ? [] : [{ name, seq: Number(match[1]) as number | undefined }];
  }).sort((a, b) => b.seq! - a.seq!);
  return names.includes(LEGACY_SNAPSHOT) ? [...numbered, { name: LEGACY_SNAPSHOT, seq: undefined }] : numbered;
}

/** Logs set aside for a snapshot, oldest first. */
function listSegments(dir: string): Array<{ name: string; last: number }> {
  return readdirSync(dir).flatMap((name) => {
    const match = SEGMENT.exec(name);
    return match === null ? [] : [{ name, last: Number(match[1]) }];
  }).sort((a, b) => a.last - b.last);
}

/**
 * `<data dir>/damaged-<time>/`: where damaged files go (or are copied before a repair changes
 * them), so that nothing the operator may want to look at is ever simply deleted.
 */
class SetAside {
  readonly #dir: string;
  #folder: string | undefined;

  constructor(dir: string) {
    this.#dir = dir;
  }

  move(name: string): string {
    const to = join(this.#ensure(), name);
    renameSync(join(this.#dir, name), to);
    return to;
  }

  copy(name: string): string {
    const to = join(this.#ensure(), name);
    copyFileSync(join(this.#dir, name), to);
    return to;
  }

  #ensure(): string {
    this.#folder ??= join(this.#dir, `damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(this.#folder, { recursive: true });
    return this.#folder;
  }
}

/** The start-up error for damage: where it is, what would be lost, and how to accept that. */
function describeDamage(dir: string, plan: ReplayPlan): string {
  const damage = plan.damage!;
  const after = damage.seqsAfter === undefined ? 'no valid record follows it'
    : `${damage.recordsAfter} valid record(s) follow it (seq ${damage.seqsAfter[0]}–${damage.seqsAfter[1]})`;
  const files = damage.filesAfter.length === 0 ? '' : ` and the later file(s) ${damage.filesAfter.join(', ')}`;
  return `the state store in ${dir} is damaged: ${damage.file} at byte ${damage.offset}: ${damage.problem}; ${after}. `
    + 'Nothing was changed. Restore the data dir from a backup, or start once with --repair to keep the '
    + `${plan.records.length} record(s) before the damage (up to seq ${plan.lastSeq}) and drop the rest of ${damage.file}${files} `
    + '(copied first to a damaged-<time> folder in the data dir).';
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
