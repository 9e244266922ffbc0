import assert from 'node:assert/strict';
import { test } from 'node:test';
import { removeApps, scaleApps, type ChangeContext } from '../../src/scheduler/core/app-changes.ts';
import {
  buildGroupTree, flattenGroup, groupJson, leftOut, removeGroup, resolveId, scaledInstances, writeGroup, type GroupTree,
} from '../../src/scheduler/core/groups.ts';
import { groupVersionsOf, MAX_GROUP_VERSIONS } from '../../src/scheduler/core/group-versions.ts';
import { applyOps } from '../../src/scheduler/core/state-ops.ts';
import { httpError } from '../../src/scheduler/api/http-errors.ts';
import type { SchedulerError } from '../../src/scheduler/errors.ts';
import type { AppDefinition, ClusterState, Deployment } from '../../src/scheduler/types.ts';
import { app, state } from '../support/scheduler-fixtures.ts';

const LATER = '2026-01-03T00:00:00.000Z';
const ctx = (fields: Partial<ChangeContext> = {}): ChangeContext => ({ now: LATER, deploymentId: 'd-new', force: false, clientIp: '127.0.0.1', uri: '/v2/groups', ...fields });

/** Builds apps one after another so service ports stay unique, as the API would. */
function shop(): ClusterState {
  const apps = new Map<string, AppDefinition>();
  for (const [id, instances] of [['/shop/web', 2], ['/shop/db/pg', 1], ['/shop/db/redis', 3], ['/other', 1]] as const) {
    apps.set(id, app({ id, instances }, apps));
  }
  return state({ apps: [...apps.values()] });
}

/** The tree as ids only: `{id, apps, groups}`. */
const shape = (tree: GroupTree | undefined): unknown =>
  tree === undefined ? undefined : { id: tree.id, apps: tree.apps.map((a) => a.id), groups: tree.groups.map(shape) };

const ok = <T extends { ok: boolean }>(change: T): Extract<T, { ok: true }> => {
  if (!change.ok) throw new Error(JSON.stringify((change as unknown as { error: unknown }).error));
  return change as Extract<T, { ok: true }>;
};
const failed = (change: { ok: boolean }): { status: number; body: unknown } => {
  assert.equal(change.ok, false);
  const { statusCode, body } = httpError((change as unknown as { error: SchedulerError }).error);
  return { status: statusCode, body };
};

test('buildGroupTree: nested groups from app ids, sorted; the root always exists; unknown groups do not', () => {
  const s = shop();
  assert.deepEqual(shape(buildGroupTree(s.apps.values(), '/')), {
    id: '/',
    apps: ['/other'],
    groups: [{ id: '/shop', apps: ['/shop/web'], groups: [{ id: '/shop/db', apps: ['/shop/db/pg', '/shop/db/redis'], groups: [] }] }],
  });
  assert.deepEqual(shape(buildGroupTree(s.apps.values(), '/shop/db')), { id: '/shop/db', apps: ['/shop/db/pg', '/shop/db/redis'], groups: [] });
  assert.equal(buildGroupTree(s.apps.values(), '/shop/web'), undefined, 'an app is not a group');
  assert.equal(buildGroupTree(s.apps.values(), '/sho'), undefined, 'a prefix of a segment is not a group');
  assert.deepEqual(shape(buildGroupTree([], '/')), { id: '/', apps: [], groups: [] });
});

test('groupJson: Marathon shape; version is the newest app version under the group, else the fallback', () => {
  const s = shop();
  const tree = buildGroupTree(s.apps.values(), '/shop') as GroupTree;
  const json = groupJson(tree, (a) => ({ id: a.id }), 'fallback');
  assert.deepEqual(Object.keys(json).sort(), ['apps', 'dependencies', 'groups', 'id', 'pods', 'version']);
  assert.deepEqual(json.apps, [{ id: '/shop/web' }]);
  assert.equal(json.version, s.apps.get('/shop/web')?.version);
  assert.equal(groupJson(buildGroupTree([], '/') as GroupTree, () => ({}), 'fallback').version, 'fallback');
});

