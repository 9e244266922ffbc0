import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentNetworks, agentTag, bridgeNameOf, checkSubnet, cniNetworkList, defaultBridgeSubnet, netnsNameOf, networkOfTask, pluginEnv, pluginStdin, portmapRuntimeConfig, resultAddresses } from '../../src/agent/containers/core/cni-config.ts';
import { healthEndpoints } from '../../src/agent/core/health-endpoints.ts';
import { ociRuntimeSpec } from '../../src/agent/containers/core/oci-spec.ts';
import type { TaskLaunch } from '../../src/shared/agent-protocol.ts';

test('cni: bridge names are per agent, within Linux\'s 15 characters', () => {
  const a = agentTag('/var/lib/corral/agent-1');
  const b = agentTag('/var/lib/corral/agent-2');
  assert.notEqual(a, b);
  assert.equal(agentTag('/var/lib/corral/agent-1'), a, 'the same work dir, the same names (a restarted agent finds its bridge)');
  for (const name of [bridgeNameOf(a), bridgeNameOf(a, 0), bridgeNameOf(a, 12)]) assert.ok(name.length <= 15, name);
  assert.notEqual(bridgeNameOf(a), bridgeNameOf(a, 0));
  assert.match(defaultBridgeSubnet(a), /^172\.(1[89]|2\d|3[01])\.\d{1,3}\.0\/24$/);
  const subnets = new Set(Array.from({ length: 200 }, (_, i) => defaultBridgeSubnet(agentTag(`/tmp/agent-${i}`))));
  assert.ok(subnets.size >= 190, `200 work dirs, ${subnets.size} subnets: rarely the same`);
});

test('cni: namespace names fit a file name', () => {
  assert.equal(netnsNameOf('web.1'), 'corral-web.1');
  const long = netnsNameOf('a'.repeat(300));
  assert.match(long, /^corral-[0-9a-f]{64}$/);
  assert.equal(netnsNameOf('a'.repeat(300)), long, 'the same for the same id');
});

test('cni: subnets and --container-networks', async (t) => {
  const cases: Array<{ name: string; bridgeSubnet: string; containerNetworks: string[]; expected: string | Array<[string, string]> }> = [
    { name: 'defaults: the bridge only, its subnet from the tag', bridgeSubnet: '', containerNetworks: [], expected: [['bridge', '172.25.18.0/24']] },
    { name: 'a given bridge subnet and two networks', bridgeSubnet: '10.1.0.0/16', containerNetworks: ['dev=10.2.0.0/24', 'prod.eu=10.3.0.0/24'], expected: [['bridge', '10.1.0.0/16'], ['dev', '10.2.0.0/24'], ['prod.eu', '10.3.0.0/24']] },
    { name: 'a bad bridge subnet', bridgeSubnet: '10.1.0.0', containerNetworks: [], expected: '--bridge-subnet: "10.1.0.0" is not an IPv4 subnet (a.b.c.d/n)' },
    { name: 'no =', bridgeSubnet: '', containerNetworks: ['dev'], expected: '--container-networks: "dev" is not name=subnet (a name of letters, digits, _ . -)' },
    { name: 'a bad name', bridgeSubnet: '', containerNetworks: ['de v=10.2.0.0/24'], expected: '--container-networks: "de v=10.2.0.0/24" is not name=subnet (a name of letters, digits, _ . -)' },
    { name: 'an octet out of range', bridgeSubnet: '', containerNetworks: ['dev=10.2.300.0/24'], expected: '--container-networks: 10.2.300.0/24: an octet is above 255' },
    { name: 'a prefix too long', bridgeSubnet: '', containerNetworks: ['dev=10.2.0.0/31'], expected: '--container-networks: 10.2.0.0/31: the prefix must be from /8 to /30' },
    { name: 'a name twice', bridgeSubnet: '', containerNetworks: ['dev=10.2.0.0/24', 'dev=10.3.0.0/24'], expected: '--container-networks: dev is given twice' },
    { name: 'a subnet twice', bridgeSubnet: '10.2.0.0/24', containerNetworks: ['dev=10.2.0.0/24'], expected: '--container-networks: dev has the subnet 10.2.0.0/24 of another network' },
  ];
  const tag = 'abcd1234';
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = agentNetworks(tag, c);
      if (typeof c.expected === 'string') return assert.deepEqual(result, { ok: false, reason: c.expected });
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepEqual(result.networks.map((n) => [n.name, n.subnet]), c.expected);
      assert.deepEqual(result.networks.map((n) => n.bridge), ['cbabcd1234', 'cn0abcd1234', 'cn1abcd1234'].slice(0, c.expected.length));
    });
  }
  assert.equal(checkSubnet('192.168.1.0/24'), undefined);
});

