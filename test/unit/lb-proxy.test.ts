import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildRoutingTable, type RoutingTable } from '../../src/lb/core/routing-table.ts';
import type { ServicePortListeners } from '../../src/lb/proxy/service-port-listeners.ts';
import type { RouteStats } from '../../src/lb/stats/route-stats.ts';
import { ProxyHarness } from '../support/lb-proxy-harness.ts';
import { app, freePort, httpGet, startNamedBackend, startTcpEcho, task, tcpExchange, view } from '../support/lb-fixtures.ts';

/**
 * The proxy part on 127.0.0.1:0, fed a hand-built table that points at real servers on loopback.
 */
const closers: (() => Promise<void> | void)[] = [];
let harness: ProxyHarness;
let tables: { current: RoutingTable };
let stats: RouteStats;
let vhostPort = 0;
let tcpServicePort = 0;
let httpServicePort = 0;
let servicePorts: ServicePortListeners;
let backends: { a: number; b: number; dead: number; tcp: number };

function loopbackTask(appId: string, n: number, port: number) {
  return task(appId, n, [port], { host: '127.0.0.1' });
}

function tableFor(extraApps: ReturnType<typeof app>[] = [], extraTasks: ReturnType<typeof task>[] = []): RoutingTable {
  const apps = [
    app('/web', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'web.test' }, [httpServicePort]),
    app('/flaky', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'flaky.test' }, [10001]),
    app('/down', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'down.test' }, [10002]),
    app('/empty', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'empty.test' }, [10003]),
    app('/echo', { HAPROXY_GROUP: 'g' }, [tcpServicePort]),
    ...extraApps,
  ];
  const tasks = [
    loopbackTask('/web', 1, backends.a),
    loopbackTask('/web', 2, backends.b),
    loopbackTask('/flaky', 1, backends.dead),
    loopbackTask('/flaky', 2, backends.a),
    loopbackTask('/down', 1, backends.dead),
    loopbackTask('/echo', 1, backends.tcp),
    ...extraTasks,
  ];
  return buildRoutingTable(view(apps, tasks), { groups: ['g'] });
}

before(async () => {
  const a = await startNamedBackend('a');
  const b = await startNamedBackend('b');
  const echo = await startTcpEcho('echo');
  closers.push(a.close, b.close, echo.close);
  backends = { a: a.port, b: b.port, dead: await freePort(), tcp: echo.port };
  tcpServicePort = await freePort();
  httpServicePort = await freePort();
  harness = await new ProxyHarness().start();
  closers.push(() => harness.close());
  vhostPort = harness.ports.http;
  servicePorts = harness.servicePorts;
  stats = harness.stats;
  tables = harness.tables;
  tables.current = tableFor();
  await servicePorts.reconcile(tables.current);
});

after(async () => {
  for (const close of closers.reverse()) await close();
});

test('requests for a vhost alternate between its two backends', async () => {
  const names: string[] = [];
  for (let i = 0; i < 4; i++) {
    const answer = await httpGet(vhostPort, '/hello', { host: 'web.test' });
    assert.equal(answer.status, 200);
    names.push(JSON.parse(answer.body).name);
  }
  assert.deepEqual([...names].sort(), ['a', 'a', 'b', 'b']);
  assert.notEqual(names[0], names[1]);
  assert.notEqual(names[1], names[2]);
});

test('Host matching ignores case and a :port suffix', async () => {
  const answer = await httpGet(vhostPort, '/x', { host: 'WEB.test:1234' });
  assert.equal(answer.status, 200);
  assert.equal(JSON.parse(answer.body).url, '/x');
});

test('an unknown Host gets 503 with a short text body', async () => {
  const answer = await httpGet(vhostPort, '/', { host: 'nobody.test' });
  assert.equal(answer.status, 503);
  assert.match(answer.headers['content-type'] ?? '', /^text\/plain/);
  assert.match(answer.body, /no route for host 'nobody.test'/);
});

test('the backend sees the original Host and X-Forwarded-* headers', async () => {
  const answer = await httpGet(vhostPort, '/', { host: 'web.test', 'x-forwarded-for': '10.9.9.9', 'x-forwarded-proto': 'https' });
  const headers = JSON.parse(answer.body).headers as Record<string, string>;
  assert.equal(headers.host, 'web.test');
  assert.equal(headers['x-forwarded-for'], '10.9.9.9, 127.0.0.1');
  assert.equal(headers['x-forwarded-proto'], 'http');
  assert.equal(headers['x-forwarded-port'], String(vhostPort));
  assert.equal(headers.forwarded, 'for=127.0.0.1;proto=http;host="web.test"');
});

