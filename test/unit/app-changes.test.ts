import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  appInstancesToKill, instancesByTaskIds, killInstances, restartApp, versionKey, writeApp, writeApps, type ChangeContext,
} from '../../src/scheduler/core/app-changes.ts';
import { buildApp } from '../../src/scheduler/core/app-definition.ts';
import { appInstances, appJson, launchQueue, queueEntryJson, resolveAppEmbeds } from '../../src/scheduler/core/marathon-json.ts';
import { planDeployment } from '../../src/scheduler/core/deployments.ts';
import { applyOps } from '../../src/scheduler/core/state-ops.ts';
import type { AppDefinition, ClusterState, Instance, StateOp } from '../../src/scheduler/types.ts';
import { agent, instance, state } from '../support/scheduler-fixtures.ts';
import { httpError } from '../../src/scheduler/api/http-errors.ts';

const V1 = '2026-01-01T00:00:00.000Z';
const V2 = '2026-01-02T00:00:00.000Z';
const LATER = '2026-01-03T00:00:00.000Z';

const ctx = (fields: Partial<ChangeContext> = {}): ChangeContext => ({ now: LATER, deploymentId: 'd-new', force: false, clientIp: '127.0.0.1', uri: '/v2/apps', ...fields });

function built(fields: Record<string, unknown>, now: string, apps: ReadonlyMap<string, AppDefinition> = new Map()): AppDefinition {
  const result = buildApp({ cmd: 'sleep 1000', ...fields }, { now, apps });
  if (!result.ok) throw new Error(JSON.stringify(result.details));
  return result.app;
}

/** `/web` created at V1 with `cmd: one`, changed at V2 to `cmd: two`; both versions stored. */
function history(): { s: ClusterState; v1: AppDefinition; v2: AppDefinition } {
  const v1 = built({ id: '/web', cmd: 'one', instances: 2 }, V1);
  const v2 = built({ id: '/web', cmd: 'two', instances: 2 }, V2, new Map([[v1.id, v1]]));
  const s = { ...state({ apps: [v2], agents: [agent('a')] }), appVersions: new Map([[versionKey('/web', V1), v1], [versionKey('/web', V2), v2]]) };
  return { s, v1, v2 };
}

const ok = <T extends { ok: boolean }>(change: T): Extract<T, { ok: true }> => {
  if (!change.ok) throw new Error(JSON.stringify((change as unknown as { error: unknown }).error));
  return change as Extract<T, { ok: true }>;
};

const putOf = (ops: readonly StateOp[], coll: string, key: string): unknown => ops.find((o) => o.op === 'put' && o.coll === coll && o.key === key)?.['value' as never];

test('rollback: a body of only {version} brings that definition back as a new version', () => {
  const { s } = history();
  const change = ok(writeApp(s, { version: V1 }, 'partial', ctx(), '/web'));
  const app = change.app as AppDefinition;
  assert.equal(app.cmd, 'one');
  assert.equal(app.version, LATER);
  assert.deepEqual(app.versionInfo, { lastScalingAt: LATER, lastConfigChangeAt: LATER }, 'a different configuration: instances get replaced');
  assert.deepEqual(change.deployment.plan.steps, [{ actions: [{ action: 'RestartApplication', app: '/web' }] }]);
  assert.deepEqual(putOf(change.ops, 'appVersions', versionKey('/web', LATER)), app, 'the rollback is itself a stored version');
  assert.equal(change.events.some((e) => e.eventType === 'api_post_event'), true);
});

test('rollback: to a version that differs only in instances is a scale', () => {
  const v1 = built({ id: '/web', instances: 1 }, V1);
  const v2 = built({ id: '/web', instances: 3 }, V2, new Map([[v1.id, v1]]));
  const s = { ...state({ apps: [v2] }), appVersions: new Map([[versionKey('/web', V1), v1], [versionKey('/web', V2), v2]]) };
  const app = ok(writeApp(s, { id: '/web', version: V1 }, 'partial', ctx(), '/web')).app as AppDefinition;
  assert.equal(app.instances, 1);
  assert.deepEqual(app.versionInfo, { lastScalingAt: LATER, lastConfigChangeAt: V1 });
});

