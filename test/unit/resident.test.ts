import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BRIDGE_NETWORK_CAPABILITY, IMAGES_CAPABILITY, PERSISTENT_VOLUMES_CAPABILITY } from '../../src/shared/agent-protocol.ts';
import { applyStatus, orphanedTasks, removeAgent, stopInstance } from '../../src/scheduler/core/agent-status.ts';
import { killInstances } from '../../src/scheduler/core/app-changes.ts';
import { evaluationChanges, reconcile, type ReconcileContext } from '../../src/scheduler/core/reconcile.ts';
import { applyOps } from '../../src/scheduler/core/state-ops.ts';
import { heldApp, quotaRows } from '../../src/scheduler/core/quotas.ts';
import type { AgentRecord, AppDefinition, Instance } from '../../src/scheduler/types.ts';
import { NOW, agent as plainAgent, app, instance, state } from '../support/scheduler-fixtures.ts';

const agent = (id: string, resources = 'cpus:4;mem:4096;disk:1000;ports:[31000-31009]', fields: Partial<AgentRecord> = {}): AgentRecord => ({ ...plainAgent(id, resources), capabilities: [PERSISTENT_VOLUMES_CAPABILITY], ...fields });
const db = (fields: Record<string, unknown> = {}): AppDefinition => app({ id: '/db', instances: 1, disk: 10, container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 64 } }] }, ...fields });
const reservation = (uuid: string) => ({ volumes: [{ containerPath: 'data', persistenceId: `db#data#${uuid}`, size: 64 }] });
const resident = (taskId: string, a: AppDefinition, agentId: string, fields: Partial<Instance> = {}): Instance =>
  instance(taskId, a, agentId, { disk: 74, ports: [31000 + Number(taskId.split('.')[1])], reservation: reservation(taskId.split('.')[1] ?? ''), ...fields });

let counter = 0;
const context = (connected = ['a', 'b'], launchDelays = new Map()): ReconcileContext => ({
  now: NOW, nowMs: Date.parse(NOW), connectedAgents: new Set(connected), launchDelays, maxLaunches: 1000, newTaskId: (id) => `${id.slice(1)}.n${++counter}`, newRunId: () => `run${++counter}`,
});