test('resolveId: relative ids join the base, absolute stay, . and .. are followed', () => {
  const cases: Array<[raw: string, base: string, expected: string | undefined]> = [
    ['web', '/shop', '/shop/web'],
    ['db/pg', '/shop', '/shop/db/pg'],
    ['/shop/web', '/other', '/shop/web'],
    ['./web', '/shop', '/shop/web'],
    ['../web', '/shop/db', '/shop/web'],
    ['web/', '/', '/web'],
    ['', '/', '/'],
    ['../..', '/shop', undefined],
  ];
  for (const [raw, base, expected] of cases) assert.equal(resolveId(raw, base), expected, `${raw} in ${base}`);
});

test('flattenGroup: app ids made absolute in the group they sit in, with their place in the body', () => {
  const result = flattenGroup({ id: 'shop', apps: [{ id: 'web', cmd: 'x' }], groups: [{ id: 'db', apps: [{ id: 'pg', cmd: 'y' }, { id: '/shop/db/redis', cmd: 'z' }] }] }, '/shop');
  assert.ok(result.ok);
  assert.deepEqual(result.apps.map((a) => [a.pointer, a.body.id]), [
    ['/apps/0', '/shop/web'],
    ['/groups/0/apps/0', '/shop/db/pg'],
    ['/groups/0/apps/1', '/shop/db/redis'],
  ]);
});

test('flattenGroup: refusals as data — bad dependencies, pods, ids outside the group, missing ids, non-arrays', () => {
  const result = flattenGroup({
    dependencies: ['../../..'],
    pods: [{}],
    apps: [{ id: '/elsewhere/web', cmd: 'x' }, { cmd: 'no id' }, { id: 'a', cmd: 'x', dependencies: 'b' }],
    groups: [{ id: 'g', apps: 'not a list' }, { id: '../../up' }],
  }, '/shop');
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.details, [
    { path: '/dependencies/0', errors: ['../../.. climbs above the root group'] },
    { path: '/pods', errors: ['pods are not supported'] },
    { path: '/apps/0/id', errors: ['must be under the group /shop'] },
    { path: '/apps/1/id', errors: ['an id is required'] },
    { path: '/apps/2/dependencies', errors: ['expected an array of app or group ids'] },
    { path: '/groups/0/apps', errors: ['expected an array'] },
    { path: '/groups/1/id', errors: ['must be under the group /shop'] },
  ]);
});

test('dependencies order a group deployment: stops first, then each app after what it depends on', async (t) => {
  const cases: Array<{ name: string; apps: Array<Record<string, unknown>>; groupDeps?: string[]; steps: string[][] }> = [
    { name: 'independent apps share one step', apps: [{ id: 'web' }, { id: 'db' }], steps: [['/shop/web', '/shop/db']] },
    { name: 'a chain is one step per app', apps: [{ id: 'web', dependencies: ['api'] }, { id: 'api', dependencies: ['db'] }, { id: 'db' }], steps: [['/shop/db'], ['/shop/api'], ['/shop/web']] },
    { name: 'a dependency on a group waits for every app in it', apps: [{ id: 'web', dependencies: ['data'] }], groupDeps: [], steps: [['/shop/data/pg', '/shop/data/redis'], ['/shop/web']] },
    { name: 'absolute ids and apps outside the deployment', apps: [{ id: 'web', dependencies: ['/shop/db', '/elsewhere'] }, { id: 'db' }], steps: [['/shop/db'], ['/shop/web']] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const groups = c.groupDeps === undefined ? [] : [{ id: 'data', apps: [{ id: 'pg', cmd: 'x', instances: 0 }, { id: 'redis', cmd: 'x', instances: 0 }] }];
      const body = { id: '/shop', apps: c.apps.map((a) => ({ cmd: 'x', instances: 0, ...a })), groups };
      const change = ok(writeGroup(state({}), '/shop', body, 'create', ctx()));
      assert.deepEqual(change.deployment.plan.steps.map((s) => s.actions.map((a) => a.app)), c.steps);
    });
  }
  await t.test('a group\'s dependencies hold for the apps under it', () => {
    const body = { id: '/shop', apps: [{ id: 'db', cmd: 'x', instances: 0 }], groups: [{ id: 'front', dependencies: ['db'], apps: [{ id: 'web', cmd: 'x', instances: 0 }] }] };
    const change = ok(writeGroup(state({}), '/shop', body, 'create', ctx()));
    assert.deepEqual(change.deployment.plan.steps.map((s) => s.actions.map((a) => a.app)), [['/shop/db'], ['/shop/front/web']]);
    const web = change.ops.find((o) => o.op === 'put' && o.coll === 'apps' && o.key === '/shop/front/web');
    assert.deepEqual(web?.op === 'put' && web.coll === 'apps' ? web.value.dependencies : undefined, ['/shop/db']);
  });
});

