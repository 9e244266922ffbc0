import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../src/scheduler/core/app-definition.ts';
import { networkNeed, taskNetwork } from '../../src/scheduler/core/app-networks.ts';
import { applyStatus } from '../../src/scheduler/core/agent-status.ts';
import { appDefinitionJson, discoveryApp, discoveryTask, taskJson } from '../../src/scheduler/core/marathon-json.ts';
import { buildMesosState } from '../../src/scheduler/core/mesos-state.ts';
import { applyOps } from '../../src/scheduler/core/state-ops.ts';
import type { TaskStatusUpdate } from '../../src/shared/agent-protocol.ts';
import { indexInstances, place, type LaunchRequest } from '../../src/scheduler/core/placement.ts';
import type { AppDefinition, Instance } from '../../src/scheduler/types.ts';
import { agent, app, assertRefusals, instance, NOW, state, type RefusalCase } from '../support/scheduler-fixtures.ts';

const IMAGE = { type: 'DOCKER', docker: { image: 'busybox' } };
const build = (fields: Record<string, unknown>, apps: ReadonlyMap<string, AppDefinition> = new Map()) => buildApp({ id: '/n', ...fields }, { now: NOW, apps });

test('app networks: the accepted forms, normalised to Marathon 1.5 (networks + container.portMappings)', async (t) => {
  const cases: Array<{ name: string; fields: Record<string, unknown>; networks: unknown; mappings: unknown }> = [
    { name: 'no networks: the host, no mappings', fields: { cmd: 'x' }, networks: undefined, mappings: undefined },
    { name: '1.5 host written out', fields: { cmd: 'x', networks: [{ mode: 'host' }] }, networks: undefined, mappings: undefined },
    {
      name: '1.5 bridge: hostPort defaults to 0 (any), servicePort assigned, protocol tcp',
      fields: { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 8080 }] } },
      networks: [{ mode: 'container/bridge' }], mappings: [{ containerPort: 8080, hostPort: 0, servicePort: 10000, protocol: 'tcp' }],
    },
    {
      name: '1.4 BRIDGE with docker.portMappings, names, labels, a fixed host port and udp,tcp',
      fields: { container: { type: 'DOCKER', docker: { image: 'busybox', network: 'BRIDGE', portMappings: [{ containerPort: 53, hostPort: 31053, servicePort: 10053, protocol: 'udp,tcp', name: 'dns', labels: { VIP_0: '/dns:53' } }, { containerPort: 80, name: 'http' }] } } },
      networks: [{ mode: 'container/bridge' }],
      mappings: [{ containerPort: 53, hostPort: 31053, servicePort: 10053, protocol: 'udp,tcp', name: 'dns', labels: { VIP_0: '/dns:53' } }, { containerPort: 80, hostPort: 0, servicePort: 10000, protocol: 'tcp', name: 'http' }],
    },
    {
      name: '1.5 container network: no hostPort means none',
      fields: { networks: [{ mode: 'container', name: 'dev' }], container: { ...IMAGE, portMappings: [{ containerPort: 80 }, { containerPort: 81, hostPort: 0 }] } },
      networks: [{ mode: 'container', name: 'dev' }], mappings: [{ containerPort: 80, servicePort: 10000, protocol: 'tcp' }, { containerPort: 81, hostPort: 0, servicePort: 10001, protocol: 'tcp' }],
    },
    {
      name: '1.5 network without a mode is a container network',
      fields: { networks: [{ name: 'dev' }], container: IMAGE },
      networks: [{ mode: 'container', name: 'dev' }], mappings: [],
    },
    {
      name: '1.4 USER with ipAddress.networkName',
      fields: { ipAddress: { networkName: 'dev', groups: [], labels: {} }, container: { type: 'DOCKER', docker: { image: 'busybox', network: 'USER' } } },
      networks: [{ mode: 'container', name: 'dev' }], mappings: [],
    },
    { name: '1.4 HOST', fields: { container: { type: 'DOCKER', docker: { image: 'busybox', network: 'HOST' } } }, networks: undefined, mappings: undefined },
    {
      name: 'a Marathon 1.5 export put back (networks, mappings, empty portDefinitions, docker.network beside)',
      fields: { networks: [{ mode: 'container/bridge' }], portDefinitions: [], container: { type: 'DOCKER', portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 10100, protocol: 'tcp' }], docker: { image: 'busybox', network: 'BRIDGE', portMappings: [] } } },
      networks: [{ mode: 'container/bridge' }], mappings: [{ containerPort: 80, hostPort: 0, servicePort: 10100, protocol: 'tcp' }],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = build(c.fields);
      assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.details));
      assert.deepEqual(result.app.networks, c.networks);
      assert.deepEqual(result.app.container?.portMappings, c.mappings);
      const json = appDefinitionJson(result.app);
      assert.deepEqual(json.networks, c.networks ?? [{ mode: 'host' }]);
      if (c.networks !== undefined) {
        assert.deepEqual(json.portDefinitions, []);
        assert.deepEqual(discoveryApp(result.app).container, { portMappings: c.mappings });
        assert.deepEqual(discoveryApp(result.app).networks, c.networks);
      } else {
        assert.equal(discoveryApp(result.app).networks, undefined);
      }
    });
  }
});

