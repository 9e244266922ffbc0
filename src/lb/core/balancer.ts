import type { Backend, BackendPool } from './routing-table.ts';

/** What a pick may depend on besides the pool: who asks, and which backends already failed this request. */
export interface PickRequest {
  /** The client's address, for `source` balancing. */
  readonly clientAddress?: string;
  /** The `mesosphere_server_id` cookie value, for sticky pools. */
  readonly stickyId?: string;
  /** Backends already tried for this request (a retry goes elsewhere). */
  readonly exclude?: ReadonlySet<string>;
}

export interface BalancerOptions {
  /** Consecutive failures that eject a backend (passive health). */
  readonly ejectAfter?: number;
  /** How long an ejected backend is left alone before it gets one request again. */
  readonly ejectForMs?: number;
  /** [0, 1): the `random` algorithm's source (`Math.random` in the proxy, a fixed list in tests). */
  readonly random: () => number;
}

interface BackendState {
  active: number;
  /** Requests or connections given so far. */
  total: number;
  failures: number;
  ejectedUntil: number;
}

/** A backend's identity across table swaps: the same instance keeps its counters. */
export function backendKey(backend: Backend): string {
  return `${backend.host}:${backend.port}`;
}

/**
 * Chooses a backend per pool with the pool's algorithm, and keeps what balancing needs across
 * table swaps: round-robin positions, active request counts (leastconn), and passive health
 * (a backend failing `ejectAfter` times in a row is skipped for `ejectForMs`, unless every
 * backend is). No clock or chance of its own: callers pass `now` and the random source.
 */
export class Balancer {
  readonly #next = new Map<string, number>();
  readonly #backends = new Map<string, BackendState>();
  readonly #ejectAfter: number;
  readonly #ejectForMs: number;
  readonly #random: () => number;
  /** When the latest ejection ends: before then, picks check for ejected backends. */
  #lastEjectionEnds = 0;

  constructor(options: BalancerOptions) {
    this.#ejectAfter = options.ejectAfter ?? 3;
    this.#ejectForMs = options.ejectForMs ?? 10_000;
    this.#random = options.random;
  }

  /** A backend of `pool` for `request`, or undefined when none is left to try. */
  pick(pool: BackendPool, request: PickRequest, now: number): Backend | undefined {
    const exclude = request.exclude;
    // The common case (first try, nobody ejected) allocates nothing.
    const untried = exclude === undefined || exclude.size === 0 ? pool.backends : pool.backends.filter((b) => !exclude.has(backendKey(b)));
    if (untried.length === 0) return undefined;
    if (pool.sticky && request.stickyId !== undefined) {
      const pinned = untried.find((b) => b.taskId === request.stickyId);
      if (pinned !== undefined && !this.#ejected(pinned, now)) return pinned;
    }
    let candidates = untried;
    if (now < this.#lastEjectionEnds) {
      const healthy = untried.filter((b) => !this.#ejected(b, now));
      // Every one ejected: trying one beats refusing everything while they may be back.
      if (healthy.length > 0) candidates = healthy;
    }
    switch (pool.balance) {
      case 'leastconn':
        return this.#leastActive(pool.id, candidates);
      case 'source':
        return candidates[hash(request.clientAddress ?? '') % candidates.length];
      case 'random':
        return candidates[Math.floor(this.#random() * candidates.length) % candidates.length];
      default:
        return this.#roundRobin(pool.id, candidates);
    }
  }

  /** A request or connection started on `backend` (leastconn counts these). */
  started(backend: Backend): void {
    const state = this.#state(backend);
    state.active += 1;
    state.total += 1;
  }

  /** It ended; `ok` false when the backend could not be reached or broke the exchange. */
  finished(backend: Backend, ok: boolean, now: number): void {
    const state = this.#state(backend);
    state.active = Math.max(0, state.active - 1);
    this.#outcome(state, ok, now);
  }

  /** A failure before any request started (connect refused). */
  failed(backend: Backend, now: number): void {
    this.#outcome(this.#state(backend), false, now);
  }

  /** Requests or connections in progress on `host:port`, whether it is ejected, and how many it was given (stats port). */
  state(host: string, port: number, now: number): { active: number; ejected: boolean; total: number } {
    const state = this.#backends.get(`${host}:${port}`);
    return { active: state?.active ?? 0, ejected: (state?.ejectedUntil ?? 0) > now, total: state?.total ?? 0 };
  }

  /** Backends currently ejected, for the stats port. */
  ejected(now: number): string[] {
    return [...this.#backends].filter(([, s]) => s.ejectedUntil > now).map(([key]) => key).sort();
  }

  /** Forgets pools and backends that left the table, so the maps do not grow with app churn. */
  retain(poolIds: ReadonlySet<string>, backendKeys: ReadonlySet<string>): void {
    for (const key of this.#next.keys()) if (!poolIds.has(key)) this.#next.delete(key);
    for (const [key, state] of this.#backends) if (!backendKeys.has(key) && state.active === 0) this.#backends.delete(key);
  }

  #outcome(state: BackendState, ok: boolean, now: number): void {
    if (ok) {
      state.failures = 0;
      return;
    }
    state.failures += 1;
    if (state.failures >= this.#ejectAfter) {
      state.ejectedUntil = now + this.#ejectForMs;
      this.#lastEjectionEnds = Math.max(this.#lastEjectionEnds, state.ejectedUntil);
      // One more failure after the pause ejects it again at once.
      state.failures = this.#ejectAfter - 1;
    }
  }

  #ejected(backend: Backend, now: number): boolean {
    return (this.#backends.get(backendKey(backend))?.ejectedUntil ?? 0) > now;
  }

  #roundRobin(poolId: string, candidates: readonly Backend[]): Backend | undefined {
    const position = (this.#next.get(poolId) ?? 0) % candidates.length;
    this.#next.set(poolId, (position + 1) % candidates.length);
    return candidates[position];
  }

  #leastActive(poolId: string, candidates: readonly Backend[]): Backend | undefined {
    let least = Infinity;
    for (const backend of candidates) least = Math.min(least, this.#backends.get(backendKey(backend))?.active ?? 0);
    // Round robin among the least loaded, so equal loads still spread.
    return this.#roundRobin(poolId, candidates.filter((b) => (this.#backends.get(backendKey(b))?.active ?? 0) === least));
  }

  #state(backend: Backend): BackendState {
    const key = backendKey(backend);
    let state = this.#backends.get(key);
    if (state === undefined) {
      state = { active: 0, total: 0, failures: 0, ejectedUntil: 0 };
      this.#backends.set(key, state);
    }
    return state;
  }
}

/** FNV-1a: the same client address always lands on the same backend while the pool is unchanged. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
