import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRoutingTable, type RoutingTable } from '../../src/lb/core/routing-table.ts';
import type { AppNetwork, DiscoveryApp, IpAddress, PortMapping } from '../../src/events/types.ts';
import { app, task, view } from '../support/lb-fixtures.ts';

const EXTERNAL = { groups: ['external'] };
const GROUP = { HAPROXY_GROUP: 'external' };
const BRIDGE: AppNetwork[] = [{ mode: 'container/bridge' }];
const OVERLAY: AppNetwork[] = [{ mode: 'container', name: 'dev' }];

const ips = (...addresses: string[]): IpAddress[] => addresses.map((ipAddress) => ({ ipAddress, protocol: 'IPv4' }));
const mapping = (containerPort: number, servicePort: number, extra: Partial<PortMapping> = {}): PortMapping => ({ containerPort, servicePort, protocol: 'tcp', ...extra });

/** An app as Marathon 1.5 shows one with container networking: no portDefinitions, the ports in the mappings. */
function networked(id: string, labels: Record<string, string>, networks: AppNetwork[], portMappings: PortMapping[], extra: Partial<DiscoveryApp> = {}): DiscoveryApp {
  return app(id, labels, [], { networks, container: { portMappings }, ...extra });
}

function summary(table: RoutingTable) {
  return {
    servicePorts: Object.fromEntries(
      Object.entries(table.servicePorts).map(([port, pool]) => [port, `${pool.appId}#${pool.portIndex} ${pool.mode} ${[...pool.backends, ...pool.draining.map((b) => ({ ...b, host: `~${b.host}` }))].map((b) => `${b.host}:${b.port}`).join(' ')}`.trim()]),
    ),
    vhosts: Object.fromEntries(Object.entries(table.vhosts).map(([host, rules]) => [host, rules.map((r) => `${r.path ?? '*'} -> ${r.pool.appId}#${r.pool.portIndex}`)])),
    rejected: table.rejected.map((r) => `${r.appId}#${r.portIndex}: ${r.reason}`),
  };
}