test('app networks: what is refused, at its path', async (t) => {
  const cases: RefusalCase[] = [
    { name: 'a bridge without an image', fields: { cmd: 'x', networks: [{ mode: 'container/bridge' }] }, path: '/networks/0/mode', error: /needs a container with an image/ },
    { name: 'a container network without a name', fields: { networks: [{ mode: 'container' }], container: IMAGE }, path: '/networks/0/name', error: /needs the name/ },
    { name: 'two networks', fields: { networks: [{ mode: 'container', name: 'a' }, { mode: 'container', name: 'b' }], container: IMAGE }, path: '/networks', error: /one network per app/ },
    { name: 'portDefinitions with a bridge', fields: { networks: [{ mode: 'container/bridge' }], portDefinitions: [{ port: 0 }], container: IMAGE }, path: '/portDefinitions', error: /must be empty/ },
    { name: 'ports with a bridge', fields: { ports: [0], container: { type: 'DOCKER', docker: { image: 'busybox', network: 'BRIDGE' } } }, path: '/ports', error: /must be empty/ },
    { name: 'mappings on the host network', fields: { container: { ...IMAGE, portMappings: [{ containerPort: 80 }] } }, path: '/container/portMappings', error: /need a container\/bridge or container network/ },
    { name: 'mappings on the host network (1.4 place)', fields: { container: { type: 'DOCKER', docker: { image: 'busybox', portMappings: [{ containerPort: 80 }] } } }, path: '/container/docker/portMappings', error: /need a container\/bridge or container network/ },
    { name: 'mappings in both places', fields: { networks: [{ mode: 'container/bridge' }], container: { type: 'DOCKER', portMappings: [{ containerPort: 80 }], docker: { image: 'busybox', portMappings: [{ containerPort: 81 }] } } }, path: '/container/docker/portMappings', error: /not both/ },
    { name: 'an unknown docker.network', fields: { container: { type: 'DOCKER', docker: { image: 'busybox', network: 'NONE' } } }, path: '/container/docker/network', error: /HOST, BRIDGE or USER/ },
    { name: 'USER without a network name', fields: { container: { type: 'DOCKER', docker: { image: 'busybox', network: 'USER' } } }, path: '/ipAddress/networkName', error: /needs ipAddress.networkName/ },
    { name: 'docker.network contradicting networks', fields: { networks: [{ mode: 'container/bridge' }], container: { type: 'DOCKER', docker: { image: 'busybox', network: 'HOST' } } }, path: '/container/docker/network', error: /contradicts/ },
    { name: 'a containerPort out of range', fields: { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 70000 }] } }, path: '/container/portMappings/0/containerPort', error: /0 to 65535/ },
    { name: 'containerPort 0 with no host port (container network)', fields: { networks: [{ mode: 'container', name: 'dev' }], container: { ...IMAGE, portMappings: [{ containerPort: 0 }] } }, path: '/container/portMappings/0/containerPort', error: /needs a hostPort/ },
    { name: 'a hostPort that is not a port', fields: { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 80, hostPort: -1 }] } }, path: '/container/portMappings/0/hostPort', error: /0 to 65535/ },
    { name: 'a bad protocol', fields: { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 80, protocol: 'sctp' }] } }, path: '/container/portMappings/0/protocol', error: /tcp, udp or udp,tcp/ },
    { name: 'a bad name', fields: { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 80, name: 'Web' }] } }, path: '/container/portMappings/0/name', error: /\^\[a-z0-9-\]\+\$/ },
    { name: 'names repeated', fields: { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 80, name: 'web' }, { containerPort: 81, name: 'web' }] } }, path: '/container/portMappings/1/name', error: /Port names must be unique/ },
    { name: 'labels not strings', fields: { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 80, labels: { a: 1 } }] } }, path: '/container/portMappings/0/labels', error: /object of strings/ },
    { name: 'an unknown mapping field', fields: { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 80, hostIp: '0.0.0.0' }] } }, path: '/container/portMappings/0/hostIp', error: /unknown field/ },
    { name: 'a health check portIndex past the mappings', fields: { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 80 }] }, healthChecks: [{ protocol: 'HTTP', portIndex: 1 }] }, path: '/healthChecks/0/portIndex', error: /1 port\(s\)/ },
    { name: 'a readiness check naming no mapping', fields: { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 80, name: 'web' }] }, readinessChecks: [{ portName: 'api' }] }, path: '/readinessChecks/0/portName', error: /named api/ },
  ];
  await assertRefusals(t, cases, build);
});

