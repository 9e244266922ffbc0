import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  appReadiness, applyDeploymentEvent, applyDeploymentJson, describeOutcome, describeProgress, progressFraction, startProgress, type DeploymentProgress,
} from '../../src/cli/client/core/deployment-progress.ts';

const plan = {
  id: 'd1',
  version: 'v',
  steps: [{ actions: [{ action: 'StartApplication', app: '/db' }] }, { actions: [{ action: 'StartApplication', app: '/web' }] }],
};

function fold(events: Array<[string, Record<string, unknown>]>, from: DeploymentProgress = startProgress('d1')): DeploymentProgress {
  return events.reduce((p, [type, data]) => applyDeploymentEvent(p, type, data), from);
}

const status = (appId: string, taskId: string, taskStatus: string): [string, Record<string, unknown>] => ['status_update_event', { appId, taskId, taskStatus }];

test('events of the deployment give its steps, apps and what happened to its instances; others are ignored', () => {
  const p = fold([
    status('/web', 'early.1', 'TASK_RUNNING'), // before the plan is known: not yet an affected app
    ['deployment_info', { plan, currentStep: plan.steps[0] }],
    status('/db', 'db.1', 'TASK_RUNNING'),
    status('/db', 'db.1', 'TASK_RUNNING'), // a repeat counts once
    status('/other', 'other.1', 'TASK_RUNNING'),
    ['instance_health_changed_event', { runSpecId: '/db', instanceId: 'db.1', healthy: true }],
    ['instance_health_changed_event', { runSpecId: '/db', instanceId: 'db.2', healthy: false }],
    ['deployment_step_success', { plan, currentStep: plan.steps[0] }],
    ['deployment_info', { plan: { ...plan, id: 'd2' }, currentStep: plan.steps[1] }],
    status('/web', 'web.1', 'TASK_KILLED'),
    status('/web', 'web.2', 'TASK_FAILED'),
  ]);
  assert.deepEqual([p.step, p.totalSteps, p.apps], [2, 2, ['/db', '/web']]);
  assert.deepEqual([[...p.started], [...p.healthy], [...p.killed], [...p.failed]], [['db.1'], ['db.1'], ['web.1'], ['web.2']]);
  assert.equal(p.outcome, undefined);
});

test('the outcome is the end event of this deployment only, and nothing changes after it', () => {
  const running = fold([['deployment_info', { plan, currentStep: plan.steps[0] }]]);
  assert.equal(fold([['deployment_success', { id: 'other', plan }]], running).outcome, undefined);
  const failed = fold([['deployment_failed', { id: 'd1', plan, reason: 'did not finish within its timeout' }], status('/db', 'db.9', 'TASK_RUNNING')], running);
  assert.deepEqual(failed.outcome, { ok: false, reason: 'did not finish within its timeout' });
  assert.equal(failed.started.size, 0);
  const done = fold([['deployment_success', { id: 'd1', plan }]], running);
  assert.deepEqual([done.outcome, done.step], [{ ok: true }, 2]);
});

test('applyDeploymentJson reads Marathon\'s deployment listing', () => {
  const p = applyDeploymentJson(startProgress('d1'), { id: 'd1', affectedApps: ['/a'], currentStep: 1, totalSteps: 3 });
  assert.deepEqual([p.apps, p.step, p.totalSteps], [['/a'], 1, 3]);
});

test('appReadiness counts running tasks of the current configuration that pass their health checks', () => {
  const base = { id: '/web', instances: 3, version: '2026-01-02T00:00:00.000Z', versionInfo: { lastConfigChangeAt: '2026-01-02T00:00:00.000Z' } };
  const task = (version: string, state: string, alive?: boolean) => ({ version, state, healthCheckResults: alive === undefined ? [] : [{ alive }] });
  const cases: Array<[Record<string, unknown>, { ready: number; others: number }]> = [
    [{ ...base, tasks: [task('2026-01-02T00:00:00.000Z', 'TASK_RUNNING'), task('2026-01-02T00:00:00.000Z', 'TASK_STAGING')] }, { ready: 1, others: 1 }],
    [{ ...base, tasks: [task('2026-01-01T00:00:00.000Z', 'TASK_RUNNING'), task('2026-01-03T00:00:00.000Z', 'TASK_RUNNING')] }, { ready: 1, others: 1 }],
    [{ ...base, healthChecks: [{}], tasks: [task(base.version, 'TASK_RUNNING', true), task(base.version, 'TASK_RUNNING', false), task(base.version, 'TASK_RUNNING')] }, { ready: 1, others: 2 }],
    [{ ...base }, { ready: 0, others: 0 }],
  ];
  for (const [app, expected] of cases) assert.deepEqual(appReadiness(app), { id: '/web', target: 3, ...expected });
});

test('the progress line and bar; the closing line says success or the reason', () => {
  const p: DeploymentProgress = {
    ...fold([['deployment_info', { plan, currentStep: plan.steps[0] }], status('/db', 'db.1', 'TASK_RUNNING')]),
    readiness: [{ id: '/db', target: 2, ready: 1, others: 0 }, { id: '/web', target: 0, ready: 0, others: 1 }],
  };
  assert.equal(progressFraction(p), 0.25);
  assert.equal(describeProgress(p, { unicode: false, barWidth: 8 }), 'step 1/2 [##------] 1/2 ready · started 1 · healthy 0 · killed 0');
  assert.equal(describeProgress({ ...p, failed: new Set(['x']) }, { unicode: true, barWidth: 4 }), 'step 1/2 [█░░░] 1/2 ready · started 1 · healthy 0 · killed 0 · failed 1');
  assert.equal(describeOutcome({ ...p, outcome: { ok: true } }, 1234, { unicode: false }), 'OK: deployment d1 succeeded in 1.2s (started 1 · healthy 0 · killed 0)');
  assert.equal(describeOutcome({ ...p, outcome: { ok: false, reason: 'stopped' } }, 500, { unicode: true }), 'deployment d1 failed after 0.5s: stopped');
  assert.equal(progressFraction({ ...p, outcome: { ok: true } }), 1);
  assert.equal(progressFraction(startProgress('d1')), 0);
});
