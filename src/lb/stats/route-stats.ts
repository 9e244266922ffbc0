import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClientErrorReason } from '../proxy/http-server.ts';
import type { PoolTraffic } from './core/haproxy-csv.ts';
import { busiestSecond, countAt, lastSecond, newSecondCounter, type SecondCounter } from './core/per-second.ts';

/** Counters per pool, as `/_corral/stats` shows them. */
export interface PoolCounters {
  /** HTTP requests or TCP connections handed to a backend. */
  requests: number;
  /** Requests answered 5xx by a backend, or that no backend took (502/504, closed connection). */
  errors: number;
  /** Requests or connections no backend took. */
  upstreamErrors: number;
  /** Requests or connections refused because the pool had no serving instance (503). */
  noBackend: number;
  /** Refused by the pool's network ACL or Basic auth. */
  denied: number;
}

interface PoolEntry {
  readonly counters: PoolCounters;
  readonly requests: { inc(): void };
  readonly latency: { observe(value: number): void };
  /** By status class (index 2 = 2xx). */
  readonly responses: ({ inc(): void } | undefined)[];
  /** HTTP answers by class for the HAProxy CSV: 1xx…5xx, other. */
  readonly answered: number[];
  /** Requests handed to a backend, per second (the CSV's rates). */
  readonly perSecond: SecondCounter;
}

export interface StatsSnapshot {
  /** Requests on a shared port that matched no rule (503). */
  readonly noRoute: number;
  /** Clients answered 400/408/431 before routing, per reason. */
  readonly clientErrors: Readonly<Record<string, number>>;
  readonly pools: Readonly<Record<string, Readonly<PoolCounters>>>;
}

/**
 * Per-pool counters for `/_corral/stats` and the same numbers, plus latency, for Prometheus
 * (`/metrics`). One registry per LB, so that two LBs in one process (tests) stay apart.
 */
