import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appPorts, networkMode, ownIps } from '../../src/events/core/app-ports.ts';
import type { DiscoveryApp, PortMapping } from '../../src/events/types.ts';
import { app, task } from '../support/dns-fixtures.ts';

const mappings: PortMapping[] = [
  { containerPort: 8080, hostPort: 0, servicePort: 10000, protocol: 'tcp', name: 'http' },
  { containerPort: 9090, servicePort: 10001, protocol: 'udp' },
  { containerPort: 7070, hostPort: 31999, servicePort: 10002, protocol: 'udp,tcp', name: 'admin' },
];

test('networkMode: the last network\'s mode, host without networks (table-driven)', () => {
  const cases: [DiscoveryApp['networks'], string][] = [
    [undefined, 'host'],
    [[], 'host'],
    [[{ mode: 'host' }], 'host'],
    [[{ mode: 'container/bridge' }], 'container/bridge'],
    [[{ mode: 'container', name: 'a' }, { mode: 'container', name: 'b' }], 'container'],
  ];
  for (const [networks, expected] of cases) assert.equal(networkMode(app('/a', networks === undefined ? {} : { networks })), expected, JSON.stringify(networks));
});

test('appPorts: portDefinitions on the host network, portMappings with container networking (table-driven)', () => {
  const definitions = [{ port: 10000, protocol: 'tcp' as const, name: 'web' }, { port: 10001, protocol: 'udp' as const }];
  const cases: { about: string; app: DiscoveryApp; expected: unknown[] }[] = [
    {
      about: 'host: definitions, host port n at index n',
      app: app('/a', { portDefinitions: definitions }),
      expected: [{ servicePort: 10000, protocol: 'tcp', name: 'web', hostPortIndex: 0 }, { servicePort: 10001, protocol: 'udp', hostPortIndex: 1 }],
    },
    {
      about: 'host with stray mappings: the mappings are ignored (marathon-lb)',
      app: app('/a', { portDefinitions: definitions, networks: [{ mode: 'host' }], container: { portMappings: mappings } }),
      expected: [{ servicePort: 10000, protocol: 'tcp', name: 'web', hostPortIndex: 0 }, { servicePort: 10001, protocol: 'udp', hostPortIndex: 1 }],
    },
    {
      about: 'bridge: mappings; host port indexes skip a mapping without hostPort',
      app: app('/a', { networks: [{ mode: 'container/bridge' }], container: { portMappings: mappings } }),
      expected: [
        { servicePort: 10000, protocol: 'tcp', name: 'http', containerPort: 8080, hostPortIndex: 0 },
        { servicePort: 10001, protocol: 'udp', containerPort: 9090 },
        { servicePort: 10002, protocol: 'udp,tcp', name: 'admin', containerPort: 7070, hostPortIndex: 1 },
      ],
    },
    {
      about: 'container network without mappings: the definitions (none, in Marathon 1.5)',
      app: app('/a', { networks: [{ mode: 'container', name: 'dev' }], container: null }),
      expected: [],
    },
  ];
  for (const c of cases) {
    assert.deepEqual(appPorts(c.app), c.expected, c.about);
    assert.equal(appPorts(c.app), appPorts(c.app), `${c.about}: worked out once per app object`);
  }
});

test('ownIps: ipAddresses other than the agent\'s (table-driven)', () => {
  const cases: [host: string, ips: string[], expected: string[]][] = [
    ['127.0.0.11', [], []],
    ['127.0.0.11', ['127.0.0.11'], []],
    ['127.0.0.11', ['10.0.1.5'], ['10.0.1.5']],
    ['node-1.example', ['10.0.1.5', 'fd00::5'], ['10.0.1.5', 'fd00::5']],
  ];
  for (const [host, ips, expected] of cases) {
    const ipAddresses = ips.map((ipAddress) => ({ ipAddress, protocol: ipAddress.includes(':') ? 'IPv6' as const : 'IPv4' as const }));
    assert.deepEqual(ownIps(task('t', '/a', { host, ipAddresses })), expected, `${host} ${ips.join(',')}`);
  }
});
