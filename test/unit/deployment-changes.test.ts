import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeApp } from '../../src/scheduler/core/app-changes.ts';
import { failDeployment } from '../../src/scheduler/core/deployment-changes.ts';
import { overdueDeployments, rollsBackOnFailure } from '../../src/scheduler/core/deployments.ts';
import { reconcile } from '../../src/scheduler/core/reconcile.ts';
import { applyOps } from '../../src/scheduler/core/state-ops.ts';
import type { ClusterState } from '../../src/scheduler/types.ts';
import { agent, app, instance, state } from '../support/scheduler-fixtures.ts';

const ctx = (now: string, deploymentId: string) => ({ now, deploymentId, force: false, clientIp: '', uri: '' });

/** The state after a PUT of `change` to /web, with its deployment still running. */
function deploying(change: Record<string, unknown>, base = state({ apps: [app({ id: '/web', cmd: 'sleep 1', instances: 2 })] })): ClusterState {
  const put = writeApp(base, change, 'partial', ctx('2026-05-01T00:00:00.000Z', 'd1'), 'web');
  assert.ok(put.ok);
  return applyOps(base, put.ops);
}

test('failing a deployment with rollback restores the app as it was, as a new deployment', () => {
  const s = deploying({ cmd: 'sleep 2', instances: 3 });
  const failed = failDeployment(s, 'd1', 'rolled back by request', true, ctx('2026-05-01T00:01:00.000Z', 'd2'));
  assert.ok(failed.ok);
  assert.deepEqual(failed.events.map((e) => e.eventType), ['deployment_step_failure', 'deployment_failed', 'api_post_event', 'group_change_success', 'deployment_info']);
  const after = applyOps(s, failed.ops);
  assert.deepEqual([after.apps.get('/web')?.cmd, after.apps.get('/web')?.instances], ['sleep 1', 2]);
  assert.deepEqual([...after.deployments.keys()], ['d2']);
  assert.equal(failed.rollback?.id, 'd2');
});

test('rolling back the creation of an app removes it; without rollback the app stays as asked', () => {
  const created = writeApp(state({}), { id: '/new', cmd: 'x' }, 'create', ctx('2026-05-01T00:00:00.000Z', 'd1'));
  assert.ok(created.ok);
  const s = applyOps(state({}), created.ops);
  const rolled = failDeployment(s, 'd1', 'r', true, ctx('2026-05-01T00:01:00.000Z', 'd2'));
  assert.ok(rolled.ok);
  assert.equal(applyOps(s, rolled.ops).apps.has('/new'), false);
  const stopped = failDeployment(s, 'd1', 'r', false, ctx('2026-05-01T00:01:00.000Z', 'd2'));
  assert.ok(stopped.ok);
  const after = applyOps(s, stopped.ops);
  assert.deepEqual([after.apps.has('/new'), after.deployments.size], [true, 0]);
  assert.equal(failDeployment(s, 'nope', 'r', true, ctx('t', 'd3')).ok, false);
});

test('overdue deployments: the app\'s own timeout wins over the scheduler\'s; rollback is opt-in', () => {
  const s = deploying({ instances: 3 });
  const started = Date.parse('2026-05-01T00:00:00.000Z');
  assert.deepEqual(overdueDeployments(s, started + 30_000, 60_000), []);
  assert.deepEqual(overdueDeployments(s, started + 61_000, 60_000).map((d) => d.id), ['d1']);
  assert.deepEqual(overdueDeployments(s, started + 61_000, 0), [], '0 = never');
  const own = deploying({ instances: 3, deploymentTimeoutSeconds: 10, rollbackOnDeploymentFailure: true });
  assert.deepEqual(overdueDeployments(own, started + 11_000, 0).map((d) => d.id), ['d1']);
  assert.equal(rollsBackOnFailure(own.deployments.get('d1')!, own), true);
  assert.equal(rollsBackOnFailure(s.deployments.get('d1')!, s), false);
});

test('a rollback replaces only the instances of the version rolled back; those still on the original stay', async (t) => {
  const web = app({ id: '/web', cmd: 'sleep 1', instances: 2 });
  const before = state({ apps: [web], agents: [agent('a'), agent('b')], instances: [instance('web.old1', web, 'a'), instance('web.old2', web, 'b')] });
  const cases = [
    { name: 'a new command', change: { cmd: 'sleep 2' } },
    { name: 'a new command and a scale', change: { cmd: 'sleep 2', instances: 3 } },
  ];
  for (const { name, change } of cases) {
    await t.test(name, () => {
      const upgrading = deploying(change, before);
      const next = upgrading.apps.get('/web')!;
      // One new instance came up before the rollback was asked for.
      const s = applyOps(upgrading, [{ op: 'put', coll: 'instances', key: 'web.new1', value: instance('web.new1', next, 'a') }]);
      const rolled = failDeployment(s, 'd1', 'rolled back by request', true, ctx('2026-05-01T00:01:00.000Z', 'd2'));
      assert.ok(rolled.ok);
      const after = applyOps(s, rolled.ops);
      assert.equal(after.apps.get('/web')?.versionInfo.lastConfigChangeAt, web.versionInfo.lastConfigChangeAt, 'the original configuration is back');
      const evaluation = reconcile(after, { now: 'x', nowMs: 0, connectedAgents: new Set(['a', 'b']), launchDelays: new Map(), maxLaunches: 10, newTaskId: (id) => `${id.slice(1)}.n`, newRunId: () => 'run' });
      assert.deepEqual(evaluation.stop.map((i) => i.taskId), ['web.new1']);
      assert.deepEqual(evaluation.launch, []);
    });
  }
});
