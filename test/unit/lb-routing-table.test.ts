import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMPTY_VIEW } from '../../src/events/view.ts';
import { buildRoutingTable, sameRoutingTable, type RoutingTable } from '../../src/lb/core/routing-table.ts';
import { app, task, view } from '../support/lb-fixtures.ts';

const EXTERNAL = { groups: ['external'] };

/** The table in a compact, comparable shape: which ports and hosts route where, with which backends. */
function summary(table: RoutingTable) {
  return {
    servicePorts: Object.fromEntries(
      Object.entries(table.servicePorts).map(([port, pool]) => [port, `${pool.appId}#${pool.portIndex} ${pool.mode} ${pool.backends.map((b) => `${b.host}:${b.port}`).join(' ')}`.trim()]),
    ),
    vhosts: Object.fromEntries(Object.entries(table.vhosts).map(([host, rules]) => [host, rules.map((r) => `${r.path ?? '*'} -> ${r.pool.appId}#${r.pool.portIndex}`)])),
    rejected: table.rejected.map((r) => `${r.appId}#${r.portIndex}: ${r.reason}`),
  };
}

test('buildRoutingTable', async (t) => {
  const web = app('/shop/web', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'Shop.Example.com' }, [10001]);
  const cases: { name: string; groups?: string[]; apps: ReturnType<typeof app>[]; tasks: ReturnType<typeof task>[]; expect: ReturnType<typeof summary> }[] = [
    { name: 'empty view', apps: [], tasks: [], expect: { servicePorts: {}, vhosts: {}, rejected: [] } },
    {
      name: 'vhost app: http service port plus a host rule; backends are the tasks\' host ports',
      apps: [web],
      tasks: [task('/shop/web', 2, [31002]), task('/shop/web', 1, [31001])],
      expect: {
        servicePorts: { 10001: '/shop/web#0 http 127.0.0.11:31001 127.0.0.11:31002' },
        vhosts: { 'shop.example.com': ['* -> /shop/web#0'] },
        rejected: [],
      },
    },
    {
      name: 'apps of other groups, or without a group, are not ours',
      apps: [app('/int', { HAPROXY_GROUP: 'internal' }, [10002]), app('/nogroup', {}, [10003])],
      tasks: [],
      expect: { servicePorts: {}, vhosts: {}, rejected: [] },
    },
    {
      name: '* serves every group',
      groups: ['*'],
      apps: [app('/int', { HAPROXY_GROUP: 'internal' }, [10002]), app('/nogroup', {}, [10003])],
      tasks: [],
      expect: { servicePorts: { 10002: '/int#0 tcp', 10003: '/nogroup#0 tcp' }, vhosts: {}, rejected: [] },
    },
    {
      name: 'per-port group and ENABLED=false select ports of one app',
      apps: [app('/multi', { HAPROXY_GROUP: 'internal', HAPROXY_1_GROUP: 'external', HAPROXY_2_GROUP: 'external', HAPROXY_2_ENABLED: 'false' }, [10010, 10011, 10012])],
      tasks: [task('/multi', 1, [31010, 31011, 31012])],
      expect: { servicePorts: { 10011: '/multi#1 tcp 127.0.0.11:31011' }, vhosts: {}, rejected: [] },
    },
    {
      name: 'only serving tasks are backends (running; healthy when checks exist; not killing)',
      apps: [app('/checked', { HAPROXY_GROUP: 'external' }, [10020], { healthChecks: [{ protocol: 'TCP' }] })],
      tasks: [
        task('/checked', 1, [31021], { healthy: true }),
        task('/checked', 2, [31022], { healthy: false }),
        task('/checked', 3, [31023]),
        task('/checked', 4, [31024], { state: 'TASK_STARTING' }),
        task('/checked', 5, [31025], { state: 'TASK_KILLING', healthy: true }),
      ],
      expect: { servicePorts: { 10020: '/checked#0 tcp 127.0.0.11:31021' }, vhosts: {}, rejected: [] },
    },
    {
      name: 'an HTTP health check makes the port http',
      apps: [app('/hc', { HAPROXY_GROUP: 'external' }, [10030, 10031], { healthChecks: [{ protocol: 'HTTP', portIndex: 1 }] })],
      tasks: [],
      expect: { servicePorts: { 10030: '/hc#0 tcp', 10031: '/hc#1 http' }, vhosts: {}, rejected: [] },
    },
    {
      name: 'two apps on one service port: the first by id keeps it, the other is rejected',
      apps: [app('/b', { HAPROXY_GROUP: 'external' }, [10040]), app('/a', { HAPROXY_GROUP: 'external' }, [10040])],
      tasks: [],
      expect: { servicePorts: { 10040: '/a#0 tcp' }, vhosts: {}, rejected: ['/b#0: service port 10040 is already routed to /a (port index 0)'] },
    },
    {
      name: 'a HAPROXY_n_PORT override never takes a scheduler-assigned port away',
      apps: [app('/a', { HAPROXY_GROUP: 'external', HAPROXY_0_PORT: '10050' }, [10051]), app('/z', { HAPROXY_GROUP: 'external' }, [10050])],
      tasks: [],
      expect: { servicePorts: { 10050: '/z#0 tcp' }, vhosts: {}, rejected: ['/a#0: service port 10050 is already routed to /z (port index 0)'] },
    },
    {
      name: 'paths order longest first; a path-less rule goes last; path clashes are rejected',
      apps: [
        app('/root', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'x.com' }, [10060]),
        app('/api', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'x.com', HAPROXY_0_PATH: '/api' }, [10061]),
        app('/api2', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'x.com', HAPROXY_0_PATH: '/api/v2 /api' }, [10062]),
      ],
      tasks: [],
      expect: {
        servicePorts: { 10060: '/root#0 http', 10061: '/api#0 http', 10062: '/api2#0 http' },
        vhosts: { 'x.com': ['/api/v2 -> /api2#0', '/api -> /api#0', '* -> /root#0'] },
        rejected: ['/api2#0: vhost x.com/api is already routed to /api (port index 0)'],
      },
    },
    {
      name: 'bad labels reject that port only',
      apps: [app('/bad', { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'quic' }, [10070, 10071])],
      tasks: [],
      expect: { servicePorts: { 10071: '/bad#1 tcp' }, vhosts: {}, rejected: ["/bad#0: HAPROXY_0_MODE must be tcp or http, got 'quic'"] },
    },
    {
      name: 'a vhost on an explicit tcp port is rejected',
      apps: [app('/tcpv', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'a.com', HAPROXY_0_MODE: 'tcp' }, [10080])],
      tasks: [],
      expect: { servicePorts: {}, vhosts: {}, rejected: ['/tcpv#0: HAPROXY_0_VHOST needs http mode, but HAPROXY_0_MODE is tcp'] },
    },
    {
      name: 'a port without a service port is rejected',
      apps: [app('/zero', { HAPROXY_GROUP: 'external' }, [0])],
      tasks: [],
      expect: { servicePorts: {}, vhosts: {}, rejected: ['/zero#0: no service port (portDefinitions[0].port is 0)'] },
    },
    {
      name: 'a task without a host port at that index is skipped',
      apps: [app('/two', { HAPROXY_GROUP: 'external' }, [10090, 10091])],
      tasks: [task('/two', 1, [31090])],
      expect: { servicePorts: { 10090: '/two#0 tcp 127.0.0.11:31090', 10091: '/two#1 tcp' }, vhosts: {}, rejected: [] },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const table = buildRoutingTable(view(c.apps, c.tasks), { groups: c.groups ?? EXTERNAL.groups });
      assert.deepEqual(summary(table), c.expect);
    });
  }
});