test('hop-by-hop headers stay with the client connection; the backend connection is pooled', async () => {
  const answer = await httpGet(vhostPort, '/', { host: 'web.test', connection: 'close, x-hop', 'x-hop': '1', 'keep-alive': 'timeout=5', 'x-end': '2' });
  const headers = JSON.parse(answer.body).headers as Record<string, string>;
  assert.equal(headers['x-hop'], undefined);
  assert.equal(headers['keep-alive'], undefined);
  assert.equal(headers.connection, 'keep-alive');
  assert.equal(headers['x-end'], '2');
});

test('request bodies reach the backend, sized or chunked', async () => {
  const sized = await httpGet(vhostPort, '/orders', { host: 'web.test', 'content-type': 'application/json' }, 'POST', '{"n":1}');
  assert.deepEqual(pick(JSON.parse(sized.body)), { method: 'POST', body: '{"n":1}', length: '7' });
  const chunked = await httpGet(vhostPort, '/orders', { host: 'web.test', 'transfer-encoding': 'chunked' }, 'PUT', 'x'.repeat(100_000));
  assert.equal(JSON.parse(chunked.body).body.length, 100_000);
});

function pick(echo: { method: string; body: string; headers: Record<string, string> }) {
  return { method: echo.method, body: echo.body, length: echo.headers['content-length'] };
}

test('an idempotent request skips a backend that refuses connections', async () => {
  for (let i = 0; i < 4; i++) {
    const answer = await httpGet(vhostPort, '/', { host: 'flaky.test' });
    assert.equal(answer.status, 200, `attempt ${i}`);
  }
});

test('502 when no backend answers, 503 when the app has no serving instance', async () => {
  const down = await httpGet(vhostPort, '/', { host: 'down.test' });
  assert.equal(down.status, 502);
  assert.match(down.body, /no instance of \/down answered/);
  const empty = await httpGet(vhostPort, '/', { host: 'empty.test' });
  assert.equal(empty.status, 503);
  assert.match(empty.body, /no serving instance of \/empty/);
  const counters = stats.snapshot().pools;
  assert.equal(counters['/down:10002']?.upstreamErrors, 1);
  assert.equal(counters['/empty:10003']?.noBackend, 1);
});

test('a tcp service port pipes bytes to its backend', async () => {
  assert.equal(await tcpExchange(tcpServicePort, 'ping'), 'echo:ping');
});

test('an http service port proxies to its pool whatever the Host', async () => {
  const answer = await httpGet(httpServicePort, '/direct', { host: 'anything' });
  assert.equal(answer.status, 200);
  assert.equal(JSON.parse(answer.body).url, '/direct');
});

test('a swapped table routes new requests and opens and closes service ports', async () => {
  const extraPort = await freePort();
  const before = tables.current;
  tables.current = tableFor([app('/late', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'late.test' }, [extraPort])], [loopbackTask('/late', 1, backends.b)]);
  await servicePorts.reconcile(tables.current);
  assert.ok(servicePorts.ports.includes(extraPort));
  const late = await httpGet(vhostPort, '/', { host: 'late.test' });
  assert.equal(JSON.parse(late.body).name, 'b');
  assert.equal((await httpGet(extraPort, '/', {})).status, 200);

  tables.current = before;
  await servicePorts.reconcile(tables.current);
  assert.ok(!servicePorts.ports.includes(extraPort));
  assert.equal((await httpGet(vhostPort, '/', { host: 'late.test' })).status, 503);
  await assert.rejects(httpGet(extraPort, '/', {}), /ECONNREFUSED/);
});

test('a service port that cannot be bound is reported, the others keep serving', async () => {
  const clash = app('/clash', { HAPROXY_GROUP: 'g' }, [vhostPort]);
  tables.current = tableFor([clash]);
  await servicePorts.reconcile(tables.current);
  assert.deepEqual(
    servicePorts.failures.map((f) => [f.port, f.appId]),
    [[vhostPort, '/clash']],
  );
  assert.equal(await tcpExchange(tcpServicePort, 'still'), 'echo:still');
  tables.current = tableFor();
  await servicePorts.reconcile(tables.current);
  assert.deepEqual(servicePorts.failures, []);
});
