import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { EMPTY_ROUTING_TABLE } from '../core/routing-table.ts';
import type { InstanceHealth, InstanceStats } from '../lb-instance.ts';
import type { PoolTraffic, TableBackends } from './core/haproxy-csv.ts';
import type { PoolCounters } from './route-stats.ts';

/** One worker's answer to a stats-port question. */
export interface WorkerAnswer<T> {
  /** 0-based slot; a replacement worker takes the slot of the one that died. */
  readonly worker: number;
  readonly pid: number;
  readonly value: T;
}

/** Health of an LB with `--workers`: synced only when every worker is, so no worker routes with an empty table. */
export interface ClusterHealth extends InstanceHealth {
  readonly workers: readonly ({ readonly worker: number; readonly pid: number } & InstanceHealth)[];
}

export interface ClusterStats extends InstanceStats {
  /** Requests and connections each worker handed to a backend (how evenly the kernel spreads clients). */
  readonly workers: readonly { readonly worker: number; readonly pid: number; readonly requests: number }[];
}

/**
 * `expected` workers were asked; a missing answer (a worker restarting) means not synced. The
 * event id and generation are those of the worker furthest behind.
 */
export function mergeHealth(answers: readonly WorkerAnswer<InstanceHealth>[], expected: number): ClusterHealth {
  const values = answers.map((answer) => answer.value);
  return {
    synced: answers.length === expected && values.every((health) => health.synced),
    eventId: lowest(values.map((health) => health.eventId)),
    generation: lowest(values.map((health) => health.generation)),
    // Every worker follows the stream itself: the snapshots read by all of them.
    snapshots: values.reduce((sum, health) => sum + health.snapshots, 0),
    workers: answers.map(({ worker, pid, value }) => ({ worker, pid, ...value })),
  };
}

/** Counters summed over workers; a backend ejected by any worker is listed. */
export function mergeStats(answers: readonly WorkerAnswer<InstanceStats>[]): ClusterStats {
  const pools: Record<string, PoolCounters> = {};
  const clientErrors: Record<string, number> = {};
  const ejected = new Set<string>();
  let noRoute = 0;
  for (const { value } of answers) {
    noRoute += value.noRoute;
    for (const [reason, count] of Object.entries(value.clientErrors)) clientErrors[reason] = (clientErrors[reason] ?? 0) + count;
    for (const key of value.ejected) ejected.add(key);
    for (const [id, counters] of Object.entries(value.pools)) {
      const sum = (pools[id] ??= { requests: 0, errors: 0, upstreamErrors: 0, noBackend: 0, denied: 0 });
      for (const name of Object.keys(sum) as (keyof PoolCounters)[]) sum[name] += counters[name];
    }
  }
  const values = answers.map((answer) => answer.value);
  return {
    generation: lowest(values.map((stats) => stats.generation)),
    eventId: lowest(values.map((stats) => stats.eventId)),
    ejected: [...ejected].sort(),
    noRoute,
    clientErrors,
    pools: Object.fromEntries(Object.entries(pools).sort(([a], [b]) => (a < b ? -1 : 1))),
    workers: answers.map(({ worker, pid, value }) => ({ worker, pid, requests: Object.values(value.pools).reduce((sum, pool) => sum + pool.requests, 0) })),
  };
}

/**
 * The table of the first worker (they all follow the same stream; none answering: empty), with
 * each backend's active requests summed over workers and ejected when any worker ejected it.
 */
export function mergeBackends(answers: readonly TableBackends[]): TableBackends {
  const backends: Record<string, { active: number; ejected: boolean; total: number }> = {};
  const pools: Record<string, PoolTraffic> = {};
  for (const answer of answers) {
    for (const [key, state] of Object.entries(answer.backends)) {
      const sum = (backends[key] ??= { active: 0, ejected: false, total: 0 });
      sum.active += state.active;
      sum.total += state.total;
      sum.ejected ||= state.ejected;
    }
    // Per-second figures add up too; the busiest second is then an upper bound (workers peak apart).
    for (const [id, traffic] of Object.entries(answer.pools)) {
      const sum = pools[id];
      pools[id] = sum === undefined ? traffic : {
        requests: sum.requests + traffic.requests,
        lastSecond: sum.lastSecond + traffic.lastSecond,
        busiestSecond: sum.busiestSecond + traffic.busiestSecond,
        responses: sum.responses.map((count, i) => count + (traffic.responses[i] ?? 0)),
        denied: sum.denied + traffic.denied,
        noBackend: sum.noBackend + traffic.noBackend,
        upstreamErrors: sum.upstreamErrors + traffic.upstreamErrors,
      };
    }
  }
  return { table: answers[0]?.table ?? EMPTY_ROUTING_TABLE, backends, pools };
}

/** Prometheus text for all workers: each metric merged by its `aggregator` (see RouteStats). */
export async function mergeMetrics(answers: readonly MetricObjectWithValues<MetricValue<string>>[][]): Promise<{ contentType: string; body: string }> {
  const registry = AggregatorRegistry.aggregate([...answers]);
  return { contentType: registry.contentType, body: await registry.metrics() };
}

function lowest(values: readonly number[]): number {
  return values.length === 0 ? 0 : Math.min(...values);
}
