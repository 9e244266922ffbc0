import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentCluster, type Json, type StartedAgent } from '../support/agent-cluster.ts';
import { CliProcess, corral, corralJson, type CliOptions } from '../support/cli-run.ts';
import { waitFor } from '../support/wait.ts';

// One scheduler and one agent for every test here (see cli-apps.test.ts for the app commands).
let c: AgentCluster;
let agent: StartedAgent;

before(async () => {
  c = await AgentCluster.start('cli-cluster');
  agent = await c.startAgent({ ip: '127.0.0.11' });
});

after(async () => {
  await c?.stop();
});

const options = (extra: CliOptions = {}): CliOptions => ({ master: c.master, ...extra });
const run = (args: string[], extra: CliOptions = {}) => corral(args, options(extra));
const runJson = <T = Json>(args: string[]) => corralJson<T>(args, options());
const small = (id: string, instances = 1): Json => ({ id, cmd: `sleep 1000; : ${c.marker}`, cpus: 0.1, mem: 16, instances });
/** An app no agent can take: its deployment waits until stopped, rolled back or timed out. */
const stuck = (id: string): Json => ({ id, cmd: `sleep 1000; : ${c.marker}`, cpus: 50, mem: 16 });
const deployments = async (): Promise<Json[]> => (await c.get('/v2/deployments')) as unknown as Json[];
const instancesOf = async (id: string): Promise<number> => ((await c.get(`/v2/apps${id}`)).app as Json).instances as number;

test('group add, show, scale, update, remove', { timeout: 60_000 }, async () => {
  const file = join(c.dir, 'shop.json');
  writeFileSync(file, JSON.stringify({ id: '/cli-shop', apps: [small('web'), small('db')] }));
  const added = await run(['group', 'add', file]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /Created group \/cli-shop \(deployment [0-9a-f-]{36}\)[\s\S]*2\/2 ready[\s\S]*succeeded/);

  const [group, shown] = await Promise.all([runJson(['group', 'show', '/cli-shop']), run(['group', 'show', 'cli-shop'])]);
  assert.deepEqual((group.apps as Json[]).map((a) => a.id).sort(), ['/cli-shop/db', '/cli-shop/web']);
  assert.match(shown.stdout, /apps:\s+2/);
  assert.match(shown.stdout, /^\/cli-shop\/web\s+1\s+-\s+1$/m);

  const scaled = await run(['group', 'scale', '/cli-shop', '2']);
  assert.equal(scaled.code, 0, scaled.stderr);
  assert.match(scaled.stdout, /4\/4 ready/);
  assert.deepEqual([await instancesOf('/cli-shop/web'), await instancesOf('/cli-shop/db')], [2, 2]);

  const updated = await run(['group', 'update', '/cli-shop', '-'], { input: JSON.stringify({ apps: [small('web', 3)] }) });
  assert.equal(updated.code, 0, updated.stderr);
  assert.equal(await instancesOf('/cli-shop/web'), 3);
  assert.equal((await c.call('GET', '/v2/apps/cli-shop/db')).status, 404, 'apps the body leaves out are stopped (Marathon)');
  assert.equal((await run(['group', 'scale', '/cli-shop', 'lots'])).code, 2);

  const removed = await run(['group', 'remove', '/cli-shop']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal((await c.call('GET', '/v2/groups/cli-shop')).status, 404);
});

test('deployments: Ctrl-C stops waiting but not the deployment; list, watch to a failure, rollback, stop', { timeout: 60_000 }, async () => {
  const adding = new CliProcess(['app', 'add', '-'], options({ input: JSON.stringify(stuck('/cli-stuck')) }));
  await adding.printed(/step 1\/1 \[-+\] 0\/1 ready/);
  assert.equal(await adding.interrupt(), 130);
  assert.match(adding.stderr, /Stopped waiting; deployment ([0-9a-f-]{36}) goes on/);
  const [running] = await deployments();
  assert.deepEqual(running?.affectedApps, ['/cli-stuck'], 'the deployment goes on');
  const id = String(running?.id);
  assert.ok(adding.stderr.includes(id));

  const [listedJson, listed, locked] = await Promise.all([
    runJson<Json[]>(['deployment', 'list']), run(['deployment', 'list']), run(['app', 'scale', '/cli-stuck', '2']),
  ]);
  assert.deepEqual(listedJson.map((d) => d.id), [id]);
  assert.equal(locked.code, 1, 'a change to an app a deployment holds is refused');
  assert.match(locked.stderr, new RegExp(`locked by one or more deployments[\\s\\S]*${id} \\(HTTP 409\\)\\n\\(add --force`));
  assert.match(listed.stdout, new RegExp(`^${id}\\s+/cli-stuck\\s+1/1\\s+\\d+s\\s+StartApplication /cli-stuck$`, 'm'));

  const watching = new CliProcess(['deployment', 'watch', id], options());
  await watching.printed(/step 1\/1 \[-+\] 0\/1 ready/);
  const rollback = await run(['deployment', 'rollback', id]);
  assert.equal(rollback.code, 0, rollback.stderr);
  assert.match(rollback.stdout, /Rolling back deployment .* \(deployment [0-9a-f-]{36}\)[\s\S]*succeeded/);
  assert.equal(await watching.exited(), 1, 'the watched deployment failed');
  assert.match(watching.stderr, new RegExp(`deployment ${id} failed after [\\d.]+s: rolled back by request`));
  assert.equal((await c.call('GET', '/v2/apps/cli-stuck')).status, 404, 'rolling back a creation removes the app');

  const empty = await run(['app', 'add', '-']);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /stdin is not JSON/);
  const noWait = await run(['app', 'add', '-', '--no-wait', '--json'], { input: JSON.stringify(stuck('/cli-stopped')) });
  assert.equal(noWait.code, 0, noWait.stderr);
  const stopId = String(JSON.parse(noWait.stdout).deploymentId);
  const stopped = await run(['deployment', 'stop', stopId]);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(stopped.stdout, `Stopped deployment ${stopId}\n`);
  assert.deepEqual(await deployments(), []);
  assert.equal(await instancesOf('/cli-stopped'), 1, 'a stopped deployment leaves the app as it is');

  const [gone, stopAgain] = await Promise.all([run(['deployment', 'watch', stopId]), run(['deployment', 'stop', stopId])]);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /is not running/);
  assert.equal(stopAgain.code, 1, 'an unknown deployment is a failed operation');
  assert.equal((await run(['app', 'remove', '/cli-stopped'])).code, 0);
});