test('rollback: unknown version or app is a 404; the stored version is not touched', () => {
  const { s, v1 } = history();
  const frozen = structuredClone(v1);
  const missing = writeApp(s, { version: '2020-01-01T00:00:00.000Z' }, 'partial', ctx(), '/web');
  assert.equal(missing.ok, false);
  assert.deepEqual(missing.ok ? undefined : [httpError(missing.error).statusCode, httpError(missing.error).body], [404, { message: "App '/web' does not exist in version 2020-01-01T00:00:00.000Z" }]);
  const noApp = writeApp(s, { version: V1 }, 'partial', ctx(), '/nope');
  assert.deepEqual(noApp.ok ? undefined : httpError(noApp.error).body, { message: "App '/nope' does not exist" });
  ok(writeApp(s, { version: V1 }, 'partial', ctx(), '/web'));
  assert.deepEqual(s.appVersions.get(versionKey('/web', V1)), frozen);
});

test('rollback: `version` beside other fields is the read-only field of GET output, not a rollback', () => {
  const { s } = history();
  const app = ok(writeApp(s, { version: V1, cmd: 'three' }, 'partial', ctx(), '/web')).app as AppDefinition;
  assert.equal(app.cmd, 'three');
});

test('restart: a new configuration of the same definition, one deployment', () => {
  const { s, v2 } = history();
  const change = ok(restartApp(s, '/web', ctx()));
  const app = change.app as AppDefinition;
  assert.deepEqual({ ...app, version: v2.version, versionInfo: v2.versionInfo }, v2, 'nothing else changes');
  assert.deepEqual(app.versionInfo, { lastScalingAt: LATER, lastConfigChangeAt: LATER });
  assert.deepEqual(change.deployment.plan.steps, [{ actions: [{ action: 'RestartApplication', app: '/web' }] }]);
  assert.equal(change.deployment.targets['/web'], 2);
  const unknown = restartApp(s, 'nope', ctx());
  assert.deepEqual(unknown.ok ? undefined : httpError(unknown.error).statusCode, 404);
});

test('restart: refused while a deployment holds the app, unless forced (which cancels it)', () => {
  const { s, v1, v2 } = history();
  const held = { ...s, deployments: new Map([['d-old', planDeployment('d-old', v1, v2, V2)]]) };
  const refused = restartApp(held, '/web', ctx());
  assert.deepEqual(refused.ok ? undefined : [httpError(refused.error).statusCode, httpError(refused.error).body.deployments], [409, [{ id: 'd-old' }]]);
  const forced = ok(restartApp(held, '/web', ctx({ force: true })));
  assert.equal(forced.ops.some((o) => o.op === 'del' && o.coll === 'deployments' && o.key === 'd-old'), true);
  assert.equal(forced.events.some((e) => e.eventType === 'deployment_failed'), true);
});

test('authorization before conflict: a write to root without run-as-root is 403 even while a deployment holds the app', () => {
  const { s, v1, v2 } = history();
  const held = { ...s, deployments: new Map([['d-old', planDeployment('d-old', v1, v2, V2)]]) };
  const writer = { id: 'team', kind: 'user' as const };
  const grants = new Map([['g', { identity: 'team', actions: ['update' as const], path: '/' }]]);
  const refused = writeApp({ ...held, grants }, { user: 'root' }, 'patch', ctx({ writer }), '/web');
  assert.equal(refused.ok ? undefined : httpError(refused.error).statusCode, 403, 'Marathon authorizes before it looks for a conflicting deployment');
  const conflict = writeApp({ ...held, grants }, { user: 'nobody' }, 'patch', ctx({ writer }), '/web');
  assert.equal(conflict.ok ? undefined : httpError(conflict.error).statusCode, 409, 'an allowed write still meets the held app');
});

