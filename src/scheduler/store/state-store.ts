import type { EventRecord } from '../../events/types.ts';
import type { ClusterState, StateOp } from '../types.ts';

/** What a store hands back at start-up: the state, the last event id, and recent events. */
export interface LoadedState {
  state: ClusterState;
  lastEventId: number;
  history: EventRecord[];
}

/** One committed transaction: its ops and the events derived from it (ids already assigned). */
export interface CommitRecord {
  /** Position in the store, increasing across restarts and compactions; assigned by the store. */
  seq?: number;
  ops: StateOp[];
  events: EventRecord[];
}

/**
 * Durable state. `append` resolves only once the records would survive a kill -9 of the process
 * (fsynced), which is when the scheduler may acknowledge the write and publish its events.
 */
export interface StateStore {
  load(): Promise<LoadedState>;
  /** Several records at once are written with one sync (group commit); all or none. */
  append(records: readonly CommitRecord[], stateAfter: ClusterState): Promise<void>;
  close(): Promise<void>;
}
