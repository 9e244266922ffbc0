import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOps } from '../../src/scheduler/core/state-ops.ts';
import { delayAfterFailure } from '../../src/scheduler/core/launch-delay.ts';
import { advanceDeployment } from '../../src/scheduler/core/deployments.ts';
import { reconcile, type ReconcileContext } from '../../src/scheduler/core/reconcile.ts';
import type { ClusterState, StateOp } from '../../src/scheduler/types.ts';
import { NOW, agent, app, instance, state } from '../support/scheduler-fixtures.ts';

let counter = 0;
const context = (connected = ['a', 'b'], launchDelays = new Map()): ReconcileContext => ({
  now: NOW, nowMs: Date.parse(NOW), connectedAgents: new Set(connected), launchDelays, maxLaunches: 1000, newTaskId: (id) => `${id.slice(1)}.${++counter}`, newRunId: () => `run${++counter}`,
});

/** Applies an evaluation the way the orchestrator does, with every launch reported running. */
function applyEvaluation(s: ClusterState, ctx: ReconcileContext): ClusterState {
  const e = reconcile(s, ctx);
  const ops: StateOp[] = [
    ...e.launch.map((i): StateOp => ({ op: 'put', coll: 'instances', key: i.taskId, value: { ...i, state: 'TASK_RUNNING' } })),
    ...e.stop.map((i): StateOp => ({ op: 'del', coll: 'instances', key: i.taskId })),
  ];
  return applyOps(s, ops);
}

test('reconcile: table', async (t) => {
  const web = app({ id: '/web', instances: 2 });
  const cases = [
    { name: 'starts what is missing', s: state({ apps: [web], agents: [agent('a'), agent('b')] }), launch: 2, stop: [] as string[] },
    { name: 'nothing to do when counts match', s: state({ apps: [web], agents: [agent('a')], instances: [instance('w1', web, 'a'), instance('w2', web, 'a')] }), launch: 0, stop: [] },
    { name: 'scale down kills the youngest', s: state({ apps: [{ ...web, instances: 1 }], agents: [agent('a')], instances: [instance('old', web, 'a'), instance('young', web, 'a', { stagedAt: '2026-02-01T00:00:00.000Z' })] }), launch: 0, stop: ['young'] },
    { name: 'scale down prefers instances not yet running', s: state({ apps: [{ ...web, instances: 1 }], agents: [agent('a')], instances: [instance('staging', web, 'a', { state: 'TASK_STAGING' }), instance('young', web, 'a', { stagedAt: '2026-02-01T00:00:00.000Z' })] }), launch: 0, stop: ['staging'] },
    { name: 'instances of a removed app are stopped', s: state({ apps: [], agents: [agent('a')], instances: [instance('w1', web, 'a')] }), launch: 0, stop: ['w1'] },
    { name: 'already stopping instances are left to finish', s: state({ apps: [], agents: [agent('a')], instances: [instance('w1', web, 'a', { goal: 'stopped', state: 'TASK_KILLING' })] }), launch: 0, stop: [] },
    { name: 'unreachable instances are replaced but not killed', s: state({ apps: [web], agents: [agent('a')], instances: [instance('w1', web, 'a', { state: 'TASK_UNREACHABLE' }), instance('w2', web, 'a')] }), launch: 1, stop: [] },
    { name: 'changed config: new ones first, old ones kept meanwhile', s: state({ apps: [web], agents: [agent('a')], instances: [instance('w1', web, 'a', { configVersion: 'old' }), instance('w2', web, 'a', { configVersion: 'old' })] }), launch: 2, stop: [] },
    { name: 'changed config: old ones go once the new all run', s: state({ apps: [web], agents: [agent('a')], instances: [instance('w1', web, 'a', { configVersion: 'old' }), instance('n1', web, 'a'), instance('n2', web, 'a')] }), launch: 0, stop: ['w1'] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      // An idle draining agent makes reconcile walk every instance instead of reading the app's counts: same answer.
      const walked: ClusterState = { ...c.s, agents: new Map([...c.s.agents, ['z', { ...agent('z'), draining: true }]]) };
      for (const [how, s] of [['counts', c.s], ['walk', walked]] as const) {
        const e = reconcile(s, context());
        assert.equal(e.launch.length, c.launch, how);
        assert.deepEqual(e.stop.map((i) => i.taskId), c.stop, how);
      }
    });
  }
});

test('reconcile launches only on connected agents and says why it cannot place', () => {
  const web = app({ id: '/web', instances: 1 });
  const e = reconcile(state({ apps: [web], agents: [agent('a')] }), context([]));
  assert.equal(e.launch.length, 0);
  assert.deepEqual(e.unplaced, [{ appId: '/web', count: 1, reason: 'no agents are connected' }]);
});