test('leftOut: what a group update removes (Marathon: listed apps/groups replace the existing ones)', async (t) => {
  const existing = [...shop().apps.values()].filter((a) => a.id.startsWith('/shop/'));
  const cases: Array<{ name: string; body: Record<string, unknown>; removed: string[] }> = [
    { name: 'neither apps nor groups: nothing', body: { id: '/shop' }, removed: [] },
    { name: 'apps listed: other direct apps go, subgroups stay', body: { apps: [{ id: 'new' }] }, removed: ['/shop/web'] },
    { name: 'groups listed: other subgroups go', body: { groups: [{ id: 'cache' }] }, removed: ['/shop/db/pg', '/shop/db/redis'] },
    { name: 'a listed subgroup is updated by the same rule', body: { groups: [{ id: 'db', apps: [{ id: 'pg' }] }] }, removed: ['/shop/db/redis'] },
    { name: 'absolute and relative ids alike', body: { apps: [{ id: '/shop/web' }], groups: [{ id: '/shop/db' }] }, removed: [] },
  ];
  for (const c of cases) await t.test(c.name, () => assert.deepEqual(leftOut(c.body, '/shop', existing), c.removed));
});

test('writeGroup update: apps the body leaves out stop in the same deployment, first', () => {
  const change = ok(writeGroup(shop(), '/shop', { apps: [{ id: 'web', cmd: 'x', instances: 1 }], groups: [{ id: 'db', apps: [{ id: 'pg', cmd: 'sleep 1000', instances: 1 }] }] }, 'update', ctx()));
  assert.deepEqual(change.deployment.plan.steps.map((s) => s.actions), [
    [{ action: 'StopApplication', app: '/shop/db/redis' }],
    [{ action: 'RestartApplication', app: '/shop/web' }, { action: 'ScaleApplication', app: '/shop/db/pg' }],
  ]);
  assert.ok(change.ops.some((o) => o.op === 'del' && o.coll === 'apps' && o.key === '/shop/db/redis'));
  assert.ok(change.events.some((e) => e.eventType === 'app_terminated_event' && e.appId === '/shop/db/redis'));
});

test('writeGroup create: every app in one deployment; an existing group is a 409', () => {
  const change = ok(writeGroup(state({}), '/shop', { id: '/shop', apps: [{ id: 'web', cmd: 'x', instances: 0 }], groups: [{ id: 'db', apps: [{ id: 'pg', cmd: 'y', instances: 0 }] }] }, 'create', ctx()));
  assert.deepEqual(change.deployment.plan.steps, [{ actions: [{ action: 'StartApplication', app: '/shop/web' }, { action: 'StartApplication', app: '/shop/db/pg' }] }]);
  assert.deepEqual(change.deployment.affectedApps, ['/shop/web', '/shop/db/pg']);
  assert.deepEqual(failed(writeGroup(shop(), '/shop', { apps: [{ id: 'x', cmd: 'x' }] }, 'create', ctx())), {
    status: 409, body: { message: 'Group /shop is already created. Use PUT to change this group.' },
  });
});