test('resident instances: reconcile decides placement, relaunch, waits, upgrades and releases', async (t) => {
  const current = db();
  const outdated = { configVersion: 'old' };
  const cases: Array<{
    name: string; apps: AppDefinition[]; agents: AgentRecord[]; instances: Instance[]; connected?: string[];
    launchOn?: string[]; relaunched?: string[]; replace?: string[]; stop?: string[]; waiting?: RegExp;
  }> = [
    { name: 'a new reservation goes only to an agent that keeps volumes', apps: [current], agents: [plainAgent('b', 'cpus:4;mem:4096;disk:1000'), agent('a')], instances: [], launchOn: ['a'] },
    { name: 'the volume\'s disk is reserved from the agent\'s: 2 × 74 MiB do not fit in 100', apps: [db({ instances: 2 })], agents: [agent('a', 'cpus:4;mem:4096;disk:100;ports:[31000-31009]')], instances: [], connected: ['a'], launchOn: ['a'], waiting: /insufficient disk on 1 of 1 agents/ },
    { name: 'an ended reservation still holds its disk', apps: [current, db({ id: '/db2' })], agents: [agent('a', 'cpus:4;mem:4096;disk:100;ports:[31000-31009]')], connected: ['a'], instances: [resident('db.1', current, 'a', { state: 'TASK_FAILED' })], relaunched: ['db.1'], waiting: /insufficient disk/ },
    { name: 'an ended task is relaunched on its agent (another agent is free)', apps: [current], agents: [agent('a'), agent('b')], instances: [resident('db.1', current, 'a', { state: 'TASK_KILLED' })], relaunched: ['db.1'] },
    { name: 'its agent away: it waits for it, and nothing starts elsewhere', apps: [current], agents: [agent('a', undefined, { unreachableSince: '2026-01-01T00:00:07.000Z' }), agent('b')], connected: ['b'], instances: [resident('db.1', current, 'a', { state: 'TASK_LOST' })], waiting: /^waiting for agent a since 2026-01-01T00:00:07.000Z$/ },
    { name: 'an unreachable task waits for its agent too', apps: [current], agents: [agent('a', undefined, { unreachableSince: '2026-01-01T00:00:07.000Z' }), agent('b')], connected: ['b'], instances: [resident('db.1', current, 'a', { state: 'TASK_UNREACHABLE', unreachableSince: '2026-01-01T00:00:07.000Z' })], waiting: /^waiting for agent a since/ },
    { name: 'an upgrade kills first (minimumHealthCapacity 0.5 of 2: one at a time), starts nothing new', apps: [db({ instances: 2 })], agents: [agent('a')], instances: [resident('db.1', current, 'a', outdated), resident('db.2', current, 'a', outdated)], replace: ['db.2'] },
    { name: 'an upgrade of one instance kills it (0.5 of 1)', apps: [current], agents: [agent('a')], instances: [resident('db.1', current, 'a', outdated)], replace: ['db.1'] },
    { name: 'an upgraded task that ended comes back on its reservation', apps: [db({ instances: 2 })], agents: [agent('a')], instances: [resident('db.1', current, 'a', { ...outdated, state: 'TASK_KILLED', reservation: { ...reservation('1'), relaunch: true } }), resident('db.2', current, 'a', outdated)], relaunched: ['db.1'] },
    { name: 'a scale-down releases ended reservations first', apps: [current], agents: [agent('a')], instances: [resident('db.1', current, 'a'), resident('db.2', current, 'a', { state: 'TASK_FAILED' })], stop: ['db.2'] },
    { name: 'a removed app releases all', apps: [], agents: [agent('a')], instances: [resident('db.1', current, 'a'), resident('db.2', current, 'a', { state: 'TASK_FAILED' })], stop: ['db.1', 'db.2'] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const s = state({ apps: c.apps, agents: c.agents, instances: c.instances });
      const e = reconcile(s, context(c.connected));
      const fresh = e.launch.filter((i) => !i.message.startsWith('relaunched'));
      assert.deepEqual(fresh.map((i) => i.agentId), c.launchOn ?? []);
      for (const i of fresh) {
        assert.equal(i.disk, 74);
        assert.deepEqual(i.reservation?.volumes.map((v) => v.persistenceId), [`db#data#${i.taskId.split('.')[1] ?? ''}`]);
      }
      assert.deepEqual(e.relaunched.map((i) => i.taskId), c.relaunched ?? []);
      for (const from of e.relaunched) {
        const to = e.launch.find((i) => i.message === `relaunched on its reservation (was ${from.taskId})`);
        assert.ok(to);
        assert.equal(to.agentId, from.agentId);
        assert.deepEqual(to.ports, from.ports);
        assert.deepEqual(to.reservation, { volumes: from.reservation?.volumes });
        assert.equal(to.configVersion, c.apps[0]?.versionInfo.lastConfigChangeAt);
        assert.notEqual(to.taskId, from.taskId);
      }
      assert.deepEqual(e.replace.map((i) => i.taskId), c.replace ?? []);
      assert.deepEqual(e.stop.map((i) => i.taskId).sort(), c.stop ?? []);
      const reasons = e.unplaced.map((u) => u.reason).join('; ');
      if (c.waiting === undefined) assert.equal(reasons, '');
      else assert.match(reasons, c.waiting);
    });
  }
});

test('resident instances: the evaluation\'s writes keep reservations and mark released ones for destroy', () => {
  const current = db({ instances: 1 });
  const s = state({ apps: [current], agents: [agent('a')], instances: [resident('db.1', current, 'a', { configVersion: 'old' }), resident('db.2', current, 'a', { state: 'TASK_FAILED' })] });
  const e = reconcile(s, context());
  const next = applyOps(s, evaluationChanges(s, e, undefined, NOW).ops);
  assert.deepEqual(next.instances.get('db.2')?.reservation?.destroy, true);
  assert.equal(next.instances.get('db.2')?.goal, 'stopped');
  const replaced = next.instances.get('db.1');
  assert.equal(replaced?.goal, 'running');
  assert.equal(replaced?.state, 'TASK_KILLING');
  assert.equal(replaced?.reservation?.relaunch, true);
  // Applying the evaluation and evaluating again changes nothing more (the kill is under way).
  const again = reconcile(next, context());
  assert.deepEqual([again.launch.length, again.stop.length, again.replace.length], [0, 0, 0]);
});

