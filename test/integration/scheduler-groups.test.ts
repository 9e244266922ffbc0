import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { assertDeployment, type Answer } from '../support/marathon-api.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Marathon's /v2/groups against a real scheduler, over groups implied by app ids. No agent: apps
 * with 0 instances deploy at once, and an app with 1 instance keeps its deployment (and lock) open.
 */

let cluster: AgentCluster | undefined;

after(async () => {
  await cluster?.stop();
});

const call = (method: string, path: string, body?: unknown): Promise<Answer> => (cluster as AgentCluster).call(method, path, body);

const app = (id: string, fields: Json = {}): Json => ({ id, cmd: 'sleep 1000', cpus: 0.1, mem: 32, instances: 0, ...fields });
const appIds = (group: Json): string[] => (group.apps as Json[]).map((a) => String(a.id));
const settled = (): Promise<true> =>
  waitFor('no deployment in progress', async () => ((await call('GET', '/v2/deployments')).json.length === 0 ? true : undefined), 20_000);

test('Marathon v2 groups API over app ids', { timeout: 60_000 }, async (t) => {
  cluster = await AgentCluster.start('scheduler-groups');

  await t.test('GET /v2/groups: an empty root; 404 shape for a group without apps', async () => {
    const root = await call('GET', '/v2/groups');
    assert.equal(root.status, 200);
    assert.deepEqual({ ...root.json, version: 'v' }, { id: '/', apps: [], groups: [], pods: [], dependencies: [], version: 'v' });
    assert.deepEqual(await call('GET', '/v2/groups/shop').then((a) => [a.status, a.json]), [404, { message: "Group '/shop' does not exist" }]);
  });

  await t.test('POST /v2/groups: nested apps and groups with relative ids, one deployment; 409 when it exists', async () => {
    const answer = await call('POST', '/v2/groups', {
      id: '/shop',
      apps: [app('web', { labels: { tier: 'front' } })],
      groups: [{ id: 'db', apps: [app('pg'), app('/shop/db/redis')] }],
    });
    const deploymentId = assertDeployment(answer, 201);
    assert.equal(answer.location, '/v2/groups/shop');
    const mine = ((await call('GET', '/v2/deployments')).json as Json[]).find((d) => d.id === deploymentId);
    if (mine !== undefined) assert.deepEqual([...mine.affectedApps].sort(), ['/shop/db/pg', '/shop/db/redis', '/shop/web']);
    await settled();
    const again = await call('POST', '/v2/groups', { id: 'shop', apps: [app('other')] });
    assert.deepEqual([again.status, again.json], [409, { message: 'Group /shop is already created. Use PUT to change this group.' }]);
  });

  await t.test('GET /v2/groups[/{id}]: the tree, apps as in /v2/apps, embeds', async () => {
    const root = (await call('GET', '/v2/groups')).json;
    assert.equal(root.groups.length, 1);
    const shop = root.groups[0] as Json;
    assert.deepEqual([shop.id, appIds(shop), shop.groups.map((g: Json) => g.id)], ['/shop', ['/shop/web'], ['/shop/db']]);
    assert.deepEqual(appIds(shop.groups[0]), ['/shop/db/pg', '/shop/db/redis']);
    const web = shop.apps[0] as Json;
    assert.deepEqual([web.labels, web.tasksRunning, web.deployments, 'tasks' in web], [{ tier: 'front' }, 0, [], false]);
    assert.equal(shop.version, web.version);

    const db = await call('GET', '/v2/groups/shop/db?embed=group.apps.tasks&embed=group.apps.counts');
    assert.equal(db.status, 200);
    assert.equal(db.json.id, '/shop/db');
    assert.deepEqual(db.json.apps.map((a: Json) => a.tasks), [[], []]);
    assert.equal((await call('GET', '/v2/groups/shop/db/')).json.id, '/shop/db', 'a trailing slash names the same group');
  });

  await t.test('PUT /v2/groups/{id}: creates and updates the listed apps in one deployment; dryRun plans only', async () => {
    const dry = await call('PUT', '/v2/groups/shop?dryRun=true', { apps: [app('web', { instances: 0, cmd: 'sleep 2000' }), app('cart')] });
    assert.equal(dry.status, 200);
    assert.deepEqual(dry.json, { steps: [{ actions: [{ action: 'RestartApplication', app: '/shop/web' }, { action: 'StartApplication', app: '/shop/cart' }] }] });
    assert.equal((await call('GET', '/v2/apps/shop/cart')).status, 404, 'a dry run commits nothing');

    assertDeployment(await call('PUT', '/v2/groups/shop', { apps: [app('web', { cmd: 'sleep 2000' }), app('cart')] }));
    await settled();
    assert.equal((await call('GET', '/v2/apps/shop/web')).json.app.cmd, 'sleep 2000');
    assert.deepEqual(appIds((await call('GET', '/v2/groups/shop')).json), ['/shop/cart', '/shop/web']);
    assert.equal((await call('GET', '/v2/apps/shop/db/pg')).status, 200, 'apps left out of the body are kept');

    assertDeployment(await call('PUT', '/v2/groups/fresh', { apps: [app('one')] }), 200);
    await settled();
    assert.deepEqual(appIds((await call('GET', '/v2/groups/fresh')).json), ['/fresh/one']);
  });

  await t.test('PUT and POST /v2/groups: 422 shapes (dependencies, bad apps, ids outside the group, empty)', async () => {
    const dependencies = await call('PUT', '/v2/groups/shop', { apps: [app('web', { dependencies: ['api'] }), app('api', { dependencies: ['../shop/web'] })] });
    assert.deepEqual([dependencies.status, dependencies.json], [422, {
      message: 'Object is not valid', details: [{ path: '/dependencies', errors: ['dependencies form a cycle: /shop/web -> /shop/api -> /shop/web'] }],
    }]);
    const badApp = await call('POST', '/v2/groups', { id: 'new', groups: [{ id: 'x', apps: [app('a', { cpus: -1 })] }] });
    assert.equal(badApp.status, 422);
    assert.equal(badApp.json.details[0].path, '/groups/0/apps/0/cpus');
    const outside = await call('PUT', '/v2/groups/shop', { apps: [app('/fresh/two')] });
    assert.deepEqual(outside.json.details, [{ path: '/apps/0/id', errors: ['must be under the group /shop'] }]);
    assert.equal((await call('POST', '/v2/groups', { id: 'empty' })).status, 422);
    assert.equal((await call('PUT', '/v2/groups/shop', '[1]')).status, 422);
    assert.equal((await call('GET', '/v2/groups/new')).status, 404, 'nothing of a refused group is stored');
  });

  await t.test('PUT {scaleBy}: every app under the group, one deployment; 404 for an unknown group', async () => {
    // No agent: these deployments stay open, so the scale below is forced past them and can be inspected.
    assertDeployment(await call('PUT', '/v2/groups/shop/db', { apps: [app('pg', { instances: 1 }), app('redis', { instances: 2 })] }));
    const deploymentId = assertDeployment(await call('PUT', '/v2/groups/shop/db?force=true', { scaleBy: 1.5 }));
    const instances = async (): Promise<number[]> =>
      ((await call('GET', '/v2/groups/shop/db')).json.apps as Json[]).map((a) => Number(a.instances));
    assert.deepEqual(await instances(), [2, 3], 'round(1 × 1.5), round(2 × 1.5)');
    const deployments = (await call('GET', '/v2/deployments')).json as Json[];
    assert.deepEqual(deployments.map((d) => d.id), [deploymentId], 'the forced scale replaced the open deployment');
    assert.deepEqual(deployments[0]?.currentActions.map((a: Json) => [a.action, a.app]), [['ScaleApplication', '/shop/db/pg'], ['ScaleApplication', '/shop/db/redis']]);
    assertDeployment(await call('PUT', '/v2/groups/shop/db?force=true', { scaleBy: 0 }));
    assert.deepEqual(await instances(), [0, 0]);
    await settled();
    assert.deepEqual((await call('PUT', '/v2/groups/nope', { scaleBy: 2 })).json, { message: "Group '/nope' does not exist" });
    assert.equal((await call('PUT', '/v2/groups/shop', { scaleBy: 'x' })).status, 422);
  });

  await t.test('locks: a group write touching an app with a running deployment is 409 unless forced', async () => {
    // One instance and no agent: the deployment cannot finish, so the app stays locked.
    const held = assertDeployment(await call('PUT', '/v2/groups/locked', { apps: [app('web', { instances: 1 })] }));
    const refused = await call('PUT', '/v2/groups/locked', { scaleBy: 2 });
    assert.equal(refused.status, 409);
    assert.deepEqual(refused.json.deployments, [{ id: held }]);
    assertDeployment(await call('PUT', '/v2/groups/locked?force=true', { apps: [app('web', { instances: 0 })] }));
    await settled();
  });

  await t.test('GET /v2/groups/{id}/versions[/{v}] and PUT {version}: each group write is a version to roll back to', async () => {
    const before = await call('GET', '/v2/groups/shop/versions');
    assert.equal(before.status, 200);
    const oldest = String(before.json.at(-1));
    const shown = await call('GET', `/v2/groups/shop/versions/${encodeURIComponent(oldest)}`);
    assert.equal(shown.status, 200);
    assert.deepEqual([shown.json.id, shown.json.version, appIds(shown.json)], ['/shop', oldest, ['/shop/web']]);
    assert.equal(shown.json.apps[0].labels.tier, 'front', 'the definition as it was then');

    assertDeployment(await call('PUT', '/v2/groups/shop?force=true', { version: oldest }));
    await settled();
    const after = await call('GET', '/v2/groups/shop/versions');
    assert.equal(after.json.length, before.json.length + 1, 'the rollback is a new version');
    assert.equal((await call('GET', '/v2/apps/shop/web')).json.app.labels.tier, 'front');

    assert.deepEqual(await call('GET', '/v2/groups/shop/versions/2001-01-01T00:00:00.000Z').then((a) => [a.status, a.json]), [404, { message: "Group '/shop' does not exist in version 2001-01-01T00:00:00.000Z" }]);
    assert.equal((await call('PUT', '/v2/groups/shop', { version: '2001-01-01T00:00:00.000Z' })).status, 404);
    assert.equal((await call('GET', '/v2/groups/nope/versions')).status, 404);
  });

  await t.test('DELETE /v2/groups/{id}: every app under it in one deployment; 404 afterwards', async () => {
    const removed = await call('DELETE', '/v2/groups/shop');
    assertDeployment(removed);
    await settled();
    assert.equal((await call('GET', '/v2/apps/shop/db/pg')).status, 404);
    assert.deepEqual(await call('DELETE', '/v2/groups/shop').then((a) => [a.status, a.json]), [404, { message: "Group '/shop' does not exist" }]);
    assert.deepEqual((await call('GET', '/v2/groups')).json.groups.map((g: Json) => g.id), ['/fresh', '/locked']);
    for (const id of ['fresh', 'locked']) assertDeployment(await call('DELETE', `/v2/groups/${id}`));
    await settled();
    assert.deepEqual((await call('GET', '/v2/apps')).json.apps, []);
  });
});
