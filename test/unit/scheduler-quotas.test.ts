import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QuotaLimits } from '../../src/auth/types.ts';
import { killInstances, removeApps, restartApp, writeApp, writeApps, type AppChange, type ChangeContext } from '../../src/scheduler/core/app-changes.ts';
import { failDeployment } from '../../src/scheduler/core/deployment-changes.ts';
import { writeGroup } from '../../src/scheduler/core/groups.ts';
import { heldApp, quotaRows, writeEffect } from '../../src/scheduler/core/quotas.ts';
import { applyOps, emptyState, stateFromJson, stateToJson } from '../../src/scheduler/core/state-ops.ts';
import type { ClusterState, Instance } from '../../src/scheduler/types.ts';
import { app, instance, state } from '../support/scheduler-fixtures.ts';

const ctx = (fields: Partial<ChangeContext> = {}): ChangeContext => ({ now: '2026-01-02T00:00:00.000Z', deploymentId: 'd-new', force: false, clientIp: '127.0.0.1', uri: '/v2/apps', ...fields });

const withQuotas = (s: ClusterState, quotas: Record<string, QuotaLimits>): ClusterState => ({ ...s, quotas: new Map(Object.entries(quotas)) });

// /team-a declares 2 × 0.5 cpus + 1 × 0.5 cpus = 1.5 of its 2 cpus, 3 of its 4 instances.
const WEB = app({ id: '/team-a/web', instances: 2, cpus: 0.5, mem: 64, portDefinitions: [] });
const API = app({ id: '/team-a/api', instances: 1, cpus: 0.5, mem: 64, portDefinitions: [] });
const OTHER = app({ id: '/team-ab/x', instances: 1, cpus: 4, mem: 64, portDefinitions: [] });
const BASE = withQuotas(state({ apps: [WEB, API, OTHER], instances: [instance('team-a_web.1', WEB, 'a1'), instance('team-a_web.2', WEB, 'a1')] }), {
  '/team-a': { cpus: 2, instances: 4 },
});

test('every app write whose target state does not fit a quota is refused with the numbers', async (t) => {
  const cases: Array<{ name: string; change: (s: ClusterState) => AppChange; refused?: Array<[resource: string, used: number, requested: number]> }> = [
    { name: 'POST within the quota', change: (s) => writeApp(s, { id: '/team-a/new', cmd: 'x', cpus: 0.5, mem: 8 }, 'create', ctx()) },
    { name: 'POST over cpus', change: (s) => writeApp(s, { id: '/team-a/new', cmd: 'x', cpus: 1, mem: 8 }, 'create', ctx()), refused: [['cpus', 1.5, 1]] },
    { name: 'PUT scale over instances and cpus', change: (s) => writeApp(s, { instances: 4 }, 'partial', ctx(), '/team-a/web'), refused: [['cpus', 1.5, 1], ['instances', 3, 2]] },
    { name: 'PATCH growing per-instance cpus', change: (s) => writeApp(s, { cpus: 1 }, 'patch', ctx(), '/team-a/web'), refused: [['cpus', 1.5, 1]] },
    { name: 'PUT replace within', change: (s) => writeApp(s, { id: '/team-a/web', cmd: 'y', instances: 1, cpus: 0.5, mem: 64 }, 'replace', ctx(), '/team-a/web') },
    { name: 'bulk PUT, one app over', change: (s) => writeApps(s, [{ id: '/team-a/api', instances: 2 }, { id: '/team-a/web', cpus: 0.6 }], 'partial', ctx()), refused: [['cpus', 1.5, 0.7]] },
    { name: 'group PUT over', change: (s) => writeGroup(s, '/team-a', { apps: [{ id: 'big', cmd: 'x', cpus: 3 }] }, 'update', ctx()), refused: [['cpus', 1.5, 1.5]] },
    { name: 'group scaleBy over', change: (s) => writeGroup(s, '/team-a', { scaleBy: 2 }, 'update', ctx()), refused: [['cpus', 1.5, 1.5], ['instances', 3, 3]] },
    { name: 'group scaleBy within', change: (s) => writeGroup(s, '/team-a', { scaleBy: 1 }, 'update', ctx()) },
    { name: '/team-ab is not under /team-a', change: (s) => writeApp(s, { instances: 3 }, 'partial', ctx(), '/team-ab/x') },
    { name: 'a restart changes nothing counted', change: (s) => restartApp(s, '/team-a/web', ctx()) },
    { name: 'removal frees', change: (s) => removeApps(s, ['/team-a/web'], ctx()) },
    { name: 'dryRun computes it anyway', change: (s) => writeApp(s, { instances: 9 }, 'partial', ctx({ ignoreQuotas: true }), '/team-a/web') },
  ];
  for (const { name, change, refused } of cases) {
    await t.test(name, () => {
      const result = change(BASE);
      if (refused === undefined) return assert.ok(result.ok, JSON.stringify(result));
      assert.ok(!result.ok && result.error.code === 'ERR_SCHED_QUOTA_EXCEEDED', JSON.stringify(result));
      assert.deepEqual(result.error.refusals.map((r) => [r.resource, r.used, r.requested]), refused);
      assert.ok(result.error.refusals.every((r) => r.group === '/team-a' && r.limit === (r.resource === 'cpus' ? 2 : 4)));
      assert.match(result.error.message, /^quota of \/team-a: /);
    });
  }
  await t.test('a kill with scale only shrinks: allowed even over a lowered limit', () => {
    const lowered = withQuotas(BASE, { '/team-a': { instances: 1 } });
    const killed = killInstances(lowered, [lowered.instances.get('team-a_web.1')!], true, ctx());
    assert.ok(killed.ok);
  });
});