test('resident instances: how a task\'s end, kills and stops treat the reservation', async (t) => {
  const current = db();
  const update = (taskId: string, taskState: 'TASK_FAILED' | 'TASK_KILLED' | 'TASK_RUNNING') => ({ uuid: `u-${taskId}-${taskState}`, taskId, state: taskState, message: 'm', timestamp: NOW });
  await t.test('an ended task is kept, ended, with its reservation (and backs off as a failure)', () => {
    const s = state({ apps: [current], agents: [agent('a')], instances: [resident('db.1', current, 'a')] });
    const change = applyStatus(s, 'a', update('db.1', 'TASK_FAILED'), NOW);
    const next = applyOps(s, change.ops);
    assert.equal(next.instances.get('db.1')?.state, 'TASK_FAILED');
    assert.deepEqual(change.failedApps, ['/db']);
  });
  await t.test('a kill without wipe relaunches: wanted still, no backoff, a late RUNNING ignored', () => {
    const s = state({ apps: [current], agents: [agent('a')], instances: [resident('db.1', current, 'a')] });
    const kill = killInstances(s, [...s.instances.values()], false, { now: NOW, deploymentId: 'd', force: false, clientIp: '', uri: '' });
    assert.ok(kill.ok);
    const killing = applyOps(s, kill.ops);
    assert.equal(killing.instances.get('db.1')?.goal, 'running');
    assert.equal(killing.instances.get('db.1')?.reservation?.relaunch, true);
    assert.deepEqual(applyStatus(killing, 'a', update('db.1', 'TASK_RUNNING'), NOW).ops, []);
    const ended = applyStatus(killing, 'a', update('db.1', 'TASK_KILLED'), NOW);
    assert.deepEqual(ended.failedApps, []);
    assert.equal(applyOps(killing, ended.ops).instances.get('db.1')?.state, 'TASK_KILLED');
  });
  await t.test('a kill with wipe releases: stopped, destroy, kept after the end until the agent confirms', () => {
    const s = state({ apps: [current], agents: [agent('a')], instances: [resident('db.1', current, 'a')] });
    const kill = killInstances(s, [...s.instances.values()], false, { now: NOW, deploymentId: 'd', force: false, clientIp: '', uri: '' }, true);
    assert.ok(kill.ok);
    const killing = applyOps(s, kill.ops);
    assert.equal(killing.instances.get('db.1')?.goal, 'stopped');
    assert.equal(killing.instances.get('db.1')?.reservation?.destroy, true);
    const ended = applyOps(killing, applyStatus(killing, 'a', update('db.1', 'TASK_KILLED'), NOW).ops);
    assert.equal(ended.instances.get('db.1')?.state, 'TASK_KILLED');
  });
  await t.test('stopping an ended reservation only marks it for destroy', () => {
    const reserved = resident('db.1', current, 'a', { state: 'TASK_FAILED' });
    const next = applyOps(state({ instances: [reserved] }), stopInstance(reserved, NOW).ops).instances.get('db.1');
    assert.deepEqual([next?.goal, next?.state, next?.reservation?.destroy], ['stopped', 'TASK_FAILED', true]);
  });
});

test('resident instances: a task still running for an instance kept after its end is an orphan (killed)', () => {
  const current = db();
  const s = state({ apps: [current], agents: [agent('a')], instances: [resident('db.1', current, 'a', { state: 'TASK_KILLED', goal: 'stopped', reservation: { ...reservation('1'), destroy: true } }), resident('db.2', current, 'a')] });
  assert.deepEqual(orphanedTasks(s, 'a', [{ taskId: 'db.1', state: 'TASK_RUNNING' }, { taskId: 'db.2', state: 'TASK_RUNNING' }]), ['db.1']);
});

