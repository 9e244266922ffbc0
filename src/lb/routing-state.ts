import type { ClusterView } from '../events/view.ts';
import { EMPTY_ROUTING_TABLE, buildRoutingTable, sameRoutingTable, type RoutingTable } from './core/routing-table.ts';

/** Where the request path reads the table: one property read, no await. */
export interface TableSource {
  readonly current: RoutingTable;
}

export interface RoutingStateOptions {
  readonly groups: readonly string[];
  readonly debounceMs: number;
  /** Called after each swap with the new and the previous table. */
  readonly onSwap: (table: RoutingTable, previous: RoutingTable) => void;
}

/**
 * Holds the one table reference. Views arriving in a burst are coalesced for `debounceMs` (the
 * timer starts at the first view and is not pushed back, so a steady stream cannot starve the
 * rebuild); a rebuilt table equal to the current one is dropped, so listeners see only real changes.
 */
export class RoutingState implements TableSource {
  readonly #options: RoutingStateOptions;
  #current: RoutingTable = EMPTY_ROUTING_TABLE;
  #generation = 0;
  #changedAt: string | undefined;
  #pending: ClusterView | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: RoutingStateOptions) {
    this.#options = options;
  }

  get current(): RoutingTable {
    return this.#current;
  }

  /** Number of swaps so far (0 = still the empty table). */
  get generation(): number {
    return this.#generation;
  }

  /** ISO time of the last swap. */
  get changedAt(): string | undefined {
    return this.#changedAt;
  }

  offer(view: ClusterView): void {
    this.#pending = view;
    this.#timer ??= setTimeout(() => this.flush(), this.#options.debounceMs);
  }

  /** Rebuilds from the latest offered view now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const view = this.#pending;
    this.#pending = undefined;
    if (view === undefined) return;
    const table = buildRoutingTable(view, { groups: this.#options.groups });
    if (sameRoutingTable(table, this.#current)) return;
    const previous = this.#current;
    this.#current = table;
    this.#generation += 1;
    this.#changedAt = new Date().toISOString();
    this.#options.onSwap(table, previous);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
  }
}