test('agent list shows state and resources; agent drain puts it in and out of maintenance', { timeout: 60_000 }, async () => {
  await c.postApp(small('/cli-load', 2));
  await c.running('/cli-load', 2);
  const [[listed], table] = await Promise.all([runJson<Json[]>(['agent', 'list']), run(['agent', 'list'])]);
  assert.equal(listed?.hostname, '127.0.0.11');
  assert.equal(listed?.connected, true);
  assert.deepEqual([listed?.total, listed?.used, listed?.free], [
    { cpus: 2, mem: 1024, disk: 1000 }, { cpus: 0.2, mem: 32, disk: 0 }, { cpus: 1.8, mem: 992, disk: 1000 },
  ]);
  assert.match(table.stdout, /^\S+-S\d+\s+127\.0\.0\.11\s+connected\s+0\.2\/2\s+32\/1024\s+1\.8\/992\s+\[\d+-\d+\]$/m);

  const drained = await run(['agent', 'drain', '127.0.0.11']);
  assert.equal(drained.code, 0, drained.stderr);
  assert.match(drained.stdout, /is draining/);
  assert.equal(((await c.get('/corral/v1/agents')).agents as Json[])[0]?.draining, true);
  assert.match((await run(['agent', 'list'])).stdout, /connected, draining/);
  // Its instances must move, but the only agent drains: why names the drain and the agent.
  const why = await waitFor('the drain given as the reason', async () => {
    const answer = await run(['why', '/cli-load']);
    return /Reason: agent draining on 1 of 1 agents/.test(answer.stdout) ? answer : undefined;
  }, 20_000);
  assert.match(why.stdout, /AgentMaintenance\s+1\/1/);
  assert.ok(why.stdout.includes(`: ${String(listed?.id)} (127.0.0.11)`), why.stdout);
  assert.equal((await run(['agent', 'drain', String(listed?.id), '--cancel'])).code, 0);
  assert.notEqual(((await c.get('/corral/v1/agents')).agents as Json[])[0]?.draining, true);
  assert.equal((await runJson<Json[]>(['agent', 'list']))[0]?.draining, false);
  const unknown = await run(['agent', 'drain', 'nope']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no agent 'nope'/);
  await c.call('DELETE', '/v2/apps/cli-load');
});

test('events: a live, readable view of the stream, filtered by type, until Ctrl-C', { timeout: 60_000 }, async () => {
  const human = new CliProcess(['events', '--type', 'status_update_event', '--type', 'deployment_success'], options());
  const json = new CliProcess(['events', '--type', 'deployment_success', '--json'], options());
  await human.printed(/Following events/, 'stderr');
  await json.printed(/Following events/, 'stderr');
  const added = await run(['app', 'add', '-', '--no-wait', '--json'], { input: JSON.stringify(small('/cli-events')) });
  const deploymentId = String(JSON.parse(added.stdout).deploymentId);
  await human.printed(/status_update_event\s+\/cli-events cli-events\.\S+ TASK_RUNNING on 127\.0\.0\.11:\d+/);
  await human.printed(new RegExp(`deployment_success\\s+deployment ${deploymentId} succeeded`));
  await json.printed(new RegExp(deploymentId));
  assert.equal(await human.interrupt(), 0);
  assert.equal(await json.interrupt(), 0);
  assert.doesNotMatch(human.stdout, /api_post_event|deployment_info/, 'only the types asked for');
  const lines = json.stdout.trim().split('\n').map((line) => JSON.parse(line) as Json);
  assert.ok(lines.every((e) => e.type === 'deployment_success' && typeof e.id === 'number'));
  assert.ok(lines.some((e) => (e.data as Json).id === deploymentId));
  await c.call('DELETE', '/v2/apps/cli-events');
});

test('logs --follow prints what a task writes as it writes it', { timeout: 60_000 }, async () => {
  await c.postApp({ id: '/cli-chatty', cmd: `echo first; while [ ! -e "$MESOS_SANDBOX/go" ]; do sleep 0.05; done; echo second; sleep 1000; : ${c.marker}` });
  const [task] = await c.running('/cli-chatty', 1);
  const taskId = String(task?.id);
  const follow = new CliProcess(['logs', taskId, '--follow'], options());
  await follow.printed(/^first\n$/);
  writeFileSync(join(agent.workDir, 'sandboxes', taskId, 'go'), '');
  await follow.printed(/^first\nsecond\n$/);
  assert.equal(await follow.interrupt(), 0);
  await c.call('DELETE', '/v2/apps/cli-chatty');
  await waitFor('no deployment left', async () => ((await deployments()).length === 0 ? true : undefined));
});
