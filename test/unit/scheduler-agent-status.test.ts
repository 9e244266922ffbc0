import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyStatus, expiredAgents, markAgentUnreachable, orphanedTasks, registerAgent, removeAgent, silentAgents } from '../../src/scheduler/core/agent-status.ts';
import { applyOps } from '../../src/scheduler/core/state-ops.ts';
import type { TaskStatusUpdate } from '../../src/shared/agent-protocol.ts';
import { NOW, agent, app, instance, state } from '../support/scheduler-fixtures.ts';

const web = app({ id: '/web' });
const update = (taskId: string, s: TaskStatusUpdate['state'], uuid = `${taskId}-${s}`): TaskStatusUpdate => ({ uuid, taskId, state: s, message: '', timestamp: NOW });

test('status updates: table', async (t) => {
  const base = state({ apps: [web], agents: [agent('a')], instances: [instance('w1', web, 'a', { state: 'TASK_STARTING' })] });
  const cases = [
    { name: 'running is stored and announced with startedAt', u: update('w1', 'TASK_RUNNING'), agentId: 'a', events: ['TASK_RUNNING'], kill: [] as string[], stored: 'TASK_RUNNING' as string | undefined },
    { name: 'terminal forgets the instance', u: update('w1', 'TASK_FAILED'), agentId: 'a', events: ['TASK_FAILED'], kill: [], stored: undefined },
    { name: 'unknown running task is killed', u: update('ghost', 'TASK_RUNNING'), agentId: 'a', events: [], kill: ['ghost'], stored: 'TASK_STARTING' },
    { name: 'another agent cannot speak for a task', u: update('w1', 'TASK_RUNNING'), agentId: 'b', events: [], kill: ['w1'], stored: 'TASK_STARTING' },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const change = applyStatus(base, c.agentId, c.u, NOW);
      // Every transition comes as a status_update_event and its instance_changed_event twin.
      assert.deepEqual(change.events.filter((e) => e.eventType !== 'instance_changed_event').map((e) => (e.eventType === 'status_update_event' ? e.taskStatus : e.eventType)), c.events);
      assert.equal(change.events.filter((e) => e.eventType === 'instance_changed_event').length, change.events.filter((e) => e.eventType === 'status_update_event').length);
      assert.deepEqual(change.kill, c.kill);
      const after = applyOps(base, change.ops).instances.get('w1');
      assert.equal(after?.state, c.stored);
      if (c.stored === 'TASK_RUNNING') assert.equal(after?.startedAt, NOW);
    });
  }
});

test('status updates are idempotent and a late RUNNING cannot undo a kill', () => {
  let s = state({ apps: [web], agents: [agent('a')], instances: [instance('w1', web, 'a', { state: 'TASK_STARTING' })] });
  const running = update('w1', 'TASK_RUNNING');
  s = applyOps(s, applyStatus(s, 'a', running, NOW).ops);
  assert.equal(applyStatus(s, 'a', running, NOW).events.length, 0, 'a retried update emits nothing');
  s = applyOps(s, [{ op: 'put', coll: 'instances', key: 'w1', value: { ...s.instances.get('w1')!, goal: 'stopped', state: 'TASK_KILLING' } }]);
  assert.equal(applyStatus(s, 'a', update('w1', 'TASK_RUNNING', 'late'), NOW).ops.length, 0);
});

test('agent registration reconciles reported tasks', () => {
  const s = state({
    apps: [web],
    agents: [agent('a')],
    instances: [instance('kept', web, 'a', { state: 'TASK_STAGING' }), instance('vanished', web, 'a'), instance('stopping', web, 'a', { goal: 'stopped' })],
  });
  const change = registerAgent(s, 'a', {
    hostname: 'a', ip: '10.0.0.1', endpoint: '', resources: [], attributes: {},
    tasks: [{ taskId: 'kept', state: 'TASK_RUNNING' }, { taskId: 'stranger', state: 'TASK_RUNNING' }, { taskId: 'stopping', state: 'TASK_RUNNING' }],
  }, NOW);
  assert.deepEqual(change.kill.sort(), ['stopping', 'stranger']);
  const after = applyOps(s, change.ops);
  assert.equal(after.instances.get('kept')?.state, 'TASK_RUNNING');
  assert.equal(after.instances.has('vanished'), false, 'a task the agent no longer has is lost');
  assert.equal(after.agents.get('a')?.ip, '10.0.0.1');
});

