import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Balancer, backendKey } from '../../src/lb/core/balancer.ts';
import { buildRoutingTable, type BackendPool } from '../../src/lb/core/routing-table.ts';
import { app, task, view } from '../support/lb-fixtures.ts';

function pool(labels: Record<string, string> = {}, count = 3): BackendPool {
  const tasks = Array.from({ length: count }, (_, i) => task('/p', i + 1, [31000 + i + 1]));
  const built = buildRoutingTable(view([app('/p', { HAPROXY_GROUP: 'g', ...labels }, [10000])], tasks), { groups: ['g'] }).servicePorts['10000'];
  assert.ok(built);
  return built;
}

const ports = (picks: ({ port: number } | undefined)[]): (number | undefined)[] => picks.map((b) => b?.port);

test('each algorithm picks as marathon-lb/HAProxy would', async (t) => {
  await t.test('roundrobin cycles in task order', () => {
    const balancer = new Balancer({ random: Math.random });
    const p = pool();
    assert.deepEqual(ports(Array.from({ length: 4 }, () => balancer.pick(p, {}, 0))), [31001, 31002, 31003, 31001]);
  });
  await t.test('leastconn prefers the backend with the fewest active requests', () => {
    const balancer = new Balancer({ random: Math.random });
    const p = pool({ HAPROXY_0_BALANCE: 'leastconn' });
    const [a, b] = p.backends;
    assert.ok(a && b);
    balancer.started(a);
    balancer.started(b);
    assert.equal(balancer.pick(p, {}, 0)?.port, 31003);
    balancer.finished(a, true, 0);
    assert.equal(balancer.pick(p, {}, 0)?.port, 31001);
  });
  await t.test('source sends one client address to one backend', () => {
    const balancer = new Balancer({ random: Math.random });
    const p = pool({ HAPROXY_0_BALANCE: 'source' });
    const first = balancer.pick(p, { clientAddress: '10.0.0.7' }, 0);
    for (let i = 0; i < 5; i += 1) assert.equal(balancer.pick(p, { clientAddress: '10.0.0.7' }, 0), first);
    const spread = new Set(Array.from({ length: 50 }, (_, i) => balancer.pick(p, { clientAddress: `10.0.1.${i}` }, 0)?.port));
    assert.ok(spread.size > 1, 'different clients spread');
  });
  await t.test('random uses the injected source', () => {
    const draws = [0.1, 0.5, 0.9];
    const balancer = new Balancer({ random: () => draws.shift() ?? 0 });
    const p = pool({ HAPROXY_0_BALANCE: 'random' });
    assert.deepEqual(ports([balancer.pick(p, {}, 0), balancer.pick(p, {}, 0), balancer.pick(p, {}, 0)]), [31001, 31002, 31003]);
  });
  await t.test('sticky: the cookie\'s task wins while it serves', () => {
    const balancer = new Balancer({ random: Math.random });
    const p = pool({ HAPROXY_0_STICKY: 'true' });
    for (let i = 0; i < 3; i += 1) assert.equal(balancer.pick(p, { stickyId: 'p.task-2' }, 0)?.port, 31002);
    assert.equal(balancer.pick(p, { stickyId: 'p.task-9' }, 0)?.port, 31001, 'an unknown cookie falls back to balancing');
  });
  await t.test('a retry excludes what was tried; undefined when nothing is left', () => {
    const balancer = new Balancer({ random: Math.random });
    const p = pool({}, 2);
    const [a, b] = p.backends;
    assert.ok(a && b);
    assert.equal(balancer.pick(p, { exclude: new Set([backendKey(a)]) }, 0), b);
    assert.equal(balancer.pick(p, { exclude: new Set([backendKey(a), backendKey(b)]) }, 0), undefined);
  });
});

test('passive health: a backend failing ejectAfter times in a row is skipped for a while', () => {
  const balancer = new Balancer({ ejectAfter: 2, ejectForMs: 1000, random: Math.random });
  const p = pool({}, 2);
  const [a, b] = p.backends;
  assert.ok(a && b);
  balancer.failed(a, 0);
  assert.deepEqual(balancer.ejected(0), [], 'one failure is not enough');
  balancer.failed(a, 0);
  assert.deepEqual(balancer.ejected(0), [backendKey(a)]);
  assert.deepEqual(ports(Array.from({ length: 3 }, () => balancer.pick(p, {}, 500))), [31002, 31002, 31002]);
  // Back after the pause; one more failure ejects it again at once.
  assert.deepEqual(balancer.ejected(1000), []);
  balancer.failed(a, 1000);
  assert.deepEqual(balancer.ejected(1000), [backendKey(a)]);
  // A success resets the count.
  balancer.finished(a, true, 5000);
  balancer.failed(a, 5000);
  assert.deepEqual(balancer.ejected(5000), []);
  // When every backend is ejected, one is still tried rather than refusing everyone.
  balancer.failed(a, 6000);
  balancer.failed(b, 6000);
  balancer.failed(b, 6000);
  assert.notEqual(balancer.pick(p, {}, 6000), undefined);
});

test('retain forgets pools and idle backends that left the table', () => {
  const balancer = new Balancer({ ejectAfter: 1, random: Math.random });
  const p = pool({}, 2);
  const [a] = p.backends;
  assert.ok(a);
  balancer.failed(a, 0);
  balancer.retain(new Set(), new Set());
  assert.deepEqual(balancer.ejected(0), []);
});
