import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EMPTY_VIEW } from '../../src/events/core/view.ts';
import { buildRoutingTable, certificatesOf, sameRoutingTable, type RoutingTable } from '../../src/lb/core/routing-table.ts';
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
  const cases: { name: string; groups?: string[]; strictMode?: boolean; badCertificates?: Map<string, string>; apps: ReturnType<typeof app>[]; tasks: ReturnType<typeof task>[]; expect: ReturnType<typeof summary> }[] = [
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
    {
      name: '--strict-mode exposes only ENABLED=true ports',
      strictMode: true,
      apps: [app('/strict', { HAPROXY_GROUP: 'external', HAPROXY_1_ENABLED: 'true' }, [10100, 10101])],
      tasks: [],
      expect: { servicePorts: { 10101: '/strict#1 tcp' }, vhosts: {}, rejected: [] },
    },
    {
      name: 'a comma list of vhosts gives one rule per host',
      apps: [app('/multi', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'a.com,b.com' }, [10110])],
      tasks: [],
      expect: { servicePorts: { 10110: '/multi#0 http' }, vhosts: { 'a.com': ['* -> /multi#0'], 'b.com': ['* -> /multi#0'] }, rejected: [] },
    },
    {
      name: 'BACKEND_WEIGHT orders rules before path length',
      apps: [
        app('/light', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'w.com', HAPROXY_0_PATH: '/api/long' }, [10120]),
        app('/heavy', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'w.com', HAPROXY_0_PATH: '/api', HAPROXY_0_BACKEND_WEIGHT: '5' }, [10121]),
      ],
      tasks: [],
      expect: {
        servicePorts: { 10120: '/light#0 http', 10121: '/heavy#0 http' },
        vhosts: { 'w.com': ['/api -> /heavy#0', '/api/long -> /light#0'] },
        rejected: [],
      },
    },
    {
      name: 'HTTP-only labels make a port http, and are rejected on an explicit tcp port',
      apps: [
        app('/sticky', { HAPROXY_GROUP: 'external', HAPROXY_0_STICKY: 'true' }, [10130]),
        app('/tcpauth', { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'tcp', HAPROXY_0_REDIRECT_TO_HTTPS: 'true' }, [10131]),
      ],
      tasks: [],
      expect: { servicePorts: { 10130: '/sticky#0 http' }, vhosts: {}, rejected: ['/tcpauth#0: HAPROXY_0_REDIRECT_TO_HTTPS needs http mode, but the port is tcp'] },
    },
    {
      name: 'a bad CIDR rejects only that route',
      apps: [
        app('/acl', { HAPROXY_GROUP: 'external', HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/99', HAPROXY_0_VHOST: 'acl.com' }, [10140]),
        app('/fine', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'fine.com' }, [10141]),
      ],
      tasks: [],
      expect: {
        servicePorts: { 10141: '/fine#0 http' },
        vhosts: { 'fine.com': ['* -> /fine#0'] },
        rejected: ["/acl#0: HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/99' is not an IP address or CIDR range"],
      },
    },
    {
      name: 'an unreadable certificate rejects only the routes using it',
      badCertificates: new Map([['/missing.pem', 'cannot read /missing.pem: ENOENT']]),
      apps: [
        app('/tls', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'tls.com', HAPROXY_0_SSL_CERT: '/missing.pem' }, [10150]),
        app('/plain', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'plain.com' }, [10151]),
      ],
      tasks: [],
      expect: {
        servicePorts: { 10151: '/plain#0 http' },
        vhosts: { 'plain.com': ['* -> /plain#0'] },
        rejected: ['/tls#0: HAPROXY_0_SSL_CERT /missing.pem: cannot read /missing.pem: ENOENT'],
      },
    },
    {
      name: 'a health-check port index beyond the app\'s ports is rejected',
      apps: [app('/hci', { HAPROXY_GROUP: 'external', HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '3' }, [10160])],
      tasks: [],
      expect: { servicePorts: {}, vhosts: {}, rejected: ['/hci#0: HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX is 3, but the app has 1 port(s)'] },
    },
    {
      name: 'blue-green: both colours serve on the old port until the new one reaches the target',
      apps: [
        app('/shop-blue', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'shop.com', ...colour('2024-01-01T00:00:00Z', 2) }, [10170]),
        app('/shop-green', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'shop.com', ...colour('2024-01-02T00:00:00Z', 2), HAPROXY_DEPLOYMENT_ALT_PORT: '10171' }, [10171]),
      ],
      tasks: [task('/shop-blue', 1, [31001]), task('/shop-blue', 2, [31002]), task('/shop-green', 1, [32001])],
      expect: {
        servicePorts: { 10170: '/shop-green#0 http 127.0.0.11:31001 127.0.0.11:32001' },
        vhosts: { 'shop.com': ['* -> /shop-green#0'] },
        rejected: [],
      },
    },
    {
      name: 'blue-green: the old colour is drained once the new one serves the target',
      apps: [
        app('/shop-blue', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'shop.com', ...colour('2024-01-01T00:00:00Z', 2) }, [10170]),
        app('/shop-green', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'shop.com', ...colour('2024-01-02T00:00:00Z', 2) }, [10171]),
      ],
      tasks: [task('/shop-blue', 1, [31001]), task('/shop-green', 1, [32001]), task('/shop-green', 2, [32002])],
      expect: {
        servicePorts: { 10170: '/shop-green#0 http 127.0.0.11:32001 127.0.0.11:32002' },
        vhosts: { 'shop.com': ['* -> /shop-green#0'] },
        rejected: [],
      },
    },
    {
      name: 'blue-green: bad deployment labels reject the app',
      apps: [app('/bg', { HAPROXY_GROUP: 'external', HAPROXY_DEPLOYMENT_GROUP: 'bg', HAPROXY_DEPLOYMENT_STARTED_AT: 'soon' }, [10180])],
      tasks: [],
      expect: { servicePorts: {}, vhosts: {}, rejected: ["/bg#0: HAPROXY_DEPLOYMENT_STARTED_AT must be an ISO date, got 'soon'"] },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const table = buildRoutingTable(view(c.apps, c.tasks), {
        groups: c.groups ?? EXTERNAL.groups,
        strictMode: c.strictMode ?? false,
        ...(c.badCertificates ? { badCertificates: c.badCertificates } : {}),
      });
      assert.deepEqual(summary(table), c.expect);
    });
  }
});