test('resident instances: a relaunch is placed on its own agent, in its own place', async (t) => {
  const current = db();
  const relaunch = (a: AppDefinition, agents: AgentRecord[], instances: Instance[]) => reconcile(state({ apps: [a], agents, instances }), context(['a']));
  await t.test('its ports are kept when their number is the same', () => {
    const e = relaunch(current, [agent('a')], [resident('db.7', current, 'a', { state: 'TASK_FAILED' })]);
    assert.deepEqual(e.launch.map((i) => i.ports), [[31007]]);
  });
  await t.test('a new number of ports is taken from the agent', () => {
    const two = db({ portDefinitions: [{ port: 0 }, { port: 0 }] });
    const e = relaunch(two, [agent('a')], [resident('db.7', current, 'a', { state: 'TASK_FAILED' })]);
    assert.deepEqual(e.launch.map((i) => i.ports), [[31000, 31001]]);
  });
  await t.test('on a bridge network its mapped host ports are kept, a fixed one as asked', () => {
    const onBridge = (portMappings: unknown[]) => db({ networks: [{ mode: 'container/bridge' }], container: { type: 'MESOS', docker: { image: 'busybox' }, volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 64 } }], portMappings } });
    const bridged = onBridge([{ containerPort: 80 }, { containerPort: 82, hostPort: 31009 }]);
    const bridgeAgent = agent('a', undefined, { capabilities: [PERSISTENT_VOLUMES_CAPABILITY, IMAGES_CAPABILITY, BRIDGE_NETWORK_CAPABILITY] });
    const e = relaunch(bridged, [bridgeAgent], [resident('db.7', bridged, 'a', { state: 'TASK_FAILED', ports: [31007, 31009] })]);
    assert.deepEqual(e.launch.map((i) => i.ports), [[31007, 31009]]);
    const moved = onBridge([{ containerPort: 80 }, { containerPort: 82, hostPort: 31008 }]);
    const again = relaunch(moved, [bridgeAgent], [resident('db.7', bridged, 'a', { state: 'TASK_FAILED', ports: [31007, 31009] })]);
    assert.deepEqual(again.launch.map((i) => i.ports), [[31000, 31008]], 'a fixed host port changed: the new one is taken');
  });
  await t.test('a configuration that no longer fits on its agent waits there, saying why', () => {
    const big = db({ cpus: 3 });
    const e = relaunch(big, [agent('a', 'cpus:4;mem:4096;disk:1000;ports:[31000-31009]')], [resident('db.7', current, 'a', { state: 'TASK_FAILED' }), instance('other', app({ id: '/other' }), 'a', { cpus: 2 })]);
    assert.deepEqual(e.launch, []);
    assert.match(e.unplaced.map((u) => u.reason).join(), /^waiting for room on agent a \(its reservation\): insufficient cpus on 1 of 1 agents$/);
  });
  await t.test('a draining agent still takes its own resident instance back', () => {
    const e = relaunch(current, [agent('a', undefined, { draining: true })], [resident('db.7', current, 'a', { state: 'TASK_FAILED' })]);
    assert.deepEqual(e.launch.map((i) => i.agentId), ['a']);
  });
});

test('resident instances: a quota counts the volumes as disk, and an ended reservation as held', () => {
  const current = db({ id: '/team/db', instances: 3 });
  const teamDb = (taskId: string, fields: Partial<Instance> = {}): Instance => ({ ...resident(taskId, current, 'a', fields), appId: '/team/db' });
  const s = { ...state({ apps: [current], agents: [agent('a')], instances: [teamDb('team_db.1', { state: 'TASK_FAILED' }), teamDb('team_db.2'), teamDb('team_db.3', { state: 'TASK_KILLED', goal: 'stopped', reservation: { ...reservation('3'), destroy: true } })] }), quotas: new Map([['/team', { disk: 1000 }]]) };
  const [row] = quotaRows(s);
  assert.equal(row?.used.disk, 3 * 74);
  assert.equal(row?.held.disk, 3 * 74);
  assert.deepEqual(heldApp(s, current).live, { cpus: 2, mem: 256, disk: 148, gpus: 0, instances: 2 });
});

test('resident instances: an agent removed from the registry', async (t) => {
  const current = db({ instances: 2 });
  const s = state({ apps: [current], agents: [agent('a'), agent('b')], instances: [
    resident('db.1', current, 'a'), resident('db.2', current, 'a', { state: 'TASK_FAILED' }),
    resident('db.3', current, 'a', { state: 'TASK_KILLED', goal: 'stopped', reservation: { ...reservation('3'), destroy: true } }),
  ] });
  const removed = applyOps(s, removeAgent(s, 'a', NOW).ops);
  await t.test('wanted instances wait for it still; a released one is forgotten (nothing can destroy its data)', () => {
    assert.deepEqual([...removed.instances.values()].map((i) => [i.taskId, i.state, i.goal]), [['db.1', 'TASK_GONE', 'running'], ['db.2', 'TASK_FAILED', 'running']]);
    const e = reconcile(removed, context(['b']));
    assert.deepEqual(e.launch, []);
    assert.deepEqual(e.unplaced.map((u) => [u.count, u.reason]), [[2, 'waiting for agent a, removed from the registry (kill with wipe=true to start over elsewhere)']]);
  });
  await t.test('a kill with wipe forgets it and a new reservation starts elsewhere', () => {
    const kill = killInstances(removed, [removed.instances.get('db.1') as Instance], false, { now: NOW, deploymentId: 'd', force: false, clientIp: '', uri: '' }, true);
    assert.ok(kill.ok);
    const wiped = applyOps(removed, kill.ops);
    assert.equal(wiped.instances.has('db.1'), false);
    const e = reconcile(wiped, context(['b']));
    assert.deepEqual(e.launch.map((i) => i.agentId), ['b']);
  });
});