test('reconcile places an app with an image only on agents that run images, and says why it waits', () => {
  const web = app({ id: '/web', instances: 1, container: { type: 'DOCKER', docker: { image: 'busybox', forcePullImage: false, privileged: false, parameters: [] }, volumes: [] } });
  const waiting = reconcile(state({ apps: [web], agents: [agent('a'), agent('b')] }), context());
  assert.equal(waiting.launch.length, 0);
  assert.equal(waiting.unplaced[0]?.reason, 'no image runtime (crun, skopeo, umoci) on 2 of 2 agents');
  const placed = reconcile(state({ apps: [web], agents: [agent('a'), { ...agent('b'), capabilities: ['images'] }] }), context());
  assert.deepEqual(placed.launch.map((i) => i.agentId), ['b']);
});

test('reconcile is a fixed point: evaluating again after applying gives nothing', () => {
  const apps = [app({ id: '/a', instances: 3 }), app({ id: '/b', instances: 1, cpus: 0.5 })];
  let s = state({ apps, agents: [agent('a'), agent('b')] });
  s = applyEvaluation(s, context());
  assert.equal(s.instances.size, 4);
  const again = reconcile(s, context());
  assert.deepEqual([again.launch.length, again.stop.length], [0, 0]);
  s = applyEvaluation(applyOps(s, [{ op: 'put', coll: 'apps', key: '/a', value: { ...apps[0]!, instances: 1 } }]), context());
  assert.equal([...s.instances.values()].filter((i) => i.appId === '/a').length, 1);
  assert.deepEqual(reconcile(s, context()).stop, []);
});

test('reconcile holds launches of a backed-off app, until the delay passes or the app changes', () => {
  const web = app({ id: '/web', instances: 1 });
  const s = state({ apps: [web], agents: [agent('a')] });
  const delay = delayAfterFailure(undefined, web, Date.parse(NOW));
  const held = reconcile(s, context(['a'], new Map([['/web', delay]])));
  assert.equal(held.launch.length, 0);
  assert.match(held.unplaced[0]?.reason ?? '', /launch delayed 1 s more/);
  const later = reconcile(s, { ...context(['a'], new Map([['/web', delay]])), nowMs: delay.until });
  assert.equal(later.launch.length, 1);
  const scaled = state({ apps: [{ ...web, version: 'newer', instances: 2 }], agents: [agent('a')] });
  assert.equal(reconcile(scaled, context(['a'], new Map([['/web', delay]]))).launch.length, 0, 'a scale keeps the delay');
  const changed = state({ apps: [{ ...web, versionInfo: { ...web.versionInfo, lastConfigChangeAt: 'newer' } }], agents: [agent('a')] });
  assert.equal(reconcile(changed, context(['a'], new Map([['/web', delay]]))).launch.length, 1, 'a new configuration starts afresh');
});

test('launch delay grows by backoffFactor up to maxLaunchDelaySeconds', () => {
  const web = app({ id: '/web', backoffSeconds: 2, backoffFactor: 3, maxLaunchDelaySeconds: 10 });
  const delays: number[] = [];
  let delay;
  for (let i = 0; i < 4; i += 1) delays.push((delay = delayAfterFailure(delay, web, 0)).delayMs);
  assert.deepEqual(delays, [2000, 6000, 10000, 10000]);
});

test('reconcile launches in batches of maxLaunches', () => {
  const web = app({ id: '/web', instances: 50, cpus: 0, mem: 0, portDefinitions: [] });
  const s = state({ apps: [web], agents: [agent('a')] });
  assert.equal(reconcile(s, { ...context(['a']), maxLaunches: 20 }).launch.length, 20);
});

test('reconcile moves instances off a draining agent: new ones first, old ones once they run', () => {
  const web = app({ id: '/web', instances: 1 });
  const draining = { ...agent('a'), draining: true };
  const start = state({ apps: [web], agents: [draining, agent('b')], instances: [instance('old', web, 'a')] });
  const first = reconcile(start, context());
  assert.deepEqual(first.launch.map((i) => i.agentId), ['b'], 'never placed on the draining agent');
  assert.deepEqual(first.stop, [], 'the old one keeps serving meanwhile');
  const moved = state({ apps: [web], agents: [draining, agent('b')], instances: [instance('old', web, 'a'), instance('new', web, 'b')] });
  assert.deepEqual(reconcile(moved, context()).stop.map((i) => i.taskId), ['old']);
});