test('a rollback that no longer fits a quota is not made: the deployment fails without it', () => {
  const shrink = writeApp(BASE, { instances: 1 }, 'partial', ctx({ deploymentId: 'd1' }), '/team-a/web');
  assert.ok(shrink.ok);
  // The room freed is taken by another app before the shrink fails.
  let s = applyOps(BASE, shrink.ops);
  const grow = writeApp(s, { instances: 3 }, 'partial', ctx({ deploymentId: 'd2' }), '/team-a/api');
  assert.ok(grow.ok);
  s = applyOps(s, grow.ops);
  const failed = failDeployment(s, 'd1', 'timed out', true, ctx({ deploymentId: 'd3' }));
  assert.ok(failed.ok);
  assert.equal(failed.rollback, undefined);
  const reason = failed.events.find((e) => e.eventType === 'deployment_failed');
  assert.match(JSON.stringify(reason), /timed out; not rolled back: quota of \/team-a: /);
  assert.equal(applyOps(s, failed.ops).apps.get('/team-a/web')?.instances, 1);
});

test('quota rows and a write\'s effect', () => {
  const declared = { cpus: 1.5, mem: 192, disk: 0, gpus: 0, instances: 3 };
  assert.deepEqual(quotaRows(BASE), [{ group: '/team-a', limit: { cpus: 2, instances: 4 }, used: declared, held: declared }]);
  // A rolling upgrade's surge: a third instance of web (the old configuration) holds its share too; `used` stays what is declared.
  const surging = withQuotas(state({ apps: [WEB, API, OTHER], instances: [instance('team-a_web.1', WEB, 'a1'), instance('team-a_web.2', WEB, 'a1'), instance('team-a_web.3', WEB, 'a1', { configVersion: 'old' })] }), { '/team-a': { cpus: 2, instances: 4 } });
  assert.deepEqual(quotaRows(surging).map((row) => [row.used, row.held]), [[declared, { cpus: 2, mem: 256, disk: 0, gpus: 0, instances: 4 }]]);
  const effect = writeEffect(BASE, [{ ...WEB, instances: 3 }], []);
  assert.deepEqual(effect.map((e) => [e.group, e.used.instances, e.after.instances, e.fits]), [['/team-a', 3, 4, true]]);
  assert.deepEqual(writeEffect(BASE, [{ ...OTHER, instances: 3 }], []), []);
});

test('quotas survive a snapshot, and snapshots from before them still load', () => {
  const again = stateFromJson(JSON.parse(JSON.stringify(stateToJson(BASE))));
  assert.deepEqual([...again.quotas], [['/team-a', { cpus: 2, instances: 4 }]]);
  const { quotas: _q, ...old } = stateToJson(emptyState());
  assert.equal(stateFromJson(old as ReturnType<typeof stateToJson>).quotas.size, 0);
});

test('heldApp: what an app\'s instances hold, from its counts when settled and by walking them otherwise', async (t) => {
  const cases: Array<[name: string, instances: Instance[], live: [instances: number, cpus: number]]> = [
    ['settled, all running', [instance('w1', WEB, 'a'), instance('w2', WEB, 'a')], [2, 1]],
    ['settled, one staging, one ended', [instance('w1', WEB, 'a', { state: 'TASK_STAGING' }), instance('w2', WEB, 'a', { state: 'TASK_FAILED' })], [1, 0.5]],
    ['settled, one unreachable', [instance('w1', WEB, 'a', { state: 'TASK_UNREACHABLE' }), instance('w2', WEB, 'a')], [1, 0.5]],
    ['a stopping one still holds', [instance('w1', WEB, 'a', { goal: 'stopped', state: 'TASK_KILLING' }), instance('w2', WEB, 'a')], [2, 1]],
    ['old configuration, larger', [instance('w1', WEB, 'a', { configVersion: 'old', cpus: 2 }), instance('w2', WEB, 'a')], [2, 2.5]],
    ['more than declared (surge)', [instance('w1', WEB, 'a'), instance('w2', WEB, 'a'), instance('w3', WEB, 'a', { configVersion: 'old' })], [3, 1.5]],
  ];
  for (const [name, instances, [count, cpus]] of cases) {
    await t.test(name, () => {
      const held = heldApp(state({ apps: [WEB], instances }), WEB);
      assert.deepEqual([held.live.instances, held.live.cpus], [count, cpus]);
      assert.equal(held.declared.instances, 2);
    });
  }
});
