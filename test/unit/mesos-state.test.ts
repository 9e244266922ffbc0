import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CompletedTask } from '../../src/scheduler/core/completed-tasks.ts';
import { buildMesosState, formatPortRanges, formatRanges, type MesosStateOptions } from '../../src/scheduler/core/mesos-state.ts';
import { marathonTaskName } from '../../src/shared/marathon-names.ts';
import type { HealthResult } from '../../src/shared/agent-protocol.ts';
import type { ClusterState } from '../../src/scheduler/types.ts';
import { MESOS_DNS_NAMES } from '../support/dns-mesos-names.ts';
import { NOW, agent, app, instance, state } from '../support/scheduler-fixtures.ts';

const CLUSTER = '5f2b1c1e-0000-4000-8000-000000000001';
const STARTED = '2026-01-01T00:00:01.250Z';
const RAN = '2026-01-01T00:00:02.500Z';
const alive: HealthResult = { alive: true, consecutiveFailures: 0, firstSuccess: RAN, lastSuccess: RAN, lastFailure: null, lastFailureCause: null };

/** One app with named and unnamed ports, one with a health check; tasks in every bucket Mesos shows. */
function cluster(): ClusterState {
  const api = app({
    id: '/prod/backend/api',
    cpus: 0.1,
    mem: 32,
    labels: { HAPROXY_GROUP: 'external' },
    portDefinitions: [{ port: 10001, name: 'http', protocol: 'tcp', labels: { VIP_0: '/api:80' } }, { port: 10002, protocol: 'udp,tcp' }],
  });
  const web = app({ id: '/web', cpus: 0.2, mem: 64, portDefinitions: [{ port: 10003, protocol: 'tcp' }], healthChecks: [{ protocol: 'TCP' }] });
  const s1 = { ...agent(`${CLUSTER}-S1`, 'cpus:4;mem:4096;ports:[31000-31009,31020-31029]', '10.0.0.11'), hostname: 'node-1', endpoint: 'http://10.0.0.11:5051', attributes: { rack: 'r1', zone: 3 } };
  const s2 = { ...agent(`${CLUSTER}-S2`, 'cpus:2;mem:1024', '10.0.0.12'), hostname: 'node-2', endpoint: 'http://0.0.0.0:45001', draining: true, unreachableSince: RAN };
  const base = state({
    apps: [api, web],
    agents: [s1, s2],
    instances: [
      instance('prod_backend_api.a1', api, s1.id, { host: s1.ip, ports: [31005, 31000], startedAt: STARTED }),
      instance('prod_backend_api.a2', api, s2.id, { host: s2.ip, ports: [31001, 31002], state: 'TASK_STAGING' }),
      instance('web.w1', web, s1.id, { host: s1.ip, ports: [31006], startedAt: RAN, healthResults: [alive] }),
      instance('web.w2', web, s2.id, { host: s2.ip, ports: [31007], startedAt: STARTED, state: 'TASK_KILLED', goal: 'stopped' }),
      instance('web.w3', web, s2.id, { host: s2.ip, ports: [31008], startedAt: STARTED, state: 'TASK_UNREACHABLE', unreachableSince: RAN }),
    ],
  });
  return { ...base, meta: new Map([['clusterId', CLUSTER]]) };
}

const netinfo = (ip: string) => ({ network_infos: [{ ip_addresses: [{ ip_address: ip }] }] });
const SECONDS_STARTED = 1767225601.25;
const SECONDS_RAN = 1767225602.5;
const SECONDS_NOW = 1767225600;

const ENDED = '2026-01-01T00:00:03.000Z';
const SECONDS_ENDED = 1767225603;
const BUILD = { version: '0.1.0', build_date: '', build_time: 0, build_user: '' };

/** A task that ended earlier and is gone from the state: the in-memory history holds it. */
function history(): CompletedTask[] {
  const { apps, agents } = cluster();
  const web = apps.get('/web');
  assert.ok(web !== undefined);
  const ended = instance('web.w0', web, `${CLUSTER}-S1`, { host: '10.0.0.11', ports: [31009], startedAt: STARTED, state: 'TASK_FAILED', message: 'exited 1' });
  assert.ok(agents.has(ended.agentId));
  return [{ instance: ended, endedAt: ENDED }];
}

const OPTIONS = (): MesosStateOptions => ({ advertised: '127.0.0.1:8080', connectedAgents: new Set([`${CLUSTER}-S1`]), startedAt: STARTED, completedTasks: history(), build: BUILD, flags: { listen: '127.0.0.1:8080' } });