test('an agent past its timeout makes its tasks unreachable, once', () => {
  const s = state({ apps: [web], agents: [agent('a'), agent('b')], instances: [instance('w1', web, 'a'), instance('w2', web, 'b')] });
  const change = markAgentUnreachable(s, 'a', NOW);
  const after = applyOps(s, change.ops);
  assert.equal(after.instances.get('w1')?.state, 'TASK_UNREACHABLE');
  assert.equal(after.instances.get('w2')?.state, 'TASK_RUNNING');
  assert.equal(markAgentUnreachable(after, 'a', NOW).events.length, 0);
});

test('an instance ending unasked marks its app for backoff; a kill it asked for does not', () => {
  const s = state({ apps: [web], agents: [agent('a')], instances: [instance('w1', web, 'a'), instance('w2', web, 'a', { goal: 'stopped', state: 'TASK_KILLING' })] });
  assert.deepEqual(applyStatus(s, 'a', update('w1', 'TASK_FAILED'), NOW).failedApps, ['/web']);
  assert.deepEqual(applyStatus(s, 'a', update('w1', 'TASK_RUNNING', 'again'), NOW).failedApps, []);
  assert.deepEqual(applyStatus(s, 'a', update('w2', 'TASK_KILLED'), NOW).failedApps, []);
});

test('registration adopts reported terminal tasks with the agent\'s message and keeps an agent draining', () => {
  const s = state({ apps: [web], agents: [{ ...agent('a'), draining: true }], instances: [instance('w1', web, 'a')] });
  const change = registerAgent(s, 'a', {
    hostname: 'a', ip: '10.0.0.1', endpoint: '', resources: [], attributes: {},
    tasks: [{ taskId: 'w1', state: 'TASK_FAILED', message: 'Command exited with status 7' }, { taskId: 'old-gone', state: 'TASK_FINISHED' }],
  }, NOW);
  assert.deepEqual(change.kill, [], 'ended tasks are not killed');
  const event = change.events.find((e) => e.eventType === 'status_update_event');
  assert.equal(event?.eventType === 'status_update_event' ? event.message : '', 'Command exited with status 7');
  const after = applyOps(s, change.ops);
  assert.equal(after.instances.has('w1'), false);
  assert.equal(after.agents.get('a')?.draining, true);
  assert.deepEqual(change.failedApps, ['/web']);
});

test('health results in a status update: stored, announced, and a kill at the threshold', () => {
  const checked = app({ id: '/checked', healthChecks: [{ protocol: 'TCP', maxConsecutiveFailures: 2 }] });
  const s = state({ apps: [checked], agents: [agent('a')], instances: [instance('c1', checked, 'a')] });
  const failing = (n: number) => ({ ...update('c1', 'TASK_RUNNING', `h${n}`), health: [{ alive: false, consecutiveFailures: n, firstSuccess: null, lastSuccess: null, lastFailure: NOW, lastFailureCause: 'refused' }] });
  const once = applyStatus(s, 'a', failing(1), NOW);
  assert.deepEqual(once.kill, []);
  assert.equal(applyOps(s, once.ops).instances.get('c1')?.healthResults?.[0]?.consecutiveFailures, 1);
  const twice = applyStatus(s, 'a', failing(2), NOW);
  assert.deepEqual(twice.kill, ['c1']);
  assert.ok(twice.events.some((e) => e.eventType === 'unhealthy_instance_kill_event'));
  assert.equal(applyOps(s, twice.ops).instances.get('c1')?.state, 'TASK_KILLING');
});

test('an agent remembers when it first became unreachable; registering again clears it', () => {
  const s = state({ apps: [web], agents: [agent('a')], instances: [instance('w1', web, 'a')] });
  const lost = applyOps(s, markAgentUnreachable(s, 'a', NOW).ops);
  assert.equal(lost.agents.get('a')?.unreachableSince, NOW);
  const later = applyOps(lost, markAgentUnreachable(lost, 'a', '2026-01-02T00:00:00.000Z').ops);
  assert.equal(later.agents.get('a')?.unreachableSince, NOW, 'the first time counts');
  const back = applyOps(later, registerAgent(later, 'a', { hostname: 'a', ip: '10.0.0.1', endpoint: '', resources: [], attributes: {}, tasks: [] }, NOW).ops);
  assert.equal(back.agents.get('a')?.unreachableSince, undefined);
});

test('expired agents: unreachable for at least the registry age', () => {
  const nowMs = Date.parse(NOW);
  const since = (ms: number): string => new Date(nowMs - ms).toISOString();
  const cases: Array<{ name: string; unreachableSince?: string; maxAgeMs: number; expired: boolean }> = [
    { name: 'reachable agents never expire', maxAgeMs: 0, expired: false },
    { name: 'younger than the age', unreachableSince: since(999), maxAgeMs: 1000, expired: false },
    { name: 'exactly the age', unreachableSince: since(1000), maxAgeMs: 1000, expired: true },
    { name: 'older than the age', unreachableSince: since(14 * 86_400_000 + 1), maxAgeMs: 14 * 86_400_000, expired: true },
    { name: 'an unreadable time is left alone', unreachableSince: 'yesterday', maxAgeMs: 0, expired: false },
  ];
  for (const c of cases) {
    const record = { ...agent('a'), ...(c.unreachableSince !== undefined ? { unreachableSince: c.unreachableSince } : {}) };
    assert.deepEqual(expiredAgents([record, agent('b')], nowMs, c.maxAgeMs), c.expired ? ['a'] : [], c.name);
  }
});

