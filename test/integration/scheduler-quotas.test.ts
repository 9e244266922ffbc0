import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { TERMINAL_TASK_STATES } from '../../src/events/types.ts';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { corral } from '../support/cli-run.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { assertDeployment } from '../support/marathon-api.ts';
import { waitFor } from '../support/wait.ts';

const clusters: AgentCluster[] = [];
const parts: PartProcess[] = [];
const dirs: string[] = [];
after(async () => {
  for (const cluster of clusters) await cluster.stop();
  await stopParts(parts, 5000);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const web = (instances: number, fields: Json = {}): Json => ({ id: '/team-a/web', cmd: 'sleep 1000', cpus: 0.5, mem: 32, instances, portDefinitions: [], ...fields });

test('quotas: set, refuse with the numbers, dryRun stores nothing, listed with use, kept across a restart', { timeout: 60_000 }, async () => {
  const cluster = await AgentCluster.start('quotas-api');
  clusters.push(cluster);

  const invalid = await cluster.call('PUT', '/v2/quotas/team-a', { cpus: -1, ports: 3 });
  assert.equal(invalid.status, 422);
  assert.equal(invalid.json.message, 'Object is not valid');
  assert.ok(Array.isArray(invalid.json.details) && invalid.json.details.length > 0);
  const set = await cluster.call('PUT', '/v2/quotas/team-a', { cpus: 1, instances: 2 });
  assert.equal(set.status, 200, JSON.stringify(set.json));
  assert.deepEqual(set.json.limit, { cpus: 1, instances: 2 });

  await cluster.startAgent();
  await cluster.postApp(web(1));
  await cluster.running('/team-a/web', 1);
  await waitFor('the deployment to finish', async () => ((await cluster.get('/v2/deployments')) as unknown as Json[]).length === 0 || undefined);
  // Growing past the limit is refused at once, with the numbers, and changes nothing.
  const refused = await cluster.call('PUT', '/v2/apps/team-a/web', { instances: 3 });
  assert.equal(refused.status, 403, JSON.stringify(refused.json));
  assert.equal(refused.json.message, 'quota of /team-a: cpus 0.5 used + 1 requested = 1.5, over the limit of 1; quota of /team-a: instances 1 used + 2 requested = 3, over the limit of 2');
  assert.deepEqual(refused.json.refusals, [
    { group: '/team-a', resource: 'cpus', used: 0.5, requested: 1, limit: 1 },
    { group: '/team-a', resource: 'instances', used: 1, requested: 2, limit: 2 },
  ]);
  const scaleBy = await cluster.call('PUT', '/v2/groups/team-a', { scaleBy: 3 });
  assert.equal(scaleBy.status, 403);
  assert.equal((await cluster.get('/v2/apps/team-a/web')).app.instances, 1);

  // dryRun: what the write would do, and nothing done (no deployment, no new version).
  const versions = (await cluster.get('/v2/apps/team-a/web/versions')).versions as string[];
  const dry = await cluster.call('PUT', '/v2/apps/team-a/web?dryRun=true', { instances: 3 });
  assert.equal(dry.status, 200, JSON.stringify(dry.json));
  assert.equal(dry.json.fits, false);
  const [effect] = dry.json.quotas as Json[];
  assert.deepEqual([effect?.group, effect?.used.cpus, effect?.after.cpus, effect?.fits, effect?.refusals.length], ['/team-a', 0.5, 1.5, false, 2]);
  const fits = await cluster.call('POST', '/v2/apps?dryRun=true', { ...web(1), id: '/team-a/api' });
  assert.equal(fits.status, 200);
  assert.equal(fits.json.fits, true);
  const groupDry = await cluster.call('PUT', '/v2/groups/team-a?dryRun=true', { scaleBy: 2 });
  assert.deepEqual([groupDry.status, groupDry.json.fits], [200, true]);
  assert.ok(Array.isArray(groupDry.json.steps));
  assert.deepEqual((await cluster.get('/v2/apps/team-a/web/versions')).versions, versions);
  assert.equal((await cluster.get('/v2/apps')).apps.length, 1);
  assert.deepEqual((await cluster.get('/v2/deployments')), []);

  const listed = await cluster.get('/v2/quotas');
  assert.deepEqual(listed.quotas, [{ group: '/team-a', limit: { cpus: 1, instances: 2 }, used: { cpus: 0.5, mem: 32, disk: 0, gpus: 0, instances: 1 }, held: { cpus: 0.5, mem: 32, disk: 0, gpus: 0, instances: 1 } }]);
  assert.equal((await cluster.call('GET', '/v2/quotas/team-b')).status, 404);

  const listedByCli = await corral(['quota', 'list'], { master: cluster.master });
  assert.equal(listedByCli.code, 0, listedByCli.stderr);
  assert.match(listedByCli.stdout, /\/team-a\s+0\.5\/1\s+32\/-\s+0\/-\s+0\/-\s+1\/2/);
  const setByCli = await corral(['quota', 'set', 'team-b', '--mem', '64'], { master: cluster.master });
  assert.equal(setByCli.code, 0, setByCli.stderr);
  assert.equal((await corral(['quota', 'set', 'team-b', '--mem', 'lots'], { master: cluster.master })).code, 2);
  assert.equal((await corral(['quota', 'rm', '/team-b'], { master: cluster.master })).code, 0);
  assert.equal((await cluster.call('GET', '/v2/quotas/team-b')).status, 404);

  await cluster.restartScheduler();
  assert.deepEqual((await cluster.get('/v2/quotas/team-a')).limit, { cpus: 1, instances: 2 });
  assert.equal((await cluster.call('PUT', '/v2/apps/team-a/web', { instances: 3 })).status, 403, 'still enforced after a restart');
  assert.equal((await cluster.call('DELETE', '/v2/quotas/team-a')).status, 200);
  assertDeployment(await cluster.call('PUT', '/v2/apps/team-a/web', { instances: 3 }));
});

test('a rolling upgrade at the quota edge waits with the reason in /v2/queue and corral why, replaces in place, and never holds more than the quota', { timeout: 90_000 }, async () => {
  const cluster = await AgentCluster.start('quotas-surge');
  clusters.push(cluster);
  await cluster.startAgent();
  assert.equal((await cluster.call('PUT', '/v2/quotas/team-a', { instances: 2 })).status, 200);
  // The old instances ignore SIGTERM: each holds its share through its whole kill grace period, so the wait is seen.
  const slow = (version: string): Json => ({
    id: '/team-a/slow', cmd: `trap '' TERM; sleep 1000; : ${version} ${cluster.marker}`, instances: 2, cpus: 0.1, mem: 16, portDefinitions: [], taskKillGracePeriodSeconds: 3,
  });
  await cluster.postApp(slow('v1'));
  await cluster.running('/team-a/slow', 2);
  await waitFor('the first deployment to finish', async () => ((await cluster.get('/v2/deployments')) as unknown as Json[]).length === 0 || undefined);
  const events = await cluster.events();

  // Marathon's default strategy would start two new instances first; the quota has no room for them.
  const deploymentId = assertDeployment(await cluster.call('PUT', '/v2/apps/team-a/slow', slow('v2')));
  const entry = await waitFor('the upgrade to wait for quota in /v2/queue', async () => {
    const { queue } = await cluster.get('/v2/queue');
    return (queue as Json[]).find((e) => e.app.id === '/team-a/slow' && /waiting for quota/.test(String(e.reason)));
  });
  assert.match(String(entry.reason), /^waiting for quota before starting one more instance of \/team-a\/slow: quota of \/team-a: instances 2 used \+ 1 requested = 3, over the limit of 2/);
  const why = await corral(['why', '/team-a/slow'], { master: cluster.master });
  assert.equal(why.code, 0, why.stderr);
  assert.match(why.stdout, /Reason: .*waiting for quota .*quota of \/team-a: instances 2 used \+ 1 requested = 3, over the limit of 2/);
  assert.match(why.stdout, /see: corral quota list/);

  await events.waitFor('deployment_success', (d) => d.id === deploymentId, 60_000);
  const tasks = await cluster.running('/team-a/slow', 2);
  const { app } = await cluster.get('/v2/apps/team-a/slow');
  assert.ok(tasks.every((t) => t.version === app.version), 'both run the new version');

  // Replayed from the event stream: never more than 2 instances of the group held resources at once.
  const live = new Set<string>();
  let most = 0;
  for (const update of events.find('status_update_event', (d) => d.appId === '/team-a/slow')) {
    if (TERMINAL_TASK_STATES.has(update.taskStatus) || update.taskStatus === 'TASK_UNREACHABLE') live.delete(String(update.taskId));
    else live.add(String(update.taskId));
    most = Math.max(most, live.size);
  }
  assert.ok(most <= 2, `${most} instances held resources at once`);
});

test('/v2/quotas shows a rolling upgrade\'s surge as held, beside the declared use', { timeout: 90_000 }, async () => {
  const cluster = await AgentCluster.start('quotas-held');
  clusters.push(cluster);
  await cluster.startAgent();
  assert.equal((await cluster.call('PUT', '/v2/quotas/team-a', { instances: 3 })).status, 200);
  // Old instances ignore SIGTERM: each holds its share through its kill grace period, so the surge lasts.
  const slow = (version: string): Json => ({
    id: '/team-a/slow', cmd: `trap '' TERM; sleep 1000; : ${version} ${cluster.marker}`, instances: 2, cpus: 0.1, mem: 16, portDefinitions: [], taskKillGracePeriodSeconds: 3,
  });
  await cluster.postApp(slow('v1'));
  await cluster.running('/team-a/slow', 2);
  const row = async (): Promise<Json> => ((await cluster.get('/v2/quotas')).quotas as Json[])[0] ?? {};
  assert.deepEqual([(await row()).used.instances, (await row()).held.instances], [2, 2]);
  assertDeployment(await cluster.call('PUT', '/v2/apps/team-a/slow', slow('v2')));
  // One instance over the declared two fits the quota of 3: the surge is held, and `used` stays what is declared.
  const surge = await waitFor('the surge to show as held', async () => {
    const current = await row();
    return current.held.instances === 3 ? current : undefined;
  }, 30_000);
  assert.equal(surge.used.instances, 2);
  assert.equal(surge.held.cpus, 0.3);
  // Ended with the upgrade (the old ones killed after their grace period): back to what is declared.
  await waitFor('the upgrade to finish', async () => ((await cluster.get('/v2/deployments')) as unknown as Json[]).length === 0 || undefined, 60_000);
  await waitFor('held back to the declared use', async () => ((await row()).held.instances === 2 ? true : undefined), 30_000);
});

test('--auth: only the admin sets quotas; a team lists only the quotas of groups it may read', { timeout: 60_000 }, async () => {
  const dir = tempDir('corral-quotas-auth-');
  const dataDir = join(dir, 'scheduler');
  const scheduler = await startPart('scheduler', ['scheduler', '--auth', '--listen', '127.0.0.1:0', '--data-dir', dataDir], dir);
  parts.push(scheduler);
  dirs.push(dir);
  const base = String(scheduler.ready.api);
  const call = async (method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Json }> => {
    const response = await request(`${base}${path}`, {
      method: method as 'GET', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.statusCode, json: (await response.body.json()) as Json };
  };
  const admin = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  assert.equal((await call('POST', '/v2/auth/identities', admin, { id: 'team-a' })).status, 201);
  assert.equal((await call('POST', '/v2/auth/grants', admin, { identity: 'team-a', actions: ['create', 'read', 'update', 'delete'], path: '/team-a' })).status, 201);
  const teamA = String((await call('POST', '/v2/auth/tokens', admin, { identity: 'team-a' })).json.token);
  for (const group of ['team-a', 'team-b']) assert.equal((await call('PUT', `/v2/quotas/${group}`, admin, { cpus: 1 })).status, 200);

  assert.deepEqual(((await call('GET', '/v2/quotas', admin)).json.quotas as Json[]).map((q) => q.group), ['/team-a', '/team-b']);
  assert.deepEqual(((await call('GET', '/v2/quotas', teamA)).json.quotas as Json[]).map((q) => q.group), ['/team-a']);
  assert.equal((await call('GET', '/v2/quotas/team-a', teamA)).status, 200);
  assert.equal((await call('GET', '/v2/quotas/team-b', teamA)).status, 403);
  assert.equal((await call('PUT', '/v2/quotas/team-a', teamA, { cpus: 100 })).status, 403, 'a team cannot raise its own quota');
  const refused = await call('POST', '/v2/apps', teamA, { id: '/team-a/big', cmd: 'sleep 1', cpus: 2, instances: 1 });
  assert.equal(refused.status, 403);
  assert.match(String(refused.json.message), /^quota of \/team-a: cpus 0 used \+ 2 requested = 2, over the limit of 1$/);
});