test('app networks: service ports of mappings are cluster-unique with port definitions, and kept across updates', () => {
  const other = app({ id: '/other', cmd: 'x', portDefinitions: [{ port: 10000 }] });
  const apps = new Map([[other.id, other]]);
  const bridged = { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 80 }, { containerPort: 81, servicePort: 10005 }] } };
  const first = build(bridged, apps);
  assert.ok(first.ok, JSON.stringify(first.ok ? '' : first.details));
  assert.deepEqual(first.app.container?.portMappings?.map((m) => m.servicePort), [10001, 10005]);
  apps.set(first.app.id, first.app);
  const again = build(bridged, apps);
  assert.ok(again.ok);
  assert.deepEqual(again.app.container?.portMappings?.map((m) => m.servicePort), [10001, 10005]);
  const clash = build({ id: '/third', ...bridged, container: { ...IMAGE, portMappings: [{ containerPort: 80, servicePort: 10005 }] } }, apps);
  assert.equal(clash.ok, false);
  assert.deepEqual(clash.ok ? undefined : clash.details[0]?.path, '/container/portMappings/0/servicePort');
  // A host-network app sees the mappings' service ports as taken too.
  const host = build({ id: '/fourth', cmd: 'x', portDefinitions: [{ port: 0 }, { port: 0 }] }, apps);
  assert.ok(host.ok);
  assert.deepEqual(host.app.portDefinitions.map((p) => p.port), [10002, 10003]);
});

test('app networks: a network change is a new configuration', () => {
  const host = build({ container: IMAGE });
  assert.ok(host.ok);
  const bridged = build({ networks: [{ mode: 'container/bridge' }], container: IMAGE }, new Map([[host.app.id, { ...host.app, version: '2025-01-01T00:00:00.000Z', versionInfo: { lastScalingAt: 'x', lastConfigChangeAt: 'old' } }]]));
  assert.ok(bridged.ok);
  assert.notEqual(bridged.app.versionInfo.lastConfigChangeAt, 'old');
});

test('app networks: the agent capability each network needs', () => {
  assert.deepEqual(networkNeed([{ mode: 'container/bridge' }]), { capability: 'network:bridge', refusal: 'no bridge network (CNI plugins)' });
  assert.deepEqual(networkNeed([{ mode: 'container', name: 'dev' }]), { capability: 'container-network:dev', refusal: 'no container network dev (--container-networks)' });
});

