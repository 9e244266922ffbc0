import type { ClusterEvent } from '../events/types.ts';
import { endedTasks, type CompletedTask } from './core/completed-tasks.ts';
import { commitState, StateDraft, type CommitChanges } from './core/state-ops.ts';
import type { EventBus } from './event-bus.ts';
import type { CommitRecord, StateStore } from './store/state-store.ts';
import type { ClusterState, StateOp } from './types.ts';

export interface Transaction<R> {
  ops: StateOp[];
  events: ClusterEvent[];
  result: R;
}

interface Pending {
  compute: (state: ClusterState) => Transaction<unknown>;
  resolve: (result: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * The single writer of cluster state. Transactions are computed one after the other, each from
 * the state the previous ones leave, made durable, and only then applied in memory and
 * published — so every acknowledged write and every event has reached the disk first. The
 * transactions that queue up while one write is on its way to the disk go out together in the
 * next write, with one sync (group commit).
 */
export class SchedulerState {
  readonly #store: StateStore;
  readonly #bus: EventBus;
  #state: ClusterState;
  /** The store revision this writer's state is at. */
  #revision: number;
  #pending: Pending[] = [];
  #writing = false;
  readonly #listeners = new Set<(changes: CommitChanges) => void>();
  readonly #writeObservers = new Set<(seconds: number) => void>();
  readonly #endedListeners = new Set<(ended: readonly CompletedTask[]) => void>();

  /** The bus holds the last event id: it was seeded from the store and is advanced by every commit. */
  constructor(store: StateStore, bus: EventBus, initial: ClusterState, revision: number) {
    this.#store = store;
    this.#bus = bus;
    this.#state = commitState(initial).state;
    this.#revision = revision;
  }

  /** The latest committed state; read it synchronously, do not hold it across awaits. */
  get current(): ClusterState {
    return this.#state;
  }

  get lastEventId(): number {
    return this.#bus.lastEventId;
  }

  /** Called after every commit that changed something, with what it changed. */
  onCommit(listener: (changes: CommitChanges) => void): void {
    this.#listeners.add(listener);
  }

  /**
   * Called after every durable write with its time, compute to applied (one write is a group
   * commit of the transactions that queued up meanwhile).
   */
  onWritten(observer: (seconds: number) => void): void {
    this.#writeObservers.add(observer);
  }

  /**
   * Called after every commit with the instances it ended, as they were in their terminal state:
   * the store forgets them in that commit, so this is the last chance to see them.
   */
  onEnded(listener: (ended: readonly CompletedTask[]) => void): void {
    this.#endedListeners.add(listener);
  }

  transact<R>(compute: (state: ClusterState) => Transaction<R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ compute, resolve: resolve as (result: unknown) => void, reject });
      if (!this.#writing) void this.#write();
    });
  }

  async #write(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        const started = performance.now();
        const draft = new StateDraft(this.#state, 'commit');
        let eventId = this.#bus.lastEventId;
        const records: CommitRecord[] = [];
        const settled: Array<{ pending: Pending; result: unknown }> = [];
        for (const pending of batch) {
          let transaction: Transaction<unknown>;
          try {
            transaction = pending.compute(draft.state);
          } catch (err) {
            pending.reject(err);
            continue;
          }
          settled.push({ pending, result: transaction.result });
          if (transaction.ops.length === 0 && transaction.events.length === 0) continue;
          records.push({ ops: transaction.ops, events: transaction.events.map((event) => ({ eventId: ++eventId, event })) });
          draft.apply(transaction.ops);
        }
        if (records.length > 0) {
          try {
            this.#revision = await this.#store.append(records, draft.state, this.#revision);
          } catch (err) {
            for (const { pending } of settled) pending.reject(err);
            continue;
          }
          // Read before the commit folds the draft into the committed maps (which are shared).
          const previous = this.#state;
          const ended = this.#endedListeners.size === 0 ? [] : endedTasks(records.flatMap((record) => record.events.map(({ event }) => event)), (taskId) => previous.instances.get(taskId));
          const { state, changes } = commitState(draft.state);
          this.#state = state;
          this.#bus.publish(records.flatMap((record) => record.events));
          for (const listener of this.#listeners) listener(changes);
          if (ended.length > 0) for (const listener of this.#endedListeners) listener(ended);
          const seconds = (performance.now() - started) / 1000;
          for (const observer of this.#writeObservers) observer(seconds);
        }
        for (const { pending, result } of settled) pending.resolve(result);
      }
    } finally {
      this.#writing = false;
    }
  }
}
