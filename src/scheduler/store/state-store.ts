import type { EventRecord } from '../../events/types.ts';
import type { ClusterState, StateOp } from '../types.ts';

/** What a store hands back at start-up: the state, the last event id, and recent events. */
export interface LoadedState {
  state: ClusterState;
  /** The store's revision: the seq of the last record it holds (0 when empty). */
  revision: number;
  lastEventId: number;
  history: EventRecord[];
  /** What the store found wrong at start-up and did about it (shown in /v2/info and /metrics). */
  recovery: StoreRecovery;
}

export interface StoreRecovery {
  /** Bytes at the end of the log that a crash left half-written, cut off. */
  tornTail?: { file: string; bytes: number; problem: string };
  /** Snapshots that failed their checksum, set aside for an older one plus the logs. */
  skippedSnapshots: Array<{ file: string; problem: string; movedTo: string }>;
  /** The loss an operator accepted with `--repair`. */
  repair?: StoreRepair;
  /** Leftovers of earlier runs that nothing needed any more, deleted. */
  removedLeftovers: string[];
}

export interface StoreRepair {
  file: string;
  offset: number;
  problem: string;
  keptUpToSeq: number;
  droppedRecords: number;
  droppedSeqs?: [number, number];
  droppedFiles: string[];
  /** The folder holding copies of every file as it was before the repair. */
  savedTo: string;
}

/** One committed transaction: its ops and the events derived from it (ids already assigned). */
export interface CommitRecord {
  /** Position in the store, increasing across restarts and compactions; assigned by the store. */
  seq?: number;
  ops: StateOp[];
  events: EventRecord[];
}

/** Another writer appended since `expected`: this writer's view is stale (a deposed leader). */
export class RevisionConflict extends Error {
  constructor(expected: number, actual: number) {
    super(`the store is at revision ${actual}, not ${expected}: another scheduler has written to it`);
    this.name = 'RevisionConflict';
  }
}

/**
 * Durable state, written as records of ops on keys (`apps/<id>`, `instances/<task id>`, …).
 * `append` resolves only once the records would survive a kill -9 of the process (fsynced),
 * which is when the scheduler may acknowledge the write and publish its events. It is a
 * compare-and-set on the store's revision, so that a store shared by several schedulers (etcd)
 * lets only the writer that saw the latest revision write.
 */
export interface StateStore {
  load(): Promise<LoadedState>;
  /**
   * Several records at once are written with one sync (group commit); all or none, and only if
   * the store is still at `expectedRevision` (else RevisionConflict). Resolves to the new revision.
   */
  append(records: readonly CommitRecord[], stateAfter: ClusterState, expectedRevision: number): Promise<number>;
  close(): Promise<void>;
}