test('app networks: the launch pairs placed host ports with the mappings that have one; containerPort 0 is the host port', () => {
  const cases: Array<{ name: string; networks: Parameters<typeof taskNetwork>[0]; mappings: Parameters<typeof taskNetwork>[1]; hostPorts: number[]; expected: ReturnType<typeof taskNetwork> }> = [
    {
      name: 'bridge',
      networks: [{ mode: 'container/bridge' }],
      mappings: [{ containerPort: 8080, hostPort: 0, servicePort: 10000, protocol: 'tcp' }, { containerPort: 0, hostPort: 0, servicePort: 10001, protocol: 'udp' }],
      hostPorts: [31000, 31001],
      expected: { mode: 'container/bridge', portMappings: [{ containerPort: 8080, hostPort: 31000, protocol: 'tcp' }, { containerPort: 31001, hostPort: 31001, protocol: 'udp' }] },
    },
    {
      name: 'container network, one mapping without host port',
      networks: [{ mode: 'container', name: 'dev' }],
      mappings: [{ containerPort: 80, servicePort: 10000, protocol: 'tcp' }, { containerPort: 81, hostPort: 31005, servicePort: 10001, protocol: 'tcp' }],
      hostPorts: [31005],
      expected: { mode: 'container', name: 'dev', portMappings: [{ containerPort: 80, protocol: 'tcp' }, { containerPort: 81, hostPort: 31005, protocol: 'tcp' }] },
    },
  ];
  for (const c of cases) assert.deepEqual(taskNetwork(c.networks, c.mappings, c.hostPorts), c.expected, c.name);
});

test('placement: port mappings get their host ports, and agents without the network are named', async (t) => {
  const request = (fields: Partial<LaunchRequest>): LaunchRequest => ({ appId: '/web', count: 1, cpus: 0.1, mem: 16, disk: 0, portCount: 0, roles: ['*'], ...fields });
  const bridge = { capability: 'network:bridge', refusal: 'no bridge network (CNI plugins)' };
  const withBridge = (id: string, resources?: string) => ({ ...agent(id, resources), capabilities: ['images', 'network:bridge'] });
  const cases: Array<{ name: string; requests: LaunchRequest[]; agents: ReturnType<typeof agent>[]; placed: Array<[string, number[]]>; unplaced?: string }> = [
    { name: 'hostPort 0 takes offered ports in mapping order', requests: [request({ hostPorts: [0, 0], network: bridge })], agents: [withBridge('a')], placed: [['a', [31000, 31001]]] },
    { name: 'a fixed hostPort is that one; 0s skip it', requests: [request({ hostPorts: [0, 31000, 0], network: bridge })], agents: [withBridge('a')], placed: [['a', [31001, 31000, 31002]]] },
    { name: 'no mapping with a host port: none', requests: [request({ hostPorts: [], network: bridge })], agents: [withBridge('a')], placed: [['a', []]] },
    { name: 'a fixed hostPort taken by an earlier instance: waits for ports', requests: [request({ count: 2, hostPorts: [31005], network: bridge })], agents: [withBridge('a')], placed: [['a', [31005]]], unplaced: 'insufficient ports on 1 of 1 agents' },
    { name: 'a fixed hostPort outside the offered ranges', requests: [request({ hostPorts: [8080], network: bridge })], agents: [withBridge('a')], placed: [], unplaced: 'insufficient ports on 1 of 1 agents' },
    { name: 'the same fixed hostPort twice', requests: [request({ hostPorts: [31001, 31001], network: bridge })], agents: [withBridge('a')], placed: [], unplaced: 'insufficient ports on 1 of 1 agents' },
    { name: 'zeros spill into the next range', requests: [request({ hostPorts: [0, 0, 0], network: bridge })], agents: [withBridge('a', 'cpus:4;mem:4096;ports:[31000-31001,32000-32005]')], placed: [['a', [31000, 31001, 32000]]] },
    { name: 'too few offered ports', requests: [request({ hostPorts: [0, 0, 0], network: bridge })], agents: [withBridge('a', 'cpus:4;mem:4096;ports:[31000-31001]')], placed: [], unplaced: 'insufficient ports on 1 of 1 agents' },
    { name: 'no agent with the bridge: waits, saying why', requests: [request({ hostPorts: [0], network: bridge })], agents: [{ ...agent('a'), capabilities: ['images'] }, agent('b')], placed: [], unplaced: 'no bridge network (CNI plugins) on 2 of 2 agents' },
    {
      name: 'a named container network only where declared',
      requests: [request({ hostPorts: [], network: { capability: 'container-network:dev', refusal: 'no container network dev (--container-networks)' } })],
      agents: [withBridge('a'), { ...agent('b'), capabilities: ['images', 'container-network:dev'] }],
      placed: [['b', []]],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = place(c.requests, c.agents, indexInstances([]));
      assert.deepEqual(result.placements.map((p) => [p.agentId, p.ports]), c.placed);
      assert.equal(result.unplaced[0]?.reason, c.unplaced);
    });
  }
});

