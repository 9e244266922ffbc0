/** Counters per pool; later issues feed the same numbers to Prometheus. */
export interface PoolCounters {
  /** HTTP requests or TCP connections handed to a backend. */
  requests: number;
  /** Requests or connections that no backend took (502, closed connection). */
  upstreamErrors: number;
  /** Requests or connections refused because the pool had no serving instance (503). */
  noBackend: number;
}

export interface StatsSnapshot {
  /** Requests on the shared HTTP port that matched no vhost rule (503). */
  readonly noRoute: number;
  readonly pools: Readonly<Record<string, Readonly<PoolCounters>>>;
}

export class RouteStats {
  #noRoute = 0;
  readonly #pools = new Map<string, PoolCounters>();

  request(poolId: string): void {
    this.#counters(poolId).requests += 1;
  }

  upstreamError(poolId: string): void {
    this.#counters(poolId).upstreamErrors += 1;
  }

  noBackend(poolId: string): void {
    this.#counters(poolId).noBackend += 1;
  }

  noRoute(): void {
    this.#noRoute += 1;
  }

  /** Forgets pools that left the table, so counters do not grow with app churn. */
  retain(poolIds: ReadonlySet<string>): void {
    for (const id of this.#pools.keys()) {
      if (!poolIds.has(id)) this.#pools.delete(id);
    }
  }

  snapshot(): StatsSnapshot {
    const pools: Record<string, PoolCounters> = {};
    for (const [id, counters] of [...this.#pools].sort(([a], [b]) => (a < b ? -1 : 1))) pools[id] = { ...counters };
    return { noRoute: this.#noRoute, pools };
  }

  #counters(poolId: string): PoolCounters {
    let counters = this.#pools.get(poolId);
    if (counters === undefined) {
      counters = { requests: 0, upstreamErrors: 0, noBackend: 0 };
      this.#pools.set(poolId, counters);
    }
    return counters;
  }
}