test('removing an agent forgets it and every instance still tied to it, which the reconciler then replaces', () => {
  const disabled = app({ id: '/db', unreachableStrategy: 'disabled' });
  const s = state({
    apps: [web, disabled],
    agents: [{ ...agent('a'), unreachableSince: NOW }, agent('b')],
    instances: [
      instance('w1', web, 'a', { state: 'TASK_UNREACHABLE', unreachableSince: NOW }),
      instance('d1', disabled, 'a', { state: 'TASK_UNREACHABLE', unreachableSince: NOW }),
      instance('w2', web, 'b'),
    ],
  });
  const change = removeAgent(s, 'a', NOW);
  const after = applyOps(s, change.ops);
  assert.equal(after.agents.has('a'), false);
  assert.deepEqual([...after.instances.keys()], ['w2']);
  assert.deepEqual(change.events.filter((e) => e.eventType === 'status_update_event').map((e) => e.eventType === 'status_update_event' && [e.taskId, e.taskStatus]), [['w1', 'TASK_GONE'], ['d1', 'TASK_GONE']]);
  assert.deepEqual(change.failedApps, [], 'not a failure of the app: no backoff');
  assert.deepEqual(removeAgent(after, 'a', NOW).ops, [], 'removing twice changes nothing');
});

test('orphaned tasks: what an agent runs that the scheduler does not want there', () => {
  const s = state({
    apps: [web],
    agents: [agent('a'), agent('b')],
    instances: [
      instance('running', web, 'a'),
      instance('in-flight', web, 'a', { state: 'TASK_STAGING' }),
      instance('unreachable', web, 'a', { state: 'TASK_UNREACHABLE', unreachableSince: NOW }),
      instance('stopping', web, 'a', { goal: 'stopped', state: 'TASK_KILLING' }),
      instance('elsewhere', web, 'b'),
      instance('of-removed-app', app({ id: '/removed' }), 'a'),
    ],
  });
  const cases: Array<{ name: string; taskId: string; state: TaskStatusUpdate['state']; orphan: boolean }> = [
    { name: 'wanted and running', taskId: 'running', state: 'TASK_RUNNING', orphan: false },
    { name: 'launch sent, no status yet: not killed', taskId: 'in-flight', state: 'TASK_STARTING', orphan: false },
    { name: 'unreachable, still wanted: adopted, not killed', taskId: 'unreachable', state: 'TASK_RUNNING', orphan: false },
    { name: 'unknown (forgotten, expunged, another scheduler\'s)', taskId: 'ghost', state: 'TASK_RUNNING', orphan: true },
    { name: 'unknown but still starting', taskId: 'ghost', state: 'TASK_STARTING', orphan: true },
    { name: 'unknown and already ended: nothing to kill', taskId: 'ghost', state: 'TASK_FINISHED', orphan: false },
    { name: 'being stopped: the scheduler kills it already', taskId: 'stopping', state: 'TASK_RUNNING', orphan: false },
    { name: 'its instance is on another agent', taskId: 'elsewhere', state: 'TASK_RUNNING', orphan: true },
    { name: 'of a removed app: the reconciler stops it first', taskId: 'of-removed-app', state: 'TASK_RUNNING', orphan: false },
  ];
  for (const c of cases) assert.deepEqual(orphanedTasks(s, 'a', [{ taskId: c.taskId, state: c.state }]), c.orphan ? [c.taskId] : [], c.name);
});