test('task IPs: the agent reports them with TASK_RUNNING; tasks, events and /master/state show them, host-network tasks the agent address', () => {
  const bridged = app({ id: '/b', cmd: undefined, networks: [{ mode: 'container', name: 'dev' }], container: { ...IMAGE, portMappings: [{ containerPort: 80, name: 'web', labels: { x: 'y' } }, { containerPort: 81, hostPort: 0 }] } });
  const host = app({ id: '/h' });
  const cluster = state({
    apps: [bridged, host],
    agents: [agent('a', 'cpus:4;mem:4096;ports:[31000-31009]', '127.0.0.1')],
    instances: [instance('b1', bridged, 'a', { state: 'TASK_STARTING', host: '127.0.0.1', ports: [31002] }), instance('h1', host, 'a', { host: '127.0.0.1', ports: [31000], startedAt: NOW })],
  });
  const update: TaskStatusUpdate = { uuid: 'u1', taskId: 'b1', state: 'TASK_RUNNING', message: '', timestamp: NOW, ipAddresses: ['10.88.0.5'] };
  const change = applyStatus(cluster, 'a', update, NOW);
  const event = change.events.find((e) => e.eventType === 'status_update_event');
  assert.deepEqual(event?.eventType === 'status_update_event' ? event.ipAddresses : undefined, [{ ipAddress: '10.88.0.5', protocol: 'IPv4' }]);
  const after = applyOps(cluster, change.ops);
  const b1 = after.instances.get('b1') as Instance;
  assert.deepEqual(b1.ipAddresses, ['10.88.0.5']);
  assert.deepEqual(taskJson(b1, bridged).ipAddresses, [{ ipAddress: '10.88.0.5', protocol: 'IPv4' }]);
  assert.deepEqual(taskJson(b1, bridged).servicePorts, bridged.container?.portMappings?.map((m) => m.servicePort));
  assert.deepEqual(discoveryTask(b1, bridged).ipAddresses, [{ ipAddress: '10.88.0.5', protocol: 'IPv4' }]);
  assert.deepEqual(taskJson(after.instances.get('h1') as Instance, host).ipAddresses, [{ ipAddress: '127.0.0.1', protocol: 'IPv4' }]);
  const mesos = buildMesosState(after, { advertised: '127.0.0.1:8080', connectedAgents: new Set(['a']), startedAt: NOW });
  const tasks = mesos.frameworks[0]?.tasks ?? [];
  const mesosB1 = tasks.find((t) => t.id === 'b1');
  assert.deepEqual(mesosB1?.statuses.at(-1)?.container_status, { network_infos: [{ ip_addresses: [{ ip_address: '10.88.0.5' }] }] });
  // COMPAT(marathon): container ports for mappings without a host port, host ports for the others, scoped by label.
  assert.deepEqual(mesosB1?.discovery.ports.ports, [
    { number: 80, name: 'web', protocol: 'tcp', labels: { labels: [{ key: 'x', value: 'y' }, { key: 'network-scope', value: 'container' }] } },
    { number: 31002, protocol: 'tcp', labels: { labels: [{ key: 'network-scope', value: 'host' }] } },
  ]);
  assert.deepEqual(tasks.find((t) => t.id === 'h1')?.statuses.at(-1)?.container_status, { network_infos: [{ ip_addresses: [{ ip_address: '127.0.0.1' }] }] });
});