test('mesos state: golden, the fields Mesos-DNS reads and Mesos shows', () => {
  const built = buildMesosState(cluster(), OPTIONS());
  const framework = built.frameworks[0];
  assert.ok(framework !== undefined);
  assert.deepEqual({ ...built, slaves: undefined, frameworks: undefined }, {
    ...BUILD,
    id: CLUSTER,
    pid: 'master@127.0.0.1:8080',
    hostname: '127.0.0.1',
    leader: 'master@127.0.0.1:8080',
    // 127.0.0.1 in network byte order read as a little-endian uint32, as Mesos stores it.
    leader_info: { id: CLUSTER, pid: 'master@127.0.0.1:8080', hostname: '127.0.0.1', port: 8080, ip: 16777343, address: { hostname: '127.0.0.1', ip: '127.0.0.1', port: 8080 } },
    start_time: SECONDS_STARTED,
    elected_time: SECONDS_STARTED,
    activated_slaves: 1,
    deactivated_slaves: 1,
    unreachable_slaves: 1,
    capabilities: [],
    flags: { listen: '127.0.0.1:8080' },
    slaves: undefined,
    frameworks: undefined,
    completed_frameworks: [],
    unregistered_frameworks: [],
    orphan_tasks: [],
  });
  assert.deepEqual(built.slaves, [
    {
      id: `${CLUSTER}-S1`,
      pid: 'slave(1)@10.0.0.11:5051',
      hostname: 'node-1',
      port: 5051,
      attributes: { rack: 'r1', zone: 3 },
      resources: { cpus: 4, gpus: 0, mem: 4096, disk: 0, ports: '[31000-31009, 31020-31029]' },
      used_resources: { cpus: 0.3, gpus: 0, mem: 96, disk: 0, ports: '[31000-31000, 31005-31006]' },
      reserved_resources: {},
      registered_time: SECONDS_NOW,
      active: true,
      deactivated: false,
    },
    {
      // The pid names the agent's IP, not the wildcard its HTTP listener bound.
      id: `${CLUSTER}-S2`,
      pid: 'slave(1)@10.0.0.12:45001',
      hostname: 'node-2',
      port: 45001,
      attributes: {},
      resources: { cpus: 2, gpus: 0, mem: 1024, disk: 0 },
      used_resources: { cpus: 0.1, gpus: 0, mem: 32, disk: 0, ports: '[31001-31002]' },
      reserved_resources: {},
      registered_time: SECONDS_NOW,
      active: false,
      deactivated: true,
    },
  ]);
  assert.deepEqual({ ...framework, tasks: undefined, unreachable_tasks: undefined, completed_tasks: undefined }, {
    id: CLUSTER,
    name: 'marathon',
    pid: 'scheduler(1)@127.0.0.1:8080',
    hostname: '127.0.0.1',
    webui_url: 'http://127.0.0.1:8080',
    user: 'root',
    role: '*',
    active: true,
    connected: true,
    recovered: false,
    checkpoint: true,
    failover_timeout: 604800,
    registered_time: SECONDS_STARTED,
    capabilities: ['PARTITION_AWARE', 'TASK_KILLING_STATE'],
    used_resources: { cpus: 0.4, gpus: 0, mem: 128, disk: 0, ports: '[31000-31002, 31005-31006]' },
    resources: { cpus: 0.4, gpus: 0, mem: 128, disk: 0, ports: '[31000-31002, 31005-31006]' },
    offered_resources: { cpus: 0, gpus: 0, mem: 0, disk: 0 },
    tasks: undefined,
    unreachable_tasks: undefined,
    completed_tasks: undefined,
    offers: [],
    executors: [],
  });
  const apiDiscovery = (ports: [number, number]) => ({
    visibility: 'FRAMEWORK',
    name: 'api.backend.prod',
    ports: {
      ports: [
        { number: ports[0], name: 'http', protocol: 'tcp', labels: { labels: [{ key: 'VIP_0', value: '/api:80' }] } },
        { number: ports[1], protocol: 'udp' },
        { number: ports[1], protocol: 'tcp' },
      ],
    },
  });
  const webTask = (id: string, slave: string, port: number, state: string, statuses: unknown[]) => ({
    id, name: 'web', framework_id: CLUSTER, executor_id: '', slave_id: slave, state,
    resources: { cpus: 0.2, gpus: 0, mem: 64, disk: 0, ports: `[${port}-${port}]` },
    role: '*', statuses, labels: [],
    discovery: { visibility: 'FRAMEWORK', name: 'web', ports: { ports: [{ number: port, protocol: 'tcp' }] } },
  });
  assert.deepEqual(framework.tasks, [
    {
      id: 'prod_backend_api.a1',
      name: 'api.backend.prod',
      framework_id: CLUSTER,
      executor_id: '',
      slave_id: `${CLUSTER}-S1`,
      state: 'TASK_RUNNING',
      // Sorted and merged like Mesos' ranges, whatever the order of the task's ports.
      resources: { cpus: 0.1, gpus: 0, mem: 32, disk: 0, ports: '[31000-31000, 31005-31005]' },
      role: '*',
      statuses: [{ state: 'TASK_RUNNING', timestamp: SECONDS_STARTED, container_status: netinfo('10.0.0.11') }],
      labels: [{ key: 'HAPROXY_GROUP', value: 'external' }],
      discovery: apiDiscovery([31005, 31000]),
    },
    {
      id: 'prod_backend_api.a2',
      name: 'api.backend.prod',
      framework_id: CLUSTER,
      executor_id: '',
      slave_id: `${CLUSTER}-S2`,
      state: 'TASK_STAGING',
      resources: { cpus: 0.1, gpus: 0, mem: 32, disk: 0, ports: '[31001-31002]' },
      role: '*',
      statuses: [],
      labels: [{ key: 'HAPROXY_GROUP', value: 'external' }],
      discovery: apiDiscovery([31001, 31002]),
    },
    webTask('web.w1', `${CLUSTER}-S1`, 31006, 'TASK_RUNNING', [{ state: 'TASK_RUNNING', timestamp: SECONDS_RAN, container_status: netinfo('10.0.0.11'), healthy: true }]),
  ]);
  assert.deepEqual(framework.completed_tasks, [
    webTask('web.w2', `${CLUSTER}-S2`, 31007, 'TASK_KILLED', [
      { state: 'TASK_RUNNING', timestamp: SECONDS_STARTED, container_status: netinfo('10.0.0.12') },
      { state: 'TASK_KILLED', timestamp: SECONDS_STARTED, container_status: netinfo('10.0.0.12') },
    ]),
    // From the history, after what the state still holds; its end has a time of its own.
    webTask('web.w0', `${CLUSTER}-S1`, 31009, 'TASK_FAILED', [
      { state: 'TASK_RUNNING', timestamp: SECONDS_STARTED, container_status: netinfo('10.0.0.11') },
      { state: 'TASK_FAILED', timestamp: SECONDS_ENDED, container_status: netinfo('10.0.0.11') },
    ]),
  ]);
  assert.deepEqual(framework.unreachable_tasks, [
    webTask('web.w3', `${CLUSTER}-S2`, 31008, 'TASK_UNREACHABLE', [
      { state: 'TASK_RUNNING', timestamp: SECONDS_STARTED, container_status: netinfo('10.0.0.12') },
      { state: 'TASK_UNREACHABLE', timestamp: SECONDS_RAN, container_status: netinfo('10.0.0.12') },
    ]),
  ]);
  assert.equal(JSON.stringify(buildMesosState(cluster(), OPTIONS())), JSON.stringify(built), 'deterministic');
});

