import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deploymentProgress, mergeReadiness } from '../../src/ui/core/deployments.ts';
import type { App, Deployment, Task } from '../../src/ui/core/marathon.ts';

const task = (id: string, over: Partial<Task> = {}): Task => ({ id, appId: '/web', host: 'h', ports: [], state: 'TASK_RUNNING', version: 'v2', ...over });
const app = (over: Partial<App> = {}): App => ({ id: '/web', instances: 2, cpus: 1, mem: 32, version: 'v2', healthChecks: [{}], tasks: [], ...over });
const deployment = (action: string, results: Deployment['currentActions'][number]['readinessCheckResults'] = [], step = 1, steps = 1): Deployment => ({
  id: 'd', version: 'v2', affectedApps: ['/web'], steps: [], currentActions: [{ action, app: '/web', readinessCheckResults: results }], currentStep: step, totalSteps: steps,
});

test('deploymentProgress: instances of the new version, health and readiness in words; the share of the steps (table-driven)', () => {
  const cases: [name: string, d: Deployment, a: App, fraction: number, words: string, readiness: string[]][] = [
    ['starting: one of two healthy, an old one left', deployment('RestartApplication'), app({ tasks: [task('a', { healthy: true }), task('b', { state: 'TASK_STAGING' }), task('old', { version: 'v1' })] }),
      0.5, '1 of 2 running the new version, 1 healthy; 1 old instance(s) still there', []],
    ['readiness: one ready, one answering 503', deployment('RestartApplication', [
      { name: 'ready', taskId: 'a', ready: true },
      { name: 'ready', taskId: 'b', ready: false, lastResponse: { status: 503, body: '  warming\\n up  ' } },
      { name: 'ready', taskId: 'c', ready: false },
    ]), app({ readinessChecks: [{}], tasks: [task('a', { healthy: true }), task('b', { healthy: true })] }),
      0.5, '2 of 2 running the new version, 2 healthy, 1 of 2 ready', ['a ready', 'b not ready: HTTP 503 "warming\\n up"', 'c not ready: no answer yet']],
    ['no health checks: running counts', deployment('ScaleApplication', [], 2, 2), app({ healthChecks: [], instances: 4, tasks: [task('a'), task('b')] }), 0.75, '2 of 4 running the new version', []],
    ['stopping', deployment('StopApplication'), app({ tasks: [task('a')] }), 0, '1 instance(s) left to stop', []],
  ];
  for (const [name, d, a, fraction, words, readiness] of cases) {
    const progress = deploymentProgress(d, new Map([['/web', a]]));
    assert.equal(progress.fraction, fraction, name);
    assert.equal(progress.actions[0]?.words, words, name);
    assert.deepEqual(progress.actions[0]?.readiness.map((r) => `${r.taskId} ${r.text}`), readiness, name);
  }
});

test('mergeReadiness: results of the same step and action taken from a read; others left alone', () => {
  const known = new Map([['d', deployment('RestartApplication', [], 1, 2)], ['e', { ...deployment('RestartApplication'), id: 'e' }]]);
  const ready = [{ name: 'ready', taskId: 'a', ready: true }];
  const cases: [name: string, listed: Deployment[], d: unknown[], e: unknown[]][] = [
    ['same step', [deployment('RestartApplication', ready, 1, 2)], ready, []],
    ['another step (the events will say)', [deployment('RestartApplication', ready, 2, 2)], [], []],
    ['unknown here', [{ ...deployment('RestartApplication', ready), id: 'x' }], [], []],
  ];
  for (const [name, listed, d, e] of cases) {
    const merged = mergeReadiness(known, listed);
    assert.deepEqual(merged.get('d')?.currentActions[0]?.readinessCheckResults, d, name);
    assert.deepEqual(merged.get('e')?.currentActions[0]?.readinessCheckResults, e, name);
    assert.equal(merged.size, 2, name);
  }
});