test('silent agents: the agent timeout since last heard from, the re-registration timeout for agents not heard from since a restart', async (t) => {
  const silence = { agentTimeoutMs: 2000, startedAtMs: 10_000, reregisterTimeoutMs: 60_000 };
  const cases = [
    { name: 'heard from within the agent timeout', seen: 9_000, now: 10_999, silence, silent: false },
    { name: 'silent for the agent timeout', seen: 9_000, now: 11_000, silence, silent: true },
    { name: 'heard from before the start, silent since: the agent timeout still counts from then', seen: 5_000, now: 10_000, silence, silent: true },
    { name: 'not heard from since a restart, past the agent timeout: still within the grace', seen: undefined, now: 15_000, silence, silent: false },
    { name: 'not heard from since a restart, just before the grace ends', seen: undefined, now: 69_999, silence, silent: false },
    { name: 'not heard from since a restart, the grace is over', seen: undefined, now: 70_000, silence, silent: true },
    { name: 'a grace shorter than the agent timeout gives the agent timeout', seen: undefined, now: 11_999, silence: { ...silence, reregisterTimeoutMs: 500 }, silent: false },
    { name: 'a grace shorter than the agent timeout, past the agent timeout', seen: undefined, now: 12_000, silence: { ...silence, reregisterTimeoutMs: 500 }, silent: true },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.deepEqual(silentAgents(['a'], () => c.seen, c.now, c.silence), c.silent ? ['a'] : []);
    });
  }
});

test('agent events: committed with the change that registers, re-registers, loses or removes an agent (table-driven)', () => {
  const registration = { hostname: 'n1', ip: '10.0.0.9', endpoint: 'http://10.0.0.9:5051', resources: [], attributes: {}, tasks: [] };
  const known = state({ apps: [web], agents: [agent('a')] });
  const lost = state({ apps: [web], agents: [{ ...agent('a'), unreachableSince: NOW }] });
  const agentEvents = (events: readonly { eventType: string }[]): unknown[] => events.filter((e) => e.eventType.startsWith('agent_')).map(({ timestamp: _t, ...rest }: Record<string, unknown>) => rest);
  const cases: Array<{ name: string; events: () => readonly { eventType: string }[]; expected: unknown[] }> = [
    { name: 'a new agent', events: () => registerAgent(state({}), 'b', registration, NOW).events, expected: [{ eventType: 'agent_added_event', agent: { id: 'b', hostname: 'n1', ip: '10.0.0.9', port: 5051 }, reregistered: false }] },
    { name: 'a known agent, with a new address', events: () => registerAgent(known, 'a', registration, NOW).events, expected: [{ eventType: 'agent_added_event', agent: { id: 'a', hostname: 'n1', ip: '10.0.0.9', port: 5051 }, reregistered: true }] },
    { name: 'an endpoint without a port', events: () => registerAgent(state({}), 'b', { ...registration, endpoint: '' }, NOW).events, expected: [{ eventType: 'agent_added_event', agent: { id: 'b', hostname: 'n1', ip: '10.0.0.9' }, reregistered: false }] },
    { name: 'unreachable: it leaves discovery', events: () => markAgentUnreachable(known, 'a', NOW).events, expected: [{ eventType: 'agent_removed_event', agentId: 'a', reason: 'unreachable' }] },
    { name: 'unreachable again: nothing new', events: () => markAgentUnreachable(lost, 'a', NOW).events, expected: [] },
    { name: 'removed from the registry', events: () => removeAgent(lost, 'a', NOW).events, expected: [{ eventType: 'agent_removed_event', agentId: 'a', reason: 'removed' }] },
    { name: 'removing an unknown agent', events: () => removeAgent(known, 'zz', NOW).events, expected: [] },
  ];
  for (const c of cases) assert.deepEqual(agentEvents(c.events()), c.expected, c.name);
});

test('a job run\'s task that ends is kept (terminal) for its run to read, without an app\'s failure or backoff; one stopped on purpose is forgotten', () => {
  const runTask = instance('job_r.1', app({ id: '/job' }), 'a', { state: 'TASK_RUNNING', run: { jobId: 'job', runId: 'r' } });
  const s = state({ apps: [], agents: [agent('a')], instances: [runTask] });
  const failed = applyStatus(s, 'a', update('job_r.1', 'TASK_FAILED'), NOW);
  const after = applyOps(s, failed.ops);
  assert.equal(after.instances.get('job_r.1')?.state, 'TASK_FAILED');
  assert.deepEqual([failed.failedApps, [...after.taskFailures.keys()]], [[], []]);
  // Nothing moves an ended task on: a repeated or late update, a re-registration, the agent lost.
  assert.equal(applyStatus(after, 'a', update('job_r.1', 'TASK_LOST'), NOW).ops.length, 0);
  assert.equal(markAgentUnreachable(after, 'a', NOW).events.filter((e) => e.eventType === 'status_update_event').length, 0);
  assert.equal(removeAgent(after, 'a', NOW).events.filter((e) => e.eventType === 'status_update_event').length, 0);

  const stopping = state({ apps: [], agents: [agent('a')], instances: [{ ...runTask, goal: 'stopped', state: 'TASK_KILLING' }] });
  assert.equal(applyOps(stopping, applyStatus(stopping, 'a', update('job_r.1', 'TASK_KILLED'), NOW).ops).instances.get('job_r.1'), undefined);
});