function running(): { s: ClusterState; web: AppDefinition; tasks: Instance[] } {
  const web = built({ id: '/web', instances: 3 }, V1);
  const tasks = [
    instance('web.1', web, 'a', { host: '10.0.0.1' }),
    instance('web.2', web, 'b', { host: '10.0.0.2' }),
    instance('web.3', web, 'b', { host: '10.0.0.2', goal: 'stopped', state: 'TASK_KILLING' }),
  ];
  return { s: state({ apps: [web], agents: [agent('a'), { ...agent('b'), hostname: 'node-b' }], instances: tasks }), web, tasks };
}

test('kill: without scale the instances stop and the app is unchanged (the reconciler replaces them)', () => {
  const { s, tasks } = running();
  const change = ok(killInstances(s, tasks.slice(0, 1), false, ctx()));
  assert.equal(change.deployment, undefined);
  assert.deepEqual(change.killed.map((i) => i.taskId), ['web.1']);
  const after = applyOps(s, change.ops);
  assert.deepEqual([after.instances.get('web.1')?.goal, after.instances.get('web.1')?.state], ['stopped', 'TASK_KILLING']);
  assert.equal(after.apps.get('/web'), s.apps.get('/web'));
  assert.deepEqual(change.events.map((e) => e.eventType), ['status_update_event', 'instance_changed_event']);
});

test('kill: with scale instances drop by the number killed, a scale deployment, lastConfigChangeAt kept', () => {
  const { s, tasks } = running();
  // web.3 is already being killed: not killed or counted again.
  const change = ok(killInstances(s, tasks, true, ctx()));
  assert.deepEqual(change.killed.map((i) => i.taskId), ['web.1', 'web.2']);
  const after = applyOps(s, change.ops);
  const app = after.apps.get('/web') as AppDefinition;
  assert.equal(app.instances, 1);
  assert.deepEqual(app.versionInfo, { lastScalingAt: LATER, lastConfigChangeAt: V1 });
  assert.deepEqual(change.deployment?.plan.steps, [{ actions: [{ action: 'ScaleApplication', app: '/web' }] }]);
  assert.equal(change.deployment?.targets['/web'], 1);
  assert.equal(after.deployments.has('d-new'), true);
  assert.equal(after.appVersions.has(versionKey('/web', LATER)), true);
});

test('kill: never scales below zero; with scale a held app is refused', () => {
  const { s, web, tasks } = running();
  const small = { ...s, apps: new Map([['/web', { ...web, instances: 1 }]]) };
  assert.equal(applyOps(small, ok(killInstances(small, tasks, true, ctx())).ops).apps.get('/web')?.instances, 0);
  const held = { ...s, deployments: new Map([['d-old', planDeployment('d-old', undefined, web, V1)]]) };
  const refused = killInstances(held, tasks, true, ctx());
  assert.equal(refused.ok ? 0 : httpError(refused.error).statusCode, 409);
  assert.equal(killInstances(held, tasks, false, ctx()).ok, true, 'a plain kill is not a deployment');
});

test('kill selection: host (task host or agent hostname, * for all) and task ids', () => {
  const { s } = running();
  const ids = (list: readonly Instance[]): string[] => list.map((i) => i.taskId).sort();
  assert.deepEqual(ids(appInstancesToKill(s, '/web')), ['web.1', 'web.2', 'web.3']);
  assert.deepEqual(ids(appInstancesToKill(s, '/web', '10.0.0.1')), ['web.1']);
  assert.deepEqual(ids(appInstancesToKill(s, '/web', 'node-b')), ['web.2', 'web.3']);
  assert.deepEqual(ids(appInstancesToKill(s, '/web', '*')), ['web.1', 'web.2', 'web.3']);
  assert.deepEqual(ids(appInstancesToKill(s, '/other')), []);
  const found = instancesByTaskIds(s, ['web.1', 'web.9', 'web.1']);
  assert.deepEqual(found.ok ? ids(found.instances) : found, ['web.1'], 'unknown ids are ignored, repeats collapse');
  const bad = instancesByTaskIds(s, ['not-a-task-id']);
  assert.deepEqual(bad.ok ? undefined : [httpError(bad.error).statusCode, httpError(bad.error).body], [400, { message: "Invalid task id 'not-a-task-id'." }]);
  assert.equal(instancesByTaskIds(s, 'web.1').ok, false);
});