test('reconcile follows unreachableStrategy: counted, then replaced, then expunged', async (t) => {
  const since = new Date(Date.parse(NOW) - 30_000).toISOString();
  const cases = [
    { name: 'default {0,0}: expunged and replaced at once', strategy: undefined, launch: 1, expunge: ['u'] },
    { name: 'inactive after 60 s: still counted at 30 s', strategy: { inactiveAfterSeconds: 60, expungeAfterSeconds: 120 }, launch: 0, expunge: [] },
    { name: 'inactive after 10 s: replaced at 30 s, kept', strategy: { inactiveAfterSeconds: 10, expungeAfterSeconds: 120 }, launch: 1, expunge: [] },
    { name: 'disabled: counted forever', strategy: 'disabled' as const, launch: 0, expunge: [] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const web = app({ id: '/web', instances: 1, ...(c.strategy !== undefined ? { unreachableStrategy: c.strategy } : {}) });
      const s = state({ apps: [web], agents: [agent('a'), agent('b')], instances: [instance('u', web, 'a', { state: 'TASK_UNREACHABLE', unreachableSince: since })] });
      const e = reconcile(s, context());
      assert.equal(e.launch.length, c.launch);
      assert.deepEqual(e.expunge.map((i) => i.taskId), c.expunge);
      assert.deepEqual(e.stop, []);
    });
  }
});

test('replacing an outdated configuration waits for the new instances to be healthy', () => {
  const web = app({ id: '/web', instances: 1, healthChecks: [{ protocol: 'TCP' }] });
  const alive = [{ alive: true, consecutiveFailures: 0, firstSuccess: NOW, lastSuccess: NOW, lastFailure: null, lastFailureCause: null }];
  const unhealthy = state({ apps: [web], agents: [agent('a')], instances: [instance('old', web, 'a', { configVersion: 'old', healthResults: alive }), instance('new', web, 'a', { healthResults: [{ alive: false, consecutiveFailures: 1, firstSuccess: null, lastSuccess: null, lastFailure: NOW, lastFailureCause: 'refused' }] })] });
  assert.deepEqual(reconcile(unhealthy, context()).stop, []);
  const healthy = state({ apps: [web], agents: [agent('a')], instances: [instance('old', web, 'a', { configVersion: 'old', healthResults: alive }), instance('new', web, 'a', { healthResults: [{ alive: true, consecutiveFailures: 0, firstSuccess: NOW, lastSuccess: NOW, lastFailure: null, lastFailureCause: null }] })] });
  assert.deepEqual(reconcile(healthy, context()).stop.map((i) => i.taskId), ['old']);
});

test('scale-down stops an instance that violates a constraint before the youngest', () => {
  const web = app({ id: '/web', instances: 2, constraints: [['hostname', 'UNIQUE']] });
  const s = state({
    apps: [web],
    agents: [agent('a'), agent('b')],
    instances: [
      instance('a-old', web, 'a', { stagedAt: '2026-01-01T00:00:00.000Z' }),
      instance('a-dup', web, 'a', { stagedAt: '2026-01-02T00:00:00.000Z' }),
      instance('b-young', web, 'b', { stagedAt: '2026-01-03T00:00:00.000Z' }),
    ],
  });
  assert.deepEqual(reconcile(s, context()).stop.map((i) => i.taskId), ['a-dup']);
});

test('a deployment in steps: apps of a later step wait until the earlier steps are done', () => {
  const db = app({ id: '/shop/db', instances: 2 });
  const web = app({ id: '/shop/web', instances: 1, dependencies: ['/shop/db'] });
  const deployment = {
    id: 'd1', affectedApps: ['/shop/db', '/shop/web'], currentStep: 0, targets: { '/shop/db': 2, '/shop/web': 1 },
    original: { '/shop/db': null, '/shop/web': null }, startedAt: NOW,
    plan: { id: 'd1', version: NOW, steps: [{ actions: [{ action: 'StartApplication' as const, app: '/shop/db' }] }, { actions: [{ action: 'StartApplication' as const, app: '/shop/web' }] }] },
  };
  let s: ClusterState = { ...state({ apps: [db, web], agents: [agent('a'), agent('b')] }), deployments: new Map([['d1', deployment]]) };
  const first = reconcile(s, context());
  assert.deepEqual(first.launch.map((i) => i.appId), ['/shop/db', '/shop/db'], 'web is held while db deploys');
  assert.deepEqual(advanceDeployment(deployment, s), { currentStep: 0, finished: [], done: false });

  s = applyEvaluation(s, context());
  const progress = advanceDeployment(deployment, s);
  assert.deepEqual([progress.currentStep, progress.finished.length, progress.done], [1, 1, false], 'db running: step 1 begins');
  s = applyOps(s, [{ op: 'put', coll: 'deployments', key: 'd1', value: { ...deployment, currentStep: progress.currentStep } }]);
  assert.deepEqual(reconcile(s, context()).launch.map((i) => i.appId), ['/shop/web']);

  s = applyEvaluation(s, context());
  assert.equal(advanceDeployment({ ...deployment, currentStep: 1 }, s).done, true);
});