test('buildRoutingTable with bridge and container networks', async (t) => {
  const cases: { name: string; apps: DiscoveryApp[]; tasks: ReturnType<typeof task>[]; expect: ReturnType<typeof summary> }[] = [
    {
      name: 'bridge: service ports from the mappings, backends the agent and the host ports; HAPROXY_n_ labels index the mappings',
      apps: [networked('/web', { ...GROUP, HAPROXY_1_VHOST: 'web.example.com' }, BRIDGE, [mapping(80, 10100, { hostPort: 0 }), mapping(8080, 10101, { hostPort: 0 })])],
      tasks: [task('/web', 1, [31000, 31001], { ipAddresses: ips('172.31.0.5') }), task('/web', 2, [31002, 31003], { host: '127.0.0.12', ipAddresses: ips('172.31.0.5') })],
      expect: {
        servicePorts: { 10100: '/web#0 tcp 127.0.0.11:31000 127.0.0.12:31002', 10101: '/web#1 http 127.0.0.11:31001 127.0.0.12:31003' },
        vhosts: { 'web.example.com': ['* -> /web#1'] },
        rejected: [],
      },
    },
    {
      name: 'bridge: a mapping without hostPort shifts the host ports of the next ones; its own backend is the task IP',
      apps: [networked('/web', GROUP, BRIDGE, [mapping(7000, 10102), mapping(80, 10103, { hostPort: 0 })])],
      tasks: [task('/web', 1, [31005], { ipAddresses: ips('172.31.0.5') })],
      expect: { servicePorts: { 10102: '/web#0 tcp 172.31.0.5:7000', 10103: '/web#1 tcp 127.0.0.11:31005' }, vhosts: {}, rejected: [] },
    },
    {
      name: 'container network: the task IP and the container port, with or without a host port (marathon-lb ip-per-task)',
      apps: [networked('/svc', GROUP, OVERLAY, [mapping(8080, 10110), mapping(9000, 10111, { hostPort: 31500 })])],
      tasks: [task('/svc', 1, [31500], { ipAddresses: ips('10.1.0.7') }), task('/svc', 2, [31501], { ipAddresses: ips('10.1.0.8', '10.1.0.9') })],
      expect: { servicePorts: { 10110: '/svc#0 tcp 10.1.0.7:8080 10.1.0.8:8080', 10111: '/svc#1 tcp 10.1.0.7:9000 10.1.0.8:9000' }, vhosts: {}, rejected: [] },
    },
    {
      name: 'container network, a task with no IP of its own: by its host port when the mapping has one, else not routed',
      apps: [networked('/svc', GROUP, OVERLAY, [mapping(8080, 10110), mapping(9000, 10111, { hostPort: 31500 })])],
      tasks: [task('/svc', 1, [31500], { ipAddresses: ips('127.0.0.11') })],
      expect: { servicePorts: { 10110: '/svc#0 tcp', 10111: '/svc#1 tcp 127.0.0.11:31500' }, vhosts: {}, rejected: [] },
    },
    {
      name: 'per-mapping group, port override, and a udp mapping',
      apps: [networked('/multi', { HAPROXY_GROUP: 'internal', HAPROXY_1_GROUP: 'external', HAPROXY_1_PORT: '10125', HAPROXY_2_GROUP: 'external' }, BRIDGE, [
        mapping(80, 10120, { hostPort: 0 }),
        mapping(81, 10121, { hostPort: 0 }),
        mapping(53, 10122, { hostPort: 0, protocol: 'udp' }),
      ])],
      tasks: [task('/multi', 1, [31010, 31011, 31012], { ipAddresses: ips('172.31.0.6') })],
      expect: { servicePorts: { 10125: '/multi#1 tcp 127.0.0.11:31011' }, vhosts: {}, rejected: ['/multi#2: udp-only port: the LB proxies TCP and HTTP only'] },
    },
    {
      name: 'health checks index the mappings: an HTTP check on mapping 1 makes it http; HEALTHCHECK_PORT_INDEX is bounded by the mappings',
      apps: [
        networked('/hc', GROUP, BRIDGE, [mapping(80, 10130, { hostPort: 0 }), mapping(81, 10131, { hostPort: 0 })], { healthChecks: [{ protocol: 'HTTP', portIndex: 1 }] }),
        networked('/hci', { ...GROUP, HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX: '2' }, OVERLAY, [mapping(80, 10132), mapping(81, 10133)]),
      ],
      tasks: [],
      expect: {
        servicePorts: { 10130: '/hc#0 tcp', 10131: '/hc#1 http', 10133: '/hci#1 tcp' },
        vhosts: {},
        rejected: ['/hci#0: HAPROXY_0_BACKEND_HEALTHCHECK_PORT_INDEX is 2, but the app has 2 port(s)'],
      },
    },
    {
      name: 'a mapping without a service port is rejected, naming the mapping',
      apps: [networked('/zero', GROUP, OVERLAY, [mapping(80, 0)])],
      tasks: [],
      expect: { servicePorts: {}, vhosts: {}, rejected: ['/zero#0: no service port (container.portMappings[0].servicePort is 0)'] },
    },
    {
      name: 'mixed: host, bridge and container-network apps side by side',
      apps: [
        app('/host', GROUP, [10140]),
        networked('/bridge', GROUP, BRIDGE, [mapping(80, 10141, { hostPort: 0 })]),
        networked('/overlay', GROUP, OVERLAY, [mapping(80, 10142)]),
      ],
      tasks: [
        task('/host', 1, [31040], { ipAddresses: ips('127.0.0.11') }),
        task('/bridge', 1, [31041], { ipAddresses: ips('172.31.0.7') }),
        task('/overlay', 1, [], { ipAddresses: ips('10.1.0.10') }),
      ],
      expect: { servicePorts: { 10140: '/host#0 tcp 127.0.0.11:31040', 10141: '/bridge#0 tcp 127.0.0.11:31041', 10142: '/overlay#0 tcp 10.1.0.10:80' }, vhosts: {}, rejected: [] },
    },
    {
      name: 'an app switched from host to bridge: old and new instances both by the agent and their host ports',
      apps: [networked('/web', GROUP, BRIDGE, [mapping(80, 10150, { hostPort: 0 })], { version: 'v2' })],
      tasks: [task('/web', 1, [31050], { ipAddresses: ips('127.0.0.11'), version: 'v1' }), task('/web', 2, [31051], { ipAddresses: ips('172.31.0.8'), version: 'v2' })],
      expect: { servicePorts: { 10150: '/web#0 tcp 127.0.0.11:31050 127.0.0.11:31051' }, vhosts: {}, rejected: [] },
    },
    {
      name: 'an app switched from host to a container network: old instances by their host port, new ones by their IP',
      apps: [networked('/web', GROUP, OVERLAY, [mapping(80, 10160, { hostPort: 0 })], { version: 'v2' })],
      tasks: [task('/web', 1, [31060], { ipAddresses: ips('127.0.0.11'), version: 'v1' }), task('/web', 2, [31061], { ipAddresses: ips('10.1.0.11'), version: 'v2' })],
      expect: { servicePorts: { 10160: '/web#0 tcp 127.0.0.11:31060 10.1.0.11:80' }, vhosts: {}, rejected: [] },
    },
    {
      name: 'blue-green from a host colour to a bridged one: the route stays on the old colour\'s service port',
      apps: [
        app('/shop-blue', { ...GROUP, ...colour('2024-01-01T00:00:00Z') }, [10170]),
        networked('/shop-green', { ...GROUP, ...colour('2024-01-02T00:00:00Z'), HAPROXY_DEPLOYMENT_ALT_PORT: '10171' }, BRIDGE, [mapping(80, 10171, { hostPort: 0 })]),
      ],
      tasks: [task('/shop-blue', 1, [31070]), task('/shop-green', 1, [31071], { ipAddresses: ips('172.31.0.9') })],
      expect: { servicePorts: { 10170: '/shop-green#0 tcp 127.0.0.11:31071 ~127.0.0.11:31070' }, vhosts: {}, rejected: [] },
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => assert.deepEqual(summary(buildRoutingTable(view(c.apps, c.tasks), EXTERNAL)), c.expect));
  }
});

function colour(startedAt: string): Record<string, string> {
  return { HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_STARTED_AT: startedAt, HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '1' };
}