test('batch: several apps in one deployment; any invalid one refuses all, with its index in the path', () => {
  const { s } = history();
  const change = ok(writeApps(s, [{ id: '/web', instances: 5 }, { id: '/db', cmd: 'sleep 1' }], 'partial', ctx()));
  assert.deepEqual(change.deployment.affectedApps, ['/web', '/db']);
  assert.deepEqual(change.deployment.plan.steps, [{ actions: [{ action: 'ScaleApplication', app: '/web' }, { action: 'StartApplication', app: '/db' }] }]);
  assert.deepEqual(change.deployment.targets, { '/web': 5, '/db': 1 });
  const after = applyOps(s, change.ops);
  assert.equal(after.apps.get('/web')?.cmd, 'two', 'partial: fields not given are kept');
  const servicePorts = [...after.apps.values()].map((a) => a.portDefinitions[0]?.port);
  assert.equal(new Set(servicePorts).size, servicePorts.length, 'service ports unique across the batch');

  const bad = writeApps(s, [{ id: '/web', instances: 5 }, { id: '/db', cmd: 'sleep 1', cpus: -1 }], 'partial', ctx());
  assert.deepEqual(bad.ok ? undefined : [httpError(bad.error).statusCode, (httpError(bad.error).body.details as Array<{ path: string }>)[0]?.path], [422, '/1/cpus']);
  const noId = writeApps(s, [{ instances: 1 }], 'partial', ctx());
  assert.deepEqual(noId.ok ? undefined : (httpError(noId.error).body.details as Array<{ path: string }>)[0]?.path, '/0/id');
  assert.equal(writeApps(s, { id: '/web' }, 'partial', ctx()).ok, false);
  const patchUnknown = writeApps(s, [{ id: '/nope', instances: 1 }], 'patch', ctx());
  assert.deepEqual(patchUnknown.ok ? undefined : httpError(patchUnknown.error).body, { message: "App '/nope' does not exist" });
  assert.equal(ok(writeApps(s, [{ id: '/web', version: V1 }], 'partial', ctx())).deployment.plan.steps[0]?.actions[0]?.action, 'RestartApplication', 'a batch item can roll back');
});

