import type { ClusterView } from './core/view.ts';

/** Where a request or query reads the current table: one property read, never awaited. */
export interface TableSource<T> {
  readonly current: T;
}

export interface TableHolderOptions<T> {
  initial: T;
  /** Bursts of views (a deployment, a scale-out) become one rebuild. */
  debounceMs: number;
  /** Pure: the table for a view (the previous one is given for serials and the like). */
  build: (view: ClusterView, previous: T) => T;
  /** True when a rebuilt table changes nothing; it is then dropped. */
  same: (next: T, previous: T) => boolean;
  onSwap?: (next: T, previous: T) => void;
  /** A throwing build keeps the previous table serving. */
  onBuildError?: (err: unknown, view: ClusterView) => void;
}

/**
 * Holds the one current table a follower serves from (DNS records, LB routes). Views are
 * coalesced for `debounceMs` from the first one (the timer is not pushed back, so a steady
 * stream cannot starve rebuilds); the latest is built, dropped when unchanged, else swapped in
 * whole. Readers take `current` once and never see a half-built table.
 */
export class TableHolder<T> implements TableSource<T> {
  readonly #options: TableHolderOptions<T>;
  #current: T;
  #generation = 0;
  #changedAt: string | undefined;
  #pending: ClusterView | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: TableHolderOptions<T>) {
    this.#options = options;
    this.#current = options.initial;
  }

  get current(): T {
    return this.#current;
  }

  /** Number of swaps so far (0 = still the initial table). */
  get generation(): number {
    return this.#generation;
  }

  /** ISO time of the last swap. */
  get changedAt(): string | undefined {
    return this.#changedAt;
  }

  /** Queues a view; only the latest queued one is built. */
  offer(view: ClusterView): void {
    this.#pending = view;
    this.#timer ??= setTimeout(() => this.flush(), this.#options.debounceMs);
  }

  /** Builds the queued view now (tests and shutdown use it); returns whether the table changed. */
  flush(): boolean {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const view = this.#pending;
    this.#pending = undefined;
    if (view === undefined) return false;
    const previous = this.#current;
    let next: T;
    try {
      next = this.#options.build(view, previous);
    } catch (err) {
      this.#options.onBuildError?.(err, view);
      return false;
    }
    if (this.#options.same(next, previous)) return false;
    this.#current = next;
    this.#generation += 1;
    this.#changedAt = new Date().toISOString();
    this.#options.onSwap?.(next, previous);
    return true;
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
  }
}