export class RouteStats {
  readonly registry = new Registry();
  #noRoute = 0;
  readonly #clientErrors = new Map<string, number>();
  readonly #pools = new Map<string, PoolEntry>();
  readonly #requests = new Counter({ name: 'corral_lb_requests_total', help: 'HTTP requests and TCP connections handed to a backend', labelNames: ['pool'], registers: [this.registry] });
  readonly #responses = new Counter({ name: 'corral_lb_responses_total', help: 'HTTP responses by status class', labelNames: ['pool', 'code'], registers: [this.registry] });
  readonly #latency = new Histogram({
    name: 'corral_lb_request_duration_seconds',
    help: 'Time from request to the end of the response, through the proxy',
    labelNames: ['pool'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly #upstreamErrors = new Counter({ name: 'corral_lb_upstream_errors_total', help: 'Requests or connections no backend took', labelNames: ['pool'], registers: [this.registry] });
  readonly #refused = new Counter({ name: 'corral_lb_refused_total', help: 'Requests answered by the LB itself', labelNames: ['reason'], registers: [this.registry] });
  // `aggregator`: how `--workers` merges each worker's value (counters and histograms add up).
  readonly active = new Gauge({ name: 'corral_lb_active_connections', help: 'Open client connections', aggregator: 'sum', registers: [this.registry] });
  readonly generation = new Gauge({ name: 'corral_lb_table_generation', help: 'Routing tables swapped in so far', aggregator: 'min', registers: [this.registry] });
  readonly lastChange = new Gauge({ name: 'corral_lb_table_last_change_seconds', help: 'Unix time of the last routing table swap', aggregator: 'max', registers: [this.registry] });
  readonly rejectedRoutes = new Gauge({ name: 'corral_lb_rejected_routes', help: 'Routes the labels ask for that cannot be honoured', aggregator: 'max', registers: [this.registry] });
  readonly failedListeners = new Gauge({ name: 'corral_lb_failed_listeners', help: 'Service ports the table asks for that could not be bound', aggregator: 'max', registers: [this.registry] });

  request(poolId: string): void {
    const entry = this.#entry(poolId);
    entry.counters.requests += 1;
    entry.requests.inc();
    countAt(entry.perSecond, Math.floor(Date.now() / 1000));
  }

  response(poolId: string, status: number, seconds: number): void {
    const entry = this.#entry(poolId);
    if (status >= 500) entry.counters.errors += 1;
    const code = Math.floor(status / 100);
    const responses = entry.responses[code] ?? this.#responses.labels({ pool: poolId, code: `${code}xx` });
    entry.responses[code] = responses;
    responses.inc();
    const answered = code >= 1 && code <= 5 ? code - 1 : 5;
    entry.answered[answered] = (entry.answered[answered] ?? 0) + 1;
    entry.latency.observe(seconds);
  }

  upstreamError(poolId: string): void {
    const { counters } = this.#entry(poolId);
    counters.upstreamErrors += 1;
    counters.errors += 1;
    this.#upstreamErrors.inc({ pool: poolId });
  }

  noBackend(poolId: string): void {
    this.#entry(poolId).counters.noBackend += 1;
    this.#refused.inc({ reason: 'no-backend' });
  }

  denied(poolId: string): void {
    this.#entry(poolId).counters.denied += 1;
    this.#refused.inc({ reason: 'denied' });
  }

  noRoute(): void {
    this.#noRoute += 1;
    this.#refused.inc({ reason: 'no-route' });
  }

  clientError(reason: ClientErrorReason): void {
    this.#clientErrors.set(reason, (this.#clientErrors.get(reason) ?? 0) + 1);
    this.#refused.inc({ reason });
  }

  /** Forgets pools that left the table, so counters do not grow with app churn. */
  retain(poolIds: ReadonlySet<string>): void {
    for (const id of this.#pools.keys()) {
      if (poolIds.has(id)) continue;
      this.#pools.delete(id);
      for (const metric of [this.#requests, this.#upstreamErrors, this.#latency]) metric.remove({ pool: id });
      for (const code of [1, 2, 3, 4, 5]) this.#responses.remove({ pool: id, code: `${code}xx` });
    }
  }

  snapshot(): StatsSnapshot {
    const pools: Record<string, PoolCounters> = {};
    for (const [id, entry] of [...this.#pools].sort(([a], [b]) => (a < b ? -1 : 1))) pools[id] = { ...entry.counters };
    return { noRoute: this.#noRoute, clientErrors: Object.fromEntries(this.#clientErrors), pools };
  }

  /** What each pool did, for `/haproxy?stats;csv`, as of `nowMs`. */
  traffic(nowMs: number): Record<string, PoolTraffic> {
    const second = Math.floor(nowMs / 1000);
    const traffic: Record<string, PoolTraffic> = {};
    for (const [id, { counters, answered, perSecond }] of this.#pools) {
      traffic[id] = {
        requests: counters.requests,
        lastSecond: lastSecond(perSecond, second),
        busiestSecond: busiestSecond(perSecond, second),
        responses: [...answered],
        denied: counters.denied,
        noBackend: counters.noBackend,
        upstreamErrors: counters.upstreamErrors,
      };
    }
    return traffic;
  }

  /** Labelled metric children are looked up once per pool, not hashed on every request. */
  #entry(poolId: string): PoolEntry {
    const known = this.#pools.get(poolId);
    if (known !== undefined) return known;
    const entry: PoolEntry = {
      counters: { requests: 0, errors: 0, upstreamErrors: 0, noBackend: 0, denied: 0 },
      requests: this.#requests.labels({ pool: poolId }),
      latency: this.#latency.labels({ pool: poolId }),
      responses: [],
      answered: [0, 0, 0, 0, 0, 0],
      perSecond: newSecondCounter(),
    };
    this.#pools.set(poolId, entry);
    return entry;
  }
}
