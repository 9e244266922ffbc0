import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InstanceStats } from '../../src/lb/lb-instance.ts';
import { mergeBackends, mergeHealth, mergeMetrics, mergeStats } from '../../src/lb/stats/cluster-stats.ts';
import { RouteStats } from '../../src/lb/stats/route-stats.ts';
import { buildRoutingTable, EMPTY_ROUTING_TABLE } from '../../src/lb/core/routing-table.ts';
import { haproxyStatsCsv } from '../../src/lb/stats/core/haproxy-csv.ts';
import { app, task, view } from '../support/lb-fixtures.ts';

const counters = (requests: number, errors = 0) => ({ requests, errors, upstreamErrors: errors, noBackend: 0, denied: 0 });

function stats(overrides: Partial<InstanceStats>): InstanceStats {
  return { generation: 3, eventId: 10, ejected: [], noRoute: 0, clientErrors: {}, pools: {}, ...overrides };
}

test('mergeHealth: synced only when every expected worker answered synced; ids of the one furthest behind', () => {
  const at = (worker: number, synced: boolean, eventId: number) => ({ worker, pid: 100 + worker, value: { synced, eventId, generation: eventId - 5, snapshots: 1 } });
  const both = mergeHealth([at(0, true, 12), at(1, true, 9)], 2);
  assert.equal(both.synced, true);
  assert.equal(both.eventId, 9);
  assert.equal(both.generation, 4);
  assert.equal(both.snapshots, 2);
  assert.deepEqual(both.workers, [{ worker: 0, pid: 100, synced: true, eventId: 12, generation: 7, snapshots: 1 }, { worker: 1, pid: 101, synced: true, eventId: 9, generation: 4, snapshots: 1 }]);
  assert.equal(mergeHealth([at(0, true, 12), at(1, false, 0)], 2).synced, false);
  // A worker being replaced does not answer: not synced, rather than healthy on half the workers.
  assert.equal(mergeHealth([at(0, true, 12)], 2).synced, false);
  assert.deepEqual(mergeHealth([], 2), { synced: false, eventId: 0, generation: 0, snapshots: 0, workers: [] });
});

test('mergeStats sums counters per pool and reason, unions ejected backends, and counts per worker', () => {
  const merged = mergeStats([
    { worker: 0, pid: 100, value: stats({ noRoute: 1, clientErrors: { timeout: 2 }, ejected: ['10.0.0.2:80'], pools: { '/b:2': counters(5, 1), '/a:1': counters(1) } }) },
    { worker: 1, pid: 101, value: stats({ eventId: 8, generation: 2, noRoute: 2, clientErrors: { timeout: 1, malformed: 4 }, ejected: ['10.0.0.1:80', '10.0.0.2:80'], pools: { '/b:2': counters(7, 2) } }) },
  ]);
  assert.deepEqual(merged, {
    generation: 2,
    eventId: 8,
    ejected: ['10.0.0.1:80', '10.0.0.2:80'],
    noRoute: 3,
    clientErrors: { timeout: 3, malformed: 4 },
    pools: { '/a:1': counters(1), '/b:2': counters(12, 3) },
    workers: [{ worker: 0, pid: 100, requests: 6 }, { worker: 1, pid: 101, requests: 7 }],
  });
  assert.deepEqual(Object.keys(merged.pools), ['/a:1', '/b:2']);
});

test('mergeBackends: the first table, active requests summed, ejected by any; the CSV shows the sum', () => {
  const table = buildRoutingTable(view([app('/web', { HAPROXY_GROUP: 'g' }, [10000])], [task('/web', 1, [31000], { host: '10.0.0.1' })]), { groups: ['g'] });
  assert.deepEqual(mergeBackends([]), { table: EMPTY_ROUTING_TABLE, backends: {}, pools: {} });
  const traffic = (requests: number, lastSecond: number, busiestSecond: number) => ({ requests, lastSecond, busiestSecond, responses: [0, requests, 0, 0, 0, 0], denied: 1, noBackend: 0, upstreamErrors: 0 });
  const merged = mergeBackends([
    { table, backends: { '10.0.0.1:31000': { active: 2, ejected: false, total: 10 } }, pools: { '/web:10000': traffic(10, 2, 4) } },
    { table: EMPTY_ROUTING_TABLE, backends: { '10.0.0.1:31000': { active: 3, ejected: true, total: 5 } }, pools: { '/web:10000': traffic(5, 1, 3) } },
  ]);
  assert.equal(merged.table, table);
  assert.deepEqual(merged.backends, { '10.0.0.1:31000': { active: 5, ejected: true, total: 15 } });
  assert.deepEqual(merged.pools, { '/web:10000': { requests: 15, lastSecond: 3, busiestSecond: 7, responses: [0, 15, 0, 0, 0, 0], denied: 2, noBackend: 0, upstreamErrors: 0 } });
  const server = haproxyStatsCsv(merged).split('\n').find((line) => line.startsWith('web_10000,10_0_0_1_31000,'));
  assert.deepEqual(server?.split(',').slice(4, 5), ['5']);
  assert.match(server ?? '', /,DOWN,/);
});

test('mergeMetrics: counters and open connections add up; table gauges are not multiplied by the worker count', async () => {
  const workers = [new RouteStats(), new RouteStats()];
  workers.forEach((stats, i) => {
    for (let n = 0; n <= i; n += 1) stats.request('/web:10000');
    stats.active.set(i + 2);
    stats.generation.set(7 - i);
    stats.lastChange.set(1000 + i);
    stats.rejectedRoutes.set(1);
  });
  const { body } = await mergeMetrics(await Promise.all(workers.map((stats) => stats.registry.getMetricsAsJSON())));
  const value = (name: string): number => Number(body.split('\n').find((line) => line.startsWith(name))?.split(' ').at(-1));
  assert.equal(value('corral_lb_requests_total{pool="/web:10000"}'), 3);
  assert.equal(value('corral_lb_active_connections'), 5);
  assert.equal(value('corral_lb_table_generation'), 6);
  assert.equal(value('corral_lb_table_last_change_seconds'), 1001);
  assert.equal(value('corral_lb_rejected_routes'), 1);
});
