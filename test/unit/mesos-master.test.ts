import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClusterEvent, StatusUpdateEvent } from '../../src/events/types.ts';
import { CompletedTaskHistory } from '../../src/scheduler/completed-task-history.ts';
import { endedTasks, keepRecent } from '../../src/scheduler/core/completed-tasks.ts';
import { mesosFlags, mesosFrameworks, mesosMetricsSnapshot, mesosRoles, mesosSlaves, mesosStateSummary, mesosTasks } from '../../src/scheduler/core/mesos-master.ts';
import { buildMesosState, type MesosState } from '../../src/scheduler/core/mesos-state.ts';
import { agent, app, instance, state } from '../support/scheduler-fixtures.ts';

const S1 = 'c-S1';
const S2 = 'c-S2';
const web = app({ id: '/web', cpus: 0.5, mem: 64 });
const job = app({ id: '/job', cpus: 1, mem: 128 });
const T1 = '2026-01-01T00:00:01.000Z';
const T2 = '2026-01-01T00:00:02.000Z';
const T3 = '2026-01-01T00:00:03.000Z';

/** Two agents (one connected), tasks staging, running early and late, unreachable, and two from the history. */
function mesos(): MesosState {
  const s2 = { ...agent(S2, 'cpus:2;mem:1024'), unreachableSince: T2 };
  const cluster = state({
    apps: [web, job],
    agents: [agent(S1, 'cpus:4;mem:4096'), s2],
    instances: [
      instance('web.staging', web, S1, { state: 'TASK_STAGING' }),
      instance('web.early', web, S1, { startedAt: T1 }),
      instance('web.late', web, S1, { startedAt: T3, allocation: [{ name: 'cpus', role: 'batch', amount: 0.5 }] }),
      instance('job.gone', job, S2, { startedAt: T1, state: 'TASK_UNREACHABLE', unreachableSince: T2 }),
    ],
  });
  const completedTasks = [
    { instance: instance('job.failed', job, S2, { startedAt: T2, state: 'TASK_FAILED' }), endedAt: T3 },
    { instance: instance('web.killed', web, S1, { state: 'TASK_KILLED' }), endedAt: T3 },
  ];
  return buildMesosState({ ...cluster, meta: new Map([['clusterId', 'fw']]) }, { advertised: '127.0.0.1:5050', connectedAgents: new Set([S1]), startedAt: T1, completedTasks });
}

test('mesos tasks: sorted by first status, filtered, paged as Mesos does', async (t) => {
  const cases: Array<[name: string, query: Record<string, string>, ids: string[]]> = [
    // Newest first status first (web.killed never ran: its one status is its end, at T3, as web.late's start;
    // equal times keep the document's order); a task with none yet (staging) sorts as the oldest.
    ['default: newest first', {}, ['web.late', 'web.killed', 'job.failed', 'web.early', 'job.gone', 'web.staging']],
    ['asc: those without a status first', { order: 'asc' }, ['web.staging', 'web.early', 'job.gone', 'job.failed', 'web.late', 'web.killed']],
    ['limit', { limit: '2' }, ['web.late', 'web.killed']],
    ['offset and limit', { offset: '1', limit: '2' }, ['web.killed', 'job.failed']],
    ['offset past the end', { offset: '10' }, []],
    ['unparsable limit is the default', { limit: 'x', offset: '-1' }, ['web.late', 'web.killed', 'job.failed', 'web.early', 'job.gone', 'web.staging']],
    ['task_id', { task_id: 'job.gone' }, ['job.gone']],
    ['framework_id of the framework', { framework_id: 'fw', limit: '1' }, ['web.late']],
    ['another framework_id', { framework_id: 'other' }, []],
  ];
  for (const [name, query, ids] of cases) {
    await t.test(name, () => assert.deepEqual(mesosTasks(mesos(), query).tasks.map((task) => task.id), ids));
  }
  await t.test('paged after what the caller may see', () => {
    assert.deepEqual(mesosTasks(mesos(), { limit: '2' }, (id) => id.startsWith('job.')).tasks.map((task) => task.id), ['job.failed', 'job.gone']);
  });
});

test('mesos slaves, frameworks: views of the state document', () => {
  const doc = mesos();
  assert.deepEqual(mesosSlaves(doc), { slaves: doc.slaves, recovered_slaves: [] });
  assert.deepEqual(mesosFrameworks(doc), { frameworks: doc.frameworks, completed_frameworks: [], unregistered_frameworks: [] });
  assert.deepEqual(doc.frameworks[0]?.completed_tasks.map((task) => [task.id, task.state]), [['job.failed', 'TASK_FAILED'], ['web.killed', 'TASK_KILLED']]);
});