test('writeGroup update: creates and changes the listed apps; errors point into the group body', () => {
  const s = shop();
  const change = ok(writeGroup(s, '/shop', { apps: [{ id: 'web', cmd: 'sleep 1000', instances: 5 }, { id: 'new', cmd: 'y' }] }, 'update', ctx()));
  assert.deepEqual(change.deployment.plan.steps[0]?.actions, [{ action: 'ScaleApplication', app: '/shop/web' }, { action: 'StartApplication', app: '/shop/new' }]);
  assert.equal(change.ops.some((o) => o.op === 'del'), false, 'a body without `groups` keeps the subgroups');

  const bad = failed(writeGroup(s, '/shop', { apps: [{ id: 'web', cmd: 'x' }], groups: [{ id: 'db', apps: [{ id: 'pg', cmd: 'x', cpus: -1 }] }] }, 'update', ctx()));
  assert.equal(bad.status, 422);
  assert.equal((bad.body as { details: Array<{ path: string }> }).details[0]?.path, '/groups/0/apps/0/cpus');
  assert.deepEqual(failed(writeGroup(s, '/shop', { apps: [{ id: 'a', cmd: 'x', dependencies: ['b'] }, { id: 'b', cmd: 'x', dependencies: ['a'] }] }, 'update', ctx())).body, {
    message: 'Object is not valid', details: [{ path: '/dependencies', errors: ['dependencies form a cycle: /shop/a -> /shop/b -> /shop/a'] }],
  });
  assert.equal(failed(writeGroup(s, '/shop', { apps: [] }, 'update', ctx())).status, 422, 'an empty group cannot be stored');
  assert.deepEqual(failed(writeGroup(s, '/shop', { version: LATER }, 'update', ctx())), {
    status: 404, body: { message: `Group '/shop' does not exist in version ${LATER}` },
  }, 'a version never written');
});

test('group versions: each write is kept; a rollback redeploys, restores and stops what changed since', () => {
  const at = (day: number): string => `2026-02-${String(day).padStart(2, '0')}T00:00:00.000Z`;
  const write = (s: ClusterState, body: unknown, mode: 'create' | 'update', day: number): ClusterState =>
    applyOps(s, ok(writeGroup(s, '/shop', body, mode, ctx({ now: at(day), force: true }))).ops);
  const v1 = write(state({}), { apps: [{ id: 'web', cmd: 'v1', instances: 2 }], groups: [{ id: 'db', apps: [{ id: 'pg', cmd: 'pg', instances: 1 }] }] }, 'create', 1);
  const v2 = write(v1, { apps: [{ id: 'web', cmd: 'v2', instances: 2 }, { id: 'cache', cmd: 'c', instances: 1 }], groups: [] }, 'update', 2);
  assert.deepEqual(groupVersionsOf(v2, '/shop').map((v) => [v.version, v.apps.map((a) => a.id).sort()]), [
    [at(2), ['/shop/cache', '/shop/web']],
    [at(1), ['/shop/db/pg', '/shop/web']],
  ]);

  const back = ok(writeGroup(v2, '/shop', { version: at(1) }, 'update', ctx({ now: at(3), force: true })));
  const actions = back.deployment.plan.steps.flatMap((step) => step.actions.map((a) => `${a.action} ${a.app}`)).sort();
  assert.deepEqual(actions, ['RestartApplication /shop/web', 'StartApplication /shop/db/pg', 'StopApplication /shop/cache']);
  const v3 = applyOps(v2, back.ops);
  assert.equal(v3.apps.get('/shop/web')?.cmd, 'v1');
  assert.equal(v3.apps.get('/shop/web')?.version, at(3), 'a rollback is a new version');
  assert.deepEqual(groupVersionsOf(v3, '/shop').map((v) => v.version), [at(3), at(2), at(1)]);

  const removed = applyOps(v3, ok(removeGroup(v3, '/shop', ctx({ now: at(4), force: true }))).ops);
  assert.deepEqual(groupVersionsOf(removed, '/shop'), [], 'a deleted group takes its versions along');
});