function colour(startedAt: string, target: number): Record<string, string> {
  return { HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_STARTED_AT: startedAt, HAPROXY_DEPLOYMENT_TARGET_INSTANCES: String(target) };
}

test('pools carry the labels the proxy acts on; apps and SNI maps are derived', () => {
  const labels = {
    HAPROXY_GROUP: 'external',
    HAPROXY_0_VHOST: 'Secure.com',
    HAPROXY_0_SSL_CERT: '/certs/secure.pem',
    HAPROXY_0_BALANCE: 'leastconn',
    HAPROXY_0_STICKY: 'true',
    HAPROXY_0_USE_HSTS: 'true',
    HAPROXY_0_REDIRECT_TO_HTTPS: 'true',
    HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: '/p',
    HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/p',
    HAPROXY_0_HTTP_BACKEND_REDIR: '/home',
    HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '127.0.0.0/8',
    HAPROXY_0_BIND_ADDR: '127.0.0.3',
    HAPROXY_1_MODE: 'http',
  };
  const table = buildRoutingTable(view([app('/s', labels, [10200, 10201])], []), EXTERNAL);
  const pool = table.servicePorts['10200'];
  assert.ok(pool);
  assert.deepEqual(
    { balance: pool.balance, sticky: pool.sticky, sslCerts: pool.sslCerts, bindAddr: pool.bindAddr, acl: pool.allowedNetworks.map((c) => c.text), http: pool.http },
    {
      balance: 'leastconn',
      sticky: true,
      sslCerts: ['/certs/secure.pem'],
      bindAddr: '127.0.0.3',
      acl: ['127.0.0.0/8'],
      http: { redirectToHttps: true, useHsts: true, proxyPassPath: '/p', revProxyPath: '/p', redirectRoot: '/home' },
    },
  );
  assert.deepEqual(certificatesOf(table), ['/certs/secure.pem']);
  assert.deepEqual({ ...table.sniCerts }, { 'secure.com': '/certs/secure.pem' });
  assert.equal(table.apps['/s']?.portIndex, 0, 'the app-id port goes to the first http port');
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

test('sameRoutingTable sees every change a proxy acts on', () => {
  const base = { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'a.com' };
  const table = (labels: Record<string, string>) => buildRoutingTable(view([app('/a', { ...base, ...labels }, [10001])], [task('/a', 1, [31001])]), EXTERNAL);
  const reference = table({});
  assert.ok(sameRoutingTable(reference, table({})));
  const variants: Record<string, string>[] = [
    { HAPROXY_0_BACKEND_WEIGHT: '3' },
    { HAPROXY_0_PATH: '/x' },
    { HAPROXY_0_PATH: '-i /x' },
    { HAPROXY_0_VHOST: 'b.com' },
    { HAPROXY_0_STICKY: 'true' },
    { HAPROXY_0_SSL_CERT: '/c.pem' },
    { HAPROXY_0_BALANCE: 'leastconn' },
    { HAPROXY_0_MODE: 'http', HAPROXY_0_REDIRECT_TO_HTTPS: 'true' },
    { HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8' },
  ];
  for (const labels of variants) {
    assert.ok(!sameRoutingTable(reference, table(labels)), JSON.stringify(labels));
  }
});