test('mesos roles: * and the roles live tasks hold resources under', () => {
  const { roles } = mesosRoles(mesos());
  assert.deepEqual(roles.map((role) => [role.name, role.allocated, role.frameworks]), [
    ['*', { cpus: 1, mem: 128 }, ['fw']],
    ['batch', { cpus: 0.5, mem: 64 }, ['fw']],
  ]);
  assert.deepEqual(roles[0]?.quota, { role: '*', guarantee: {}, limit: {}, consumed: { cpus: 1, mem: 128 } });
});

test('mesos state-summary: counts per agent and per framework', () => {
  const summary = mesosStateSummary(mesos());
  assert.equal(summary.hostname, '127.0.0.1');
  const counts = (entry: unknown) => {
    const e = entry as Record<string, unknown>;
    return [e.id, e.TASK_STAGING, e.TASK_RUNNING, e.TASK_FAILED, e.TASK_KILLED, e.TASK_UNREACHABLE];
  };
  assert.deepEqual(summary.slaves.map(counts), [[S1, 1, 2, 0, 1, 0], [S2, 0, 0, 1, 0, 1]]);
  assert.deepEqual((summary.slaves[0] as { framework_ids: string[] }).framework_ids, ['fw']);
  assert.deepEqual(summary.frameworks.map(counts), [['fw', 1, 2, 1, 1, 1]]);
  assert.deepEqual((summary.frameworks[0] as { slave_ids: string[] }).slave_ids, [S1, S2]);
});

test('mesos metrics snapshot: Mesos names, gauges from the state, counters from the ends seen', () => {
  const snapshot = mesosMetricsSnapshot(mesos(), {
    nowMs: Date.parse(T3),
    endedByState: new Map([['TASK_FAILED', 3], ['TASK_KILLED', 1]]),
    system: { cpus: 2, load: [0.5, 0.25, 0.125], memTotalBytes: 1000, memFreeBytes: 400 },
  });
  assert.deepEqual(snapshot, {
    'master/elected': 1,
    'master/uptime_secs': 2,
    'master/slaves_active': 1,
    'master/slaves_inactive': 1,
    'master/slaves_connected': 1,
    'master/slaves_disconnected': 1,
    'master/slaves_unreachable': 1,
    'master/frameworks_active': 1,
    'master/frameworks_inactive': 0,
    'master/frameworks_connected': 1,
    'master/frameworks_disconnected': 0,
    'master/outstanding_offers': 0,
    'master/tasks_staging': 1,
    'master/tasks_starting': 0,
    'master/tasks_running': 2,
    'master/tasks_killing': 0,
    'master/tasks_unreachable': 1,
    'master/tasks_finished': 0,
    'master/tasks_failed': 3,
    'master/tasks_killed': 1,
    'master/tasks_lost': 0,
    'master/tasks_gone': 0,
    'master/cpus_total': 6,
    'master/cpus_used': 1.5,
    'master/cpus_percent': 0.25,
    'master/gpus_total': 0,
    'master/gpus_used': 0,
    'master/gpus_percent': 0,
    'master/mem_total': 5120,
    'master/mem_used': 192,
    'master/mem_percent': 192 / 5120,
    'master/disk_total': 0,
    'master/disk_used': 0,
    'master/disk_percent': 0,
    'system/cpus_total': 2,
    'system/load_1min': 0.5,
    'system/load_5min': 0.25,
    'system/load_15min': 0.125,
    'system/mem_total_bytes': 1000,
    'system/mem_free_bytes': 400,
  });
});

const status = (taskId: string, taskStatus: StatusUpdateEvent['taskStatus'], message = ''): ClusterEvent => ({
  eventType: 'status_update_event', timestamp: T3, slaveId: S1, taskId, taskStatus, message, appId: '/web', host: '10.0.0.1', ipAddresses: [], ports: [], version: T1,
});