test('cni: a task joins the bridge or its named network', () => {
  const result = agentNetworks('t', { bridgeSubnet: '10.1.0.0/24', containerNetworks: ['dev=10.2.0.0/24'] });
  assert.ok(result.ok);
  assert.equal(networkOfTask(result.networks, { mode: 'container/bridge', portMappings: [] })?.name, 'bridge');
  assert.equal(networkOfTask(result.networks, { mode: 'container', name: 'dev', portMappings: [] })?.name, 'dev');
  assert.equal(networkOfTask(result.networks, { mode: 'container', name: 'bridge', portMappings: [] }), undefined, 'the bridge is no container network');
  assert.equal(networkOfTask(result.networks, { mode: 'container', name: 'prod', portMappings: [] }), undefined);
});

test('cni: the network list, what each plugin reads, and the result', () => {
  const network = { name: 'bridge', bridge: 'cbabcd1234', subnet: '10.1.0.0/24' };
  const list = cniNetworkList(network, '/w/cni/ipam', true);
  assert.deepEqual(list, {
    cniVersion: '1.0.0',
    name: 'corral-cbabcd1234',
    plugins: [
      { type: 'bridge', bridge: 'cbabcd1234', isGateway: true, ipMasq: true, hairpinMode: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: '/w/cni/ipam' } },
      { type: 'portmap', snat: true, capabilities: { portMappings: true } },
    ],
  });
  assert.equal(cniNetworkList(network, '/w/cni/ipam', false).plugins.length, 1, 'no portmap without host ports');
  const runtime = portmapRuntimeConfig({ mode: 'container/bridge', portMappings: [{ containerPort: 8080, hostPort: 31000, protocol: 'tcp' }, { containerPort: 53, hostPort: 31001, protocol: 'udp,tcp' }, { containerPort: 80, protocol: 'tcp' }] });
  assert.deepEqual(runtime, { portMappings: [{ hostPort: 31000, containerPort: 8080, protocol: 'tcp' }, { hostPort: 31001, containerPort: 53, protocol: 'udp' }, { hostPort: 31001, containerPort: 53, protocol: 'tcp' }] });
  const prev = { cniVersion: '1.0.0', ips: [{ address: '10.1.0.5/24', gateway: '10.1.0.1' }] };
  assert.deepEqual(JSON.parse(pluginStdin(list, 0, runtime)), { ...list.plugins[0], cniVersion: '1.0.0', name: 'corral-cbabcd1234' }, 'bridge declares no capability: no runtimeConfig');
  assert.deepEqual(JSON.parse(pluginStdin(list, 1, runtime, prev)), { ...list.plugins[1], cniVersion: '1.0.0', name: 'corral-cbabcd1234', runtimeConfig: runtime, prevResult: prev });
  assert.deepEqual(resultAddresses(prev), ['10.1.0.5']);
  assert.deepEqual(resultAddresses(undefined), []);
  assert.deepEqual(pluginEnv('DEL', 'web.1', '/run/netns/corral-web.1', '/usr/lib/cni'), { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'web.1', CNI_NETNS: '/run/netns/corral-web.1', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' });
});

test('cni: the container joins its namespace; without one it keeps the host network', () => {
  const input = { process: { args: ['sh'], env: [], cwd: '/' }, user: { uid: 0, gid: 0 }, rootfs: 'rootfs', sandbox: '/s', hostname: 'h', agentCapabilities: [] };
  const namespaces = (spec: Record<string, unknown>): unknown => (spec.linux as { namespaces: unknown }).namespaces;
  assert.deepEqual(namespaces(ociRuntimeSpec({ ...input, netns: '/run/netns/corral-x' })), [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }, { type: 'network', path: '/run/netns/corral-x' }]);
  assert.deepEqual(namespaces(ociRuntimeSpec(input)), [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }]);
});

test('health checks reach host ports on the agent; a container network port without one at the task address', () => {
  const launch = (network: NonNullable<TaskLaunch['container']>['network'] | undefined, ports: number[]): TaskLaunch => ({
    taskId: 't', appId: '/a', version: 'v', env: {}, labels: {}, ports, portNames: [], cpus: 1, mem: 1, disk: 0, killGracePeriodMs: 1, fetch: [], healthChecks: [],
    container: { image: 'busybox', forcePull: false, ...(network !== undefined ? { network } : {}) },
  });
  assert.deepEqual(healthEndpoints(launch(undefined, [31000]), '127.0.0.11', undefined), { host: '127.0.0.11', ports: [31000] });
  assert.deepEqual(healthEndpoints(launch({ mode: 'container/bridge', portMappings: [{ containerPort: 8080, hostPort: 31000, protocol: 'tcp' }] }, [31000]), '127.0.0.11', ['172.29.1.2']), { host: '127.0.0.11', ports: [31000] });
  assert.deepEqual(
    healthEndpoints(launch({ mode: 'container', name: 'dev', portMappings: [{ containerPort: 80, protocol: 'tcp' }, { containerPort: 81, hostPort: 31005, protocol: 'tcp' }] }, [31005]), '127.0.0.11', ['10.2.0.7']),
    { host: '127.0.0.11', ports: [80, 31005], hosts: ['10.2.0.7', '127.0.0.11'] },
  );
});
