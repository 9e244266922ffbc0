import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { assertDeployment, type Answer } from '../support/marathon-api.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Marathon's v2 app, task and queue endpoints against a real scheduler and one real agent:
 * shapes, status codes, the Marathon-Deployment-Id header and the error bodies.
 */

let cluster: AgentCluster | undefined;

after(async () => {
  await cluster?.stop();
});

const call = (method: string, path: string, body?: unknown): Promise<Answer> => (cluster as AgentCluster).call(method, path, body);

const ids = (apps: Json[]): string[] => apps.map((a) => String(a.id));
const label = (selector: string): string => `/v2/apps?label=${encodeURIComponent(selector)}`;
const settled = (): Promise<true> => waitFor('no deployment in progress', async () => ((await call('GET', '/v2/deployments')).json.length === 0 ? true : undefined), 20_000);

test('Marathon v2 apps, tasks and queue API', { timeout: 120_000 }, async (t) => {
  const c = (cluster = await AgentCluster.start('scheduler-api'));
  await c.startAgent({ ip: '127.0.0.11' });
  const cmd = (n: number): string => `sleep ${1000 + n}; : ${c.marker}`;
  await c.postApp({ id: '/api/web', cmd: cmd(0), instances: 2, labels: { env: 'prod', HAPROXY_GROUP: 'external' }, taskKillGracePeriodSeconds: 1 });
  await c.postApp({ id: '/api/db', cmd: `echo db; ${cmd(999)}`, instances: 0, labels: { env: 'qa' } });
  await c.running('/api/web', 2);
  await settled();

  await t.test('GET /v2/apps: label selectors, id and cmd filters, 400 for a bad selector', async () => {
    assert.deepEqual(ids((await call('GET', label('env==prod'))).json.apps), ['/api/web']);
    assert.deepEqual(ids((await call('GET', label('env in (prod, qa)'))).json.apps), ['/api/db', '/api/web']);
    assert.deepEqual(ids((await call('GET', label('env notin (prod)'))).json.apps), ['/api/db']);
    assert.deepEqual(ids((await call('GET', label('HAPROXY_GROUP,env!=qa'))).json.apps), ['/api/web']);
    assert.deepEqual(ids((await call('GET', label('missing'))).json.apps), []);
    assert.deepEqual(ids((await call('GET', '/v2/apps?id=WEB')).json.apps), ['/api/web']);
    assert.deepEqual(ids((await call('GET', '/v2/apps?cmd=echo%20db')).json.apps), ['/api/db']);
    assert.deepEqual(ids((await call('GET', `/v2/apps?id=api&${label('env==qa').slice('/v2/apps?'.length)}`)).json.apps), ['/api/db']);
    const bad = await call('GET', label('env=='));
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.message), /^Can not parse label selector 'env=='\. Reason: expected a value after '==' at position 5/);
  });

  await t.test('GET /v2/apps: embeds', async () => {
    const plain = (await call('GET', '/v2/apps?id=/api/web')).json.apps[0] as Json;
    for (const key of ['tasksStaged', 'tasksRunning', 'tasksHealthy', 'tasksUnhealthy', 'deployments', 'labels']) assert.ok(key in plain, key);
    for (const key of ['tasks', 'lastTaskFailure', 'taskStats', 'readinessCheckResults']) assert.equal(key in plain, false, key);
    assert.equal(plain.tasksRunning, 2);
    const embedded = (await call('GET', '/v2/apps?id=/api/web&embed=apps.tasks&embed=apps.taskStats&embed=apps.readiness&embed=apps.deployments&embed=apps.counts')).json.apps[0] as Json;
    assert.equal(embedded.tasks.length, 2);
    assert.equal(typeof embedded.tasks[0].host, 'string');
    assert.equal(embedded.tasks[0].role, '*', 'unreserved resources: role *');
    assert.deepEqual(embedded.readinessCheckResults, []);
    assert.deepEqual(embedded.taskStats.totalSummary.stats.counts, { staged: 0, running: 2, healthy: 0, unhealthy: 0 });
    assert.equal(typeof embedded.taskStats.totalSummary.stats.lifeTime.averageSeconds, 'number');
    assert.deepEqual(Object.keys(embedded.taskStats).sort(), ['startedAfterLastScaling', 'totalSummary', 'withLatestConfig']);
  });

  await t.test('GET /v2/apps/{id}: tasks embedded by default; 404 shape', async () => {
    const { status, json } = await call('GET', '/v2/apps/api/web');
    assert.equal(status, 200);
    assert.equal(json.app.id, '/api/web');
    assert.equal(json.app.tasks.length, 2);
    assert.deepEqual(json.app.deployments, []);
    assert.deepEqual(await call('GET', '/v2/apps/nope'), { status: 404, json: { message: "App '/nope' does not exist" }, location: undefined, deploymentHeader: undefined });
    assert.equal((await call('GET', '/v2/apps/nope/tasks')).json.message, "App '/nope' does not exist");
    assert.deepEqual((await call('GET', '/v2/apps/api/web/tasks')).json.tasks.map((task: Json) => task.role), ['*', '*']);
  });

  await t.test('PUT /v2/apps/{id} that creates the app: 201 with Location, like POST', async () => {
    const created = await call('PUT', '/v2/apps/api/put-made', { cmd: cmd(5), instances: 0 });
    assertDeployment(created, 201);
    assert.equal(created.location, '/v2/apps/api/put-made');
    // Its deployment holds the app until the next evaluation finds it done.
    await settled();
    const updated = await call('PUT', '/v2/apps/api/put-made', { instances: 0, cmd: cmd(6) });
    assertDeployment(updated, 200);
    assert.equal(updated.location, undefined);
    await settled();
    assertDeployment(await call('DELETE', '/v2/apps/api/put-made'));
    await settled();
  });

  let v1 = '';
  let v2 = '';
  await t.test('versions: list newest first, one version, 404s', async () => {
    const first = await call('GET', '/v2/apps/api/web/versions');
    assert.equal(first.json.versions.length, 1);
    v1 = String(first.json.versions[0]);
    const put = await call('PUT', '/v2/apps/api/web', { cmd: cmd(1) });
    v2 = String(put.json.version);
    assertDeployment(put);
    const versions = (await call('GET', '/v2/apps/api/web/versions')).json.versions as string[];
    assert.deepEqual(versions, [v2, v1]);
    const old = await call('GET', `/v2/apps/api/web/versions/${v1}`);
    assert.equal(old.status, 200);
    assert.deepEqual([old.json.id, old.json.cmd, old.json.version, 'tasks' in old.json], ['/api/web', cmd(0), v1, false]);
    assert.deepEqual((await call('GET', '/v2/apps/api/web/versions/2001-01-01T00:00:00.000Z')).json, { message: "App '/api/web' does not exist in version 2001-01-01T00:00:00.000Z" });
    assert.equal((await call('GET', '/v2/apps/nope/versions')).status, 404);
    await settled();
    await waitFor('the new version to run', async () => {
      const tasks = await c.tasks('/api/web');
      return tasks.length === 2 && tasks.every((task) => task.version === v2 && task.state === 'TASK_RUNNING') ? true : undefined;
    }, 20_000);
  });

  await t.test('PUT {version}: rolls back to a stored version as a new deployment; unknown version 404', async () => {
    const answer = await call('PUT', '/v2/apps/api/web', { version: v1 });
    assertDeployment(answer);
    const { app } = (await call('GET', '/v2/apps/api/web')).json;
    assert.equal(app.cmd, cmd(0));
    assert.equal(app.version, answer.json.version);
    assert.ok(app.version > v2);
    assert.equal(app.versionInfo.lastConfigChangeAt, app.version);
    const missing = await call('PUT', '/v2/apps/api/web', { version: '2001-01-01T00:00:00.000Z' });
    assert.deepEqual([missing.status, missing.json], [404, { message: "App '/api/web' does not exist in version 2001-01-01T00:00:00.000Z" }]);
    await settled();
  });

  await t.test('POST /restart: replaces every instance; 409 while locked unless forced; 404', async () => {
    const before = (await c.running('/api/web', 2)).map((task) => task.id);
    const restart = await call('POST', '/v2/apps/api/web/restart');
    const deploymentId = assertDeployment(restart);
    const locked = await call('POST', '/v2/apps/api/web/restart');
    assert.equal(locked.status, 409);
    assert.deepEqual(locked.json.deployments, [{ id: deploymentId }]);
    assert.match(String(locked.json.message), /locked/);
    assertDeployment(await call('POST', '/v2/apps/api/web/restart?force=true'));
    await settled();
    const afterRestart = await c.running('/api/web', 2);
    assert.equal(afterRestart.filter((task) => before.includes(task.id)).length, 0, 'all instances replaced');
    assert.deepEqual((await call('POST', '/v2/apps/nope/restart')).json, { message: "App '/nope' does not exist" });
  });

  await t.test('DELETE /v2/apps/{id}/tasks[/{taskId}]: kill, kill and scale, by host; error shapes', async () => {
    const [one, two] = await c.running('/api/web', 2);
    const killed = await call('DELETE', `/v2/apps/api/web/tasks/${String(one?.id)}`);
    assert.equal(killed.status, 200);
    assert.equal(killed.json.task.id, one?.id);
    await waitFor('the killed task to be replaced', async () => {
      const tasks = await c.tasks('/api/web');
      return tasks.length === 2 && tasks.every((task) => task.id !== one?.id && task.state === 'TASK_RUNNING') ? true : undefined;
    }, 20_000);

    const scaled = await call('DELETE', `/v2/apps/api/web/tasks/${String(two?.id)}?scale=true`);
    assertDeployment(scaled);
    assert.equal((await call('GET', '/v2/apps/api/web')).json.app.instances, 1);
    await settled();
    await c.running('/api/web', 1);

    const byOtherHost = await call('DELETE', '/v2/apps/api/web/tasks?host=10.9.9.9');
    assert.deepEqual(byOtherHost.json, { tasks: [] });
    const byHost = await call('DELETE', '/v2/apps/api/web/tasks?host=127.0.0.11');
    assert.equal(byHost.json.tasks.length, 1);
    assert.equal(byHost.json.tasks[0].host, '127.0.0.11');
    await c.running('/api/web', 1);

    assert.deepEqual((await call('DELETE', '/v2/apps/api/web/tasks/api_web.nope')).json, { message: "Task 'api_web.nope' does not exist" });
    assert.deepEqual((await call('DELETE', '/v2/apps/nope/tasks')).json, { message: "App '/nope' does not exist" });
    const both = await call('DELETE', '/v2/apps/api/web/tasks?scale=true&wipe=true');
    assert.deepEqual([both.status, both.json], [400, { message: 'You cannot use scale and wipe at the same time.' }]);
  });

  await t.test('PATCH and batch PUT/PATCH /v2/apps: one deployment; 404 and 422 shapes', async () => {
    assertDeployment(await call('PATCH', '/v2/apps/api/web', { instances: 2 }));
    const app = (await call('GET', '/v2/apps/api/web')).json.app;
    assert.deepEqual([app.instances, app.cmd], [2, cmd(0)], 'PATCH keeps fields not given');
    assert.deepEqual((await call('PATCH', '/v2/apps/nope', { instances: 1 })).json, { message: "App '/nope' does not exist" });
    await settled();
    const batch = await call('PUT', '/v2/apps', [{ id: '/api/web', instances: 1 }, { id: '/api/db', instances: 1 }]);
    const deploymentId = assertDeployment(batch);
    const deployments = (await call('GET', '/v2/deployments')).json as Json[];
    const mine = deployments.find((d) => d.id === deploymentId);
    if (mine !== undefined) assert.deepEqual([...mine.affectedApps].sort(), ['/api/db', '/api/web']);
    await settled();
    await c.running('/api/db', 1);
    await c.running('/api/web', 1);
    const invalid = await call('PUT', '/v2/apps', [{ id: '/api/web', instances: 1 }, { id: '/api/db', cpus: -1 }]);
    assert.equal(invalid.status, 422);
    assert.equal(invalid.json.message, 'Object is not valid');
    assert.equal(invalid.json.details[0].path, '/1/cpus');
    assertDeployment(await call('PATCH', '/v2/apps', [{ id: '/api/db', instances: 0 }]));
    await settled();
  });

  await t.test('GET /v2/tasks?status= and POST /v2/tasks/delete', async () => {
    const [task] = await c.running('/api/web', 1);
    const listed = (await call('GET', '/v2/tasks?status=running')).json.tasks as Json[];
    assert.deepEqual(listed.map((x) => [x.id, x.role]), [[task?.id, '*']]);
    assert.deepEqual((await call('GET', '/v2/tasks?status[]=staging')).json.tasks, []);
    assert.equal((await call('GET', '/v2/tasks?status=bogus')).json.tasks.length, 1, 'unknown status values are ignored');
    const killed = await call('POST', '/v2/tasks/delete', { ids: [task?.id, 'api_web.unknown'] });
    assert.deepEqual([killed.status, killed.json.tasks.map((x: Json) => x.id)], [200, [task?.id]]);
    const [replacement] = await waitFor('a replacement', async () => {
      const tasks = await c.tasks('/api/web');
      return tasks.length === 1 && tasks[0]?.id !== task?.id && tasks[0]?.state === 'TASK_RUNNING' ? tasks : undefined;
    }, 20_000);
    assertDeployment(await call('POST', '/v2/tasks/delete?scale=true', { ids: [replacement?.id] }));
    assert.equal((await call('GET', '/v2/apps/api/web')).json.app.instances, 0);
    assert.deepEqual((await call('POST', '/v2/tasks/delete', { ids: ['no-dot'] })).json, { message: "Invalid task id 'no-dot'." });
    assert.equal((await call('POST', '/v2/tasks/delete', { ids: 'x' })).status, 422);
    assert.equal((await call('POST', '/v2/tasks/delete?scale=true&wipe=true', { ids: [] })).status, 400);
    await settled();
  });

  await t.test('GET /v2/queue: why an app waits, its backoff; DELETE /v2/queue/{id}/delay', async () => {
    await c.postApp({ id: '/api/big', cmd: cmd(2), cpus: 64 });
    const entry = await waitFor('/api/big in the queue', async () =>
      ((await call('GET', '/v2/queue')).json.queue as Json[]).find((e) => e.app.id === '/api/big'));
    assert.equal(entry.count, 1);
    assert.deepEqual(entry.delay, { timeLeftSeconds: 0, overdue: true });
    assert.match(String(entry.reason), /insufficient cpus on 1 of 1 agents/);
    assert.deepEqual(entry.processedOffersSummary.rejectSummaryLastOffers, [{ reason: 'InsufficientCpus', declined: 1, processed: 1 }]);
    assert.equal(typeof entry.since, 'string');
    assert.equal(entry.app.cpus, 64);
    assert.equal((await call('DELETE', '/v2/queue/api/big/delay')).status, 204);

    // The agent offers no resources of role prod: the role is the reason, in Marathon's words.
    await c.postApp({ id: '/api/prod', cmd: cmd(3), cpus: 0.1, mem: 16, acceptedResourceRoles: ['prod'] });
    const unroled = await waitFor('/api/prod in the queue', async () =>
      ((await call('GET', '/v2/queue')).json.queue as Json[]).find((e) => e.app.id === '/api/prod'));
    assert.equal(unroled.reason, 'no resources of role prod on 1 of 1 agents');
    assert.deepEqual(unroled.processedOffersSummary.rejectSummaryLastOffers, [{ reason: 'UnfulfilledRole', declined: 1, processed: 1 }]);
    assert.deepEqual((await call('DELETE', '/v2/queue/api/web/delay')).json, { message: 'Application /api/web not found in tasks queue.' });

    await c.postApp({ id: '/api/crash', cmd: `exit 1; : ${c.marker}`, backoffSeconds: 60 });
    const delayed = await waitFor('/api/crash to back off', async () =>
      ((await call('GET', '/v2/queue')).json.queue as Json[]).find((e) => e.app.id === '/api/crash' && e.delay.overdue === false), 20_000);
    assert.ok(delayed.delay.timeLeftSeconds > 30 && delayed.delay.timeLeftSeconds <= 60, JSON.stringify(delayed.delay));
    assert.match(String(delayed.reason), /backoff/);
    const failure = (await call('GET', '/v2/apps?id=crash&embed=apps.lastTaskFailure')).json.apps[0].lastTaskFailure;
    assert.deepEqual([failure.appId, failure.state], ['/api/crash', 'TASK_FAILED']);
    assert.equal((await call('GET', '/v2/apps/api/crash')).json.app.lastTaskFailure.appId, '/api/crash');
    assert.equal((await call('DELETE', '/v2/queue/api/crash/delay')).status, 204);
    // Reset: it launches (and fails) again at once.
    await waitFor('a second failure after the reset', async () => {
      const again = (await call('GET', '/v2/apps/api/crash')).json.app.lastTaskFailure;
      return again.taskId !== failure.taskId ? true : undefined;
    }, 20_000);
  });

  await t.test('DELETE /v2/apps/{id}: force defaults to true (an app stuck deploying goes); force=false keeps the 409', async () => {
    const [stuck] = (await call('GET', '/v2/apps/api/big')).json.app.deployments as Json[];
    const kept = await call('DELETE', '/v2/apps/api/big?force=false');
    assert.equal(kept.status, 409);
    assert.deepEqual(kept.json.deployments, [{ id: stuck?.id }]);
    const events = await c.events();
    for (const id of ['/api/web', '/api/db', '/api/big', '/api/crash', '/api/prod']) assertDeployment(await call('DELETE', `/v2/apps${id}`));
    await events.waitFor('deployment_failed', (e) => e.id === stuck?.id);
    assert.equal((await call('GET', '/v2/apps/api/big')).status, 404);
    await waitFor('no task left', async () => ((await c.tasks()).length === 0 ? true : undefined), 20_000);
  });
});