test(`group versions: the newest ${MAX_GROUP_VERSIONS} are kept`, () => {
  let s = shop();
  for (let n = 0; n < MAX_GROUP_VERSIONS + 5; n += 1) {
    const now = new Date(Date.parse(LATER) + n * 1000).toISOString();
    s = applyOps(s, ok(writeGroup(s, '/shop', { scaleBy: 1 }, 'update', ctx({ now, force: true }))).ops);
  }
  const kept = groupVersionsOf(s, '/shop');
  assert.equal(kept.length, MAX_GROUP_VERSIONS);
  assert.equal(kept.at(-1)?.version, new Date(Date.parse(LATER) + 5000).toISOString(), 'the oldest went first');
});

test('writeGroup update: respects deployment locks unless forced', () => {
  const s = shop();
  const holding: Deployment = { id: 'd-old', plan: { id: 'd-old', version: LATER, steps: [] }, affectedApps: ['/shop/web'], currentStep: 0, targets: { '/shop/web': 2 }, original: {}, startedAt: LATER };
  const locked = { ...s, deployments: new Map([['d-old', holding]]) };
  const body = { apps: [{ id: 'web', cmd: 'sleep 1000', instances: 1 }] };
  assert.equal(failed(writeGroup(locked, '/shop', body, 'update', ctx())).status, 409);
  const forced = ok(writeGroup(locked, '/shop', body, 'update', ctx({ force: true })));
  assert.ok(forced.ops.some((o) => o.op === 'del' && o.coll === 'deployments' && o.key === 'd-old'));
});

test('scaleBy: every app under the group, rounded, one deployment of scales', () => {
  const cases: Array<[instances: number, factor: number, expected: number]> = [[2, 1.5, 3], [3, 0.5, 2], [1, 0.4, 0], [4, 0, 0], [0, 10, 0]];
  for (const [instances, factor, expected] of cases) assert.equal(scaledInstances(instances, factor), expected, `${instances} × ${factor}`);
  const s = shop();
  const change = ok(writeGroup(s, '/shop', { scaleBy: 2 }, 'update', ctx()));
  assert.deepEqual(change.deployment.targets, { '/shop/web': 4, '/shop/db/pg': 2, '/shop/db/redis': 6 });
  assert.deepEqual(new Set(change.deployment.plan.steps[0]?.actions.map((a) => a.action)), new Set(['ScaleApplication']));
  const web = change.ops.find((o) => o.op === 'put' && o.coll === 'apps' && o.key === '/shop/web');
  const stored = web?.op === 'put' ? (web.value as AppDefinition) : undefined;
  assert.equal(stored?.versionInfo.lastConfigChangeAt, s.apps.get('/shop/web')?.versionInfo.lastConfigChangeAt, 'a scale keeps the configuration');
  assert.equal(change.events.some((e) => e.eventType === 'api_post_event'), false);
  assert.equal(failed(writeGroup(s, '/nope', { scaleBy: 2 }, 'update', ctx())).status, 404);
  assert.equal(failed(writeGroup(s, '/shop', { scaleBy: -1 }, 'update', ctx())).status, 422);
  assert.equal(failed(writeGroup(s, '/shop', { scaleBy: 2, apps: [] }, 'update', ctx())).status, 422);
  assert.equal(failed(scaleApps(s, new Map([['/nope', 1]]), ctx())).status, 404);
});

test('removeGroup: every app under the group in one deployment, with their versions and failures', () => {
  const s = shop();
  const change = ok(removeGroup(s, '/shop/db', ctx()));
  assert.deepEqual(change.deployment.plan.steps, [{ actions: [{ action: 'StopApplication', app: '/shop/db/pg' }, { action: 'StopApplication', app: '/shop/db/redis' }] }]);
  assert.deepEqual(change.deployment.targets, { '/shop/db/pg': 0, '/shop/db/redis': 0 });
  assert.deepEqual(change.ops.filter((o) => o.op === 'del' && o.coll === 'apps').map((o) => o.key), ['/shop/db/pg', '/shop/db/redis']);
  assert.deepEqual(change.events.filter((e) => e.eventType === 'app_terminated_event').length, 2);
  assert.deepEqual(failed(removeGroup(s, '/nope', ctx())), { status: 404, body: { message: "Group '/nope' does not exist" } });
  assert.equal(failed(removeApps(s, ['/nope'], ctx())).status, 404);
});