test('completed tasks: the instances a commit ended, as they were, in their terminal state', async (t) => {
  const known = new Map([['web.a', instance('web.a', web, S1, { startedAt: T1 })]]);
  const cases: Array<[name: string, events: ClusterEvent[], ended: Array<[string, string, string]>]> = [
    ['a terminal update ends a known instance', [status('web.a', 'TASK_KILLED', 'killed by the API')], [['web.a', 'TASK_KILLED', 'killed by the API']]],
    ['a running update ends nothing', [status('web.a', 'TASK_RUNNING')], []],
    ['an instance unknown before the commit is left out', [status('web.new', 'TASK_FAILED')], []],
    ['other events are ignored', [{ eventType: 'app_terminated_event', timestamp: T3, appId: '/web' } as ClusterEvent], []],
  ];
  for (const [name, events, ended] of cases) {
    await t.test(name, () => {
      const out = endedTasks(events, (id) => known.get(id));
      assert.deepEqual(out.map(({ instance: i }) => [i.taskId, i.state, i.message]), ended);
      for (const task of out) assert.equal(task.endedAt, T3);
    });
  }
});

test('completed tasks: bounded, oldest dropped first', async (t) => {
  const cases: Array<[name: string, history: number[], added: number[], max: number, kept: number[]]> = [
    ['under the bound', [1, 2], [3], 5, [1, 2, 3]],
    ['at the bound, the oldest goes', [1, 2, 3], [4], 3, [2, 3, 4]],
    ['more added than the bound', [1], [2, 3, 4, 5], 2, [4, 5]],
    ['nothing added', [1, 2], [], 2, [1, 2]],
    ['a bound of zero keeps nothing', [1], [2], 0, []],
  ];
  for (const [name, history, added, max, kept] of cases) await t.test(name, () => assert.deepEqual(keepRecent(history, added, max), kept));
  const recorder = new CompletedTaskHistory(2);
  for (const id of ['a', 'b', 'c']) recorder.record([{ instance: instance(`web.${id}`, web, S1, { state: id === 'c' ? 'TASK_FAILED' : 'TASK_KILLED' }), endedAt: T3 }]);
  assert.deepEqual(recorder.tasks.map((task) => task.instance.taskId), ['web.b', 'web.c']);
  assert.deepEqual([...recorder.endedByState], [['TASK_KILLED', 2], ['TASK_FAILED', 1]], 'the counters count every end, not only those kept');
});

test('mesos flags: strings, snake_case, etcd ones only with the etcd store, no secrets', () => {
  const base = {
    listen: '127.0.0.1:8080', dataDir: '/d', store: 'file', etcd: ['http://127.0.0.1:2379'], etcdPrefix: '/corral', leaderLeaseMs: 2000,
    agentTimeoutMs: 15000, agentReregisterTimeoutMs: 600000, registryMaxAgentAgeMs: 1000, deploymentTimeoutMs: 0, logLevel: 'info',
    maxVersions: 50, auth: true, insecure: false, allowedOrigins: [], allowedHosts: ['sched.example'], joinTokenFile: '/d/join.token', maxCompletedTasks: 1000,
    eventCallbackTimeoutMs: 10000, eventCallbackDropAfterMs: 300000,
  };
  const flags = mesosFlags(base);
  assert.deepEqual(flags, {
    listen: '127.0.0.1:8080', data_dir: '/d', store: 'file', agent_timeout: '15000ms', agent_reregister_timeout: '600000ms', registry_max_agent_age: '1000ms',
    deployment_timeout: '0ms', log_level: 'info', max_versions: '50', auth: 'true', insecure: 'false', allowed_origins: '', allowed_hosts: 'sched.example', join_token_file: '/d/join.token',
    event_callback_timeout: '10000ms', event_callback_drop_after: '300000ms', max_completed_tasks_per_framework: '1000',
  });
  assert.deepEqual(Object.keys(mesosFlags({ ...base, store: 'etcd' })).filter((k) => k.startsWith('etcd') || k === 'leader_lease'), ['etcd', 'etcd_prefix', 'leader_lease']);
});

test('mesos slaves: reserved_resources by role beside the totals, as Mesos shows them (table-driven)', () => {
  const cases: [resources: string, reserved: Record<string, unknown>][] = [
    ['cpus:4;mem:4096', {}],
    ['cpus(web):2;cpus:2;mem(web):512;mem:1024;ports(web):[31000-31009]', { web: { cpus: 2, gpus: 0, mem: 512, disk: 0, ports: '[31000-31009]' } }],
  ];
  for (const [resources, reserved] of cases) {
    const doc = buildMesosState({ ...state({ agents: [agent(S1, resources)] }), meta: new Map([['clusterId', 'fw']]) }, { advertised: '127.0.0.1:5050', connectedAgents: new Set([S1]), startedAt: T1, completedTasks: [] });
    assert.deepEqual(doc.slaves[0]?.reserved_resources, reserved, resources);
  }
});
