import type { ClusterEvent, EventRecord } from '../events/types.ts';
import { applyOps } from './core/state-ops.ts';
import type { EventBus } from './event-bus.ts';
import type { StateStore } from './store/state-store.ts';
import type { ClusterState, StateOp } from './types.ts';

export interface Transaction<R> {
  ops: StateOp[];
  events: ClusterEvent[];
  result: R;
}

/**
 * The single writer of cluster state. Transactions run one at a time: each is computed from the
 * latest state, made durable, and only then applied in memory and published — so every
 * acknowledged write and every event has reached the disk first.
 */
export class SchedulerState {
  readonly #store: StateStore;
  readonly #bus: EventBus;
  #state: ClusterState;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #listeners = new Set<() => void>();

  /** The bus holds the last event id: it was seeded from the store and is advanced by every commit. */
  constructor(store: StateStore, bus: EventBus, initial: ClusterState) {
    this.#store = store;
    this.#bus = bus;
    this.#state = initial;
  }

  /** The latest committed state; read it synchronously, do not hold it across awaits. */
  get current(): ClusterState {
    return this.#state;
  }

  get lastEventId(): number {
    return this.#bus.lastEventId;
  }

  /** Called after every commit that changed something. */
  onCommit(listener: () => void): void {
    this.#listeners.add(listener);
  }

  transact<R>(compute: (state: ClusterState) => Transaction<R>): Promise<R> {
    const run = this.#queue.then(async () => {
      const { ops, events, result } = compute(this.#state);
      if (ops.length === 0 && events.length === 0) return result;
      let eventId = this.#bus.lastEventId;
      const records: EventRecord[] = events.map((event) => ({ eventId: ++eventId, event }));
      const next = applyOps(this.#state, ops);
      await this.#store.append({ ops, events: records }, next);
      this.#state = next;
      this.#bus.publish(records);
      for (const listener of this.#listeners) listener();
      return result;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