test('app json embeds: prefixes interchangeable, failures = tasks + lastTaskFailure, taskStats by version', () => {
  assert.deepEqual([...resolveAppEmbeds(['apps.tasks', 'app.taskStats', 'group.apps.lastTaskFailure', 'readiness', 'apps.counts', 'bogus'])].sort(), ['lastTaskFailure', 'readiness', 'taskStats', 'tasks']);
  assert.deepEqual([...resolveAppEmbeds(['apps.failures'])].sort(), ['lastTaskFailure', 'tasks']);
  const web = { ...built({ id: '/web', instances: 2 }, V1), version: V2, versionInfo: { lastScalingAt: V2, lastConfigChangeAt: V1 } };
  const old = instance('web.1', web, 'a', { version: V1, startedAt: V1 });
  const fresh = instance('web.2', web, 'a', { version: V2, startedAt: V2 });
  const staging = instance('web.3', web, 'a', { version: V2, state: 'TASK_STAGING' });
  const json = appJson(web, appInstances(state({ apps: [web], instances: [old, fresh, staging] }), web), [], { embedTasks: false, taskStatsAt: Date.parse(LATER) });
  // Counted from the state's tallies, not from a walk over the instances.
  assert.deepEqual([json.tasksStaged, json.tasksRunning, json.tasksHealthy, json.tasksUnhealthy], [1, 2, 0, 0]);
  const day = 86400;
  assert.deepEqual(json.taskStats, {
    startedAfterLastScaling: { stats: { counts: { staged: 1, running: 1, healthy: 0, unhealthy: 0 }, lifeTime: { averageSeconds: day, medianSeconds: day } } },
    withLatestConfig: { stats: { counts: { staged: 1, running: 2, healthy: 0, unhealthy: 0 }, lifeTime: { averageSeconds: 1.5 * day, medianSeconds: 1.5 * day } } },
    totalSummary: { stats: { counts: { staged: 1, running: 2, healthy: 0, unhealthy: 0 }, lifeTime: { averageSeconds: 1.5 * day, medianSeconds: 1.5 * day } } },
  });
  assert.equal('tasks' in json, false);
  assert.equal('lastTaskFailure' in appJson(web, appInstances(state({ apps: [web] }), web), [], { embedTasks: false, embedLastTaskFailure: true }), false, 'no failure, no key');
});

test('queue: one entry per waiting app with its reasons; delay while backing off', () => {
  const web = built({ id: '/web', instances: 3 }, V1);
  const apps = new Map([['/web', web]]);
  const unplaced = [
    { appId: '/web', count: 2, reason: 'insufficient cpus on 2 of 2 agents' },
    { appId: '/gone', count: 1, reason: 'no agents are connected' },
  ];
  const nowMs = Date.parse(LATER);
  const delays = new Map([['/web', { configVersion: V1, delayMs: 10_000, until: nowMs + 7_500 }]]);
  const entries = launchQueue(apps, unplaced, delays);
  assert.deepEqual(entries.map((e) => [e.app.id, e.count]), [['/web', 2]]);
  const json = queueEntryJson(entries[0] as (typeof entries)[number], undefined, nowMs);
  assert.deepEqual(json.delay, { timeLeftSeconds: 7, overdue: false });
  assert.equal(json.since, new Date(nowMs - 2_500).toISOString());
  assert.equal(json.reason, 'insufficient cpus on 2 of 2 agents');
  const idle = queueEntryJson({ ...(entries[0] as (typeof entries)[number]), delay: undefined }, undefined, nowMs);
  assert.deepEqual([idle.delay, idle.since], [{ timeLeftSeconds: 0, overdue: true }, V1]);
});

test('queue: Corral\'s refusals name each reason with its agents, and the constraint it is (table-driven)', () => {
  const web = built({ id: '/web', instances: 3, constraints: [['hostname', 'UNIQUE'], ['rack', 'MAX_PER', '2']] }, V1);
  const cases: [name: string, refusals: Record<string, number> | undefined, expected: unknown][] = [
    ['no agent tried', undefined, []],
    ['constraints and resources, most agents first', { 'insufficient mem': 1, 'UNIQUE hostname': 3, 'MAX_PER rack:2': 2, 'agent draining': 1 }, [
      { reason: 'UNIQUE hostname', agents: 3, constraint: ['hostname', 'UNIQUE'] },
      { reason: 'MAX_PER rack:2', agents: 2, constraint: ['rack', 'MAX_PER', '2'] },
      { reason: 'agent draining', agents: 1 },
      { reason: 'insufficient mem', agents: 1 },
    ]],
  ];
  for (const [name, refusals, expected] of cases) {
    const unplaced = [{ appId: '/web', count: 1, reason: 'x', ...(refusals === undefined ? {} : { refusals, agentCount: 7 }) }];
    const [entry] = launchQueue(new Map([['/web', web]]), unplaced, new Map());
    assert.deepEqual(queueEntryJson(entry as NonNullable<typeof entry>, undefined, Date.parse(LATER)).refusals, expected, name);
  }
});