/** Mesos-DNS' `Resources.Ports()`: split on '[' and ']', then ',' ; trim; `lo-hi` expanded. */
function mesosDnsPorts(text: string | undefined): number[] {
  if (text === undefined || text === '' || text === '[]') return [];
  const inner = text.split('[')[1]?.split(']')[0] ?? '';
  return inner.split(',').flatMap((part) => {
    const [lo = NaN, hi = NaN] = part.trim().split('-').map(Number);
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  });
}

test('mesos state: port ranges, table (and what Mesos-DNS parses back)', async (t) => {
  const cases: Array<{ name: string; ports: number[]; text: string }> = [
    { name: 'one port', ports: [31000], text: '[31000-31000]' },
    { name: 'apart, sorted', ports: [31005, 31000], text: '[31000-31000, 31005-31005]' },
    { name: 'adjacent ports merge', ports: [31002, 31000, 31001, 31009], text: '[31000-31002, 31009-31009]' },
    { name: 'no ports', ports: [], text: '[]' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.equal(formatPortRanges(c.ports), c.text);
      assert.deepEqual(mesosDnsPorts(c.text), [...c.ports].sort((a, b) => a - b));
    });
  }
  assert.equal(formatRanges([{ begin: 31020, end: 31029 }, { begin: 31000, end: 31010 }, { begin: 31005, end: 31019 }]), '[31000-31029]', 'overlapping and adjacent ranges merge');
});

test('mesos state: task names follow the shared Mesos-DNS contract', () => {
  for (const c of MESOS_DNS_NAMES.marathonTaskNames) assert.equal(marathonTaskName(c.appId), c.taskName, c.appId);
});

test('mesos state: pids stay parseable by Mesos-DNS (name@host:port) for IPv6 and unknown endpoints', () => {
  const s = { ...state({ agents: [{ ...agent('v6', 'cpus:1;mem:1', 'fd00::7'), endpoint: 'not a url' }] }), meta: new Map([['clusterId', 'c']]) };
  const built = buildMesosState(s, { advertised: '[::1]:8080', connectedAgents: new Set(), startedAt: NOW });
  assert.equal(built.leader, 'master@[::1]:8080');
  assert.equal(built.leader_info.ip, undefined);
  assert.deepEqual(built.leader_info.address, { hostname: '::1', ip: '::1', port: 8080 });
  assert.equal(built.frameworks[0]?.pid, 'scheduler(1)@[::1]:8080');
  assert.equal(built.slaves[0]?.pid, 'slave(1)@[fd00::7]:5051');
  assert.deepEqual(built.frameworks[0]?.tasks, []);
});