test('the table is frozen, JSON-serialisable and deterministic', () => {
  const apps = [app('/a', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'a.com' }, [10001]), app('/b', { HAPROXY_GROUP: 'external' }, [10002])];
  const tasks = [task('/a', 1, [31001]), task('/b', 1, [31002])];
  const table = buildRoutingTable(view(apps, tasks), EXTERNAL);
  assert.ok(Object.isFrozen(table) && Object.isFrozen(table.vhosts) && Object.isFrozen(table.servicePorts['10001']?.backends));
  assert.throws(() => {
    (table.rejected as unknown[]).push('x');
  });
  const again = buildRoutingTable(view([...apps].reverse(), [...tasks].reverse(), 99), EXTERNAL);
  assert.equal(JSON.stringify(again), JSON.stringify(table));
  assert.ok(sameRoutingTable(table, again));
  assert.deepEqual(JSON.parse(JSON.stringify(table)).servicePorts['10002'].backends, [{ taskId: 'b.task-1', host: '127.0.0.11', port: 31002 }]);
});

test('sameRoutingTable tells a backend change from an unrelated event', () => {
  const apps = [app('/a', { HAPROXY_GROUP: 'external' }, [10001])];
  const before = buildRoutingTable(view(apps, [task('/a', 1, [31001])]), EXTERNAL);
  const unrelated = buildRoutingTable(view([...apps, app('/other', { HAPROXY_GROUP: 'internal' }, [10002])], [task('/a', 1, [31001])]), EXTERNAL);
  const moved = buildRoutingTable(view(apps, [task('/a', 1, [31005])]), EXTERNAL);
  assert.ok(sameRoutingTable(before, unrelated));
  assert.ok(!sameRoutingTable(before, moved));
  assert.ok(sameRoutingTable(buildRoutingTable(EMPTY_VIEW, EXTERNAL), buildRoutingTable(view([], []), EXTERNAL)));
});

test('a Host named like an Object property does not match anything', () => {
  const table = buildRoutingTable(view([], []), EXTERNAL);
  assert.equal(table.vhosts['constructor'], undefined);
  assert.equal(table.servicePorts['toString'], undefined);
});
