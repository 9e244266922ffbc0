import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { corral, corralJson, type CliOptions } from '../support/cli-run.ts';
import { freePort } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

// One scheduler and one agent for every test here: each CLI run is a fresh process, so the
// cluster is the expensive part.
let c: AgentCluster;

before(async () => {
  c = await AgentCluster.start('cli-apps');
  await c.startAgent({ ip: '127.0.0.11' });
});

after(async () => {
  await c?.stop();
});

const run = (args: string[], options: CliOptions = {}) => corral(args, { master: c.master, ...options });
const runJson = <T = Json>(args: string[]) => corralJson<T>(args, { master: c.master });

test('usage errors exit 2, --help shows examples, failures name what went wrong', { timeout: 60_000 }, async () => {
  const nobody = `http://127.0.0.1:${await freePort()}`;
  // Independent runs, side by side: most of each is Node starting up.
  const [help, badCount, noArgument, unknownCommand, badPair, down, downByEnv, fallback, missing, invalid] = await Promise.all([
    corral(['app', 'add', '--help']),
    run(['app', 'scale', '/x', 'many']),
    run(['task', 'kill']),
    run(['app', 'frobnicate']),
    run(['app', 'update', '/x', 'instances=3', 'oops']),
    corral(['app', 'list', '--master', nobody]),
    corral(['task', 'list'], { master: nobody }),
    // A comma list: the first URL refuses connections, the second one answers.
    corral(['app', 'list', '--json', '--master', `${nobody},${c.master}`]),
    run(['app', 'show', '/cli/nope']),
    run(['app', 'add', '-'], { input: JSON.stringify({ id: '/cli/bad', cmd: 'true', cpus: -1 }) }),
  ]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Example[\s\S]*corral app add hello\.json/);
  assert.match(help.stdout, /--no-wait/);
  assert.equal(badCount.code, 2);
  assert.match(badCount.stderr, /instances must be a whole number.*'many'/);
  assert.equal(noArgument.code, 2, 'a missing argument is a usage error');
  assert.equal(unknownCommand.code, 2, 'an unknown command is a usage error');
  assert.equal(badPair.code, 2);
  assert.match(badPair.stderr, /'oops' is not key=value/);

  assert.equal(down.code, 1);
  assert.ok(down.stderr.includes(nobody), `names the URL tried: ${down.stderr}`);
  assert.equal(downByEnv.code, 1);
  assert.ok(downByEnv.stderr.includes(nobody), 'CORRAL_MASTER is used');
  assert.equal(fallback.code, 0, fallback.stderr);
  assert.ok(Array.isArray(JSON.parse(fallback.stdout)));

  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /App '\/cli\/nope' does not exist \(HTTP 404\)/);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /Object is not valid[\s\S]*\/cpus/, 'the server\'s validation details are shown');
});

test('app add, list, show, update, versions, rollback, scale, restart, remove; task list and kill; logs', { timeout: 120_000 }, async () => {
  const file = join(c.dir, 'web.json');
  writeFileSync(file, JSON.stringify({
    id: '/cli/web', instances: 2, cpus: 0.1, mem: 32,
    cmd: `echo hello from $MESOS_TASK_ID; echo oops >&2; sleep 1000; : ${c.marker}`,
  }));
  const added = await run(['app', 'add', file]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /Created app \/cli\/web \(deployment [0-9a-f-]{36}\)/);
  assert.match(added.stdout, /step 1\/1 \[#+\] 2\/2 ready · started 2/, 'the progress ends with every instance ready');
  assert.match(added.stdout, /OK: deployment [0-9a-f-]{36} succeeded/);
  // Waiting means done: the tasks run when the command returns.
  assert.equal((await c.tasks('/cli/web')).filter((t) => t.state === 'TASK_RUNNING').length, 2);

  const [apps, table, tasks] = await Promise.all([runJson<Json[]>(['app', 'list']), run(['app', 'list']), runJson<Json[]>(['task', 'list', '/cli/web'])]);
  assert.equal(apps.find((a) => a.id === '/cli/web')?.tasksRunning, 2);
  assert.match(table.stdout, /^ID\s+RUNNING\s+HEALTHY\s+ASKED\s+CPUS\s+MEM\s+DEPLOYMENT\s+CMD$/m);
  assert.match(table.stdout, /^\/cli\/web\s+2\s+-\s+2\s+0\.1\s+32\s+-\s+echo hello/m);
  assert.equal(tasks.length, 2);
  const [first, second] = tasks.map((t) => String(t.id));
  assert.ok(first !== undefined && second !== undefined);

  const [shown, shownJson, allTasks, stdout, stderr, ambiguous] = await Promise.all([
    run(['app', 'show', 'cli/web']), runJson(['app', 'show', '/cli/web']), run(['task', 'list']),
    run(['logs', first]), run(['logs', first.slice(0, 16), '--stderr']), run(['logs', 'cli_web.']),
  ]);
  assert.match(shown.stdout, /id:\s+\/cli\/web/);
  assert.match(shown.stdout, /instances:\s+2 running, - healthy, 2 asked/);
  assert.ok(shown.stdout.includes(first) && shown.stdout.includes(second), 'the tasks are listed');
  assert.equal(shownJson.id, '/cli/web');
  assert.match(allTasks.stdout, new RegExp(`^${first.replace('.', '\\.')}\\s+/cli/web\\s+127\\.0\\.0\\.11\\s+\\d+\\s+TASK_RUNNING`, 'm'));
  assert.equal(stdout.code, 0, stdout.stderr);
  assert.equal(stdout.stdout, `hello from ${first}\n`);
  assert.equal(stderr.stdout, 'oops\n', 'a unique prefix names the task; --stderr reads stderr');
  assert.equal(ambiguous.code, 1);
  assert.match(ambiguous.stderr, /starts 2 task ids/);

  const updated = await run(['app', 'update', '/cli/web', 'instances=3', 'env.GREETING=007']);
  assert.equal(updated.code, 0, updated.stderr);
  assert.match(updated.stdout, /3\/3 ready/);
  let app = (await c.get('/v2/apps/cli/web')).app as Json;
  assert.equal(app.instances, 3);
  assert.deepEqual(app.env, { GREETING: '007' }, 'env values stay strings');
  const fromStdin = await run(['app', 'update', '/cli/web', '-', '--no-wait'], { input: '{"labels": {"tier": "web"}}' });
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  assert.match(fromStdin.stdout, /^Updated app \/cli\/web \(deployment [0-9a-f-]{36}\)\n$/, '--no-wait returns at once');
  await waitFor('the labels deployment to end', async () => ((await c.get('/v2/deployments')) as unknown as Json[]).length === 0 || undefined);

  const [versions, versionTable] = await Promise.all([runJson<string[]>(['app', 'versions', '/cli/web']), run(['app', 'versions', '/cli/web'])]);
  assert.equal(versions.length, 3);
  assert.match(versionTable.stdout, new RegExp(`${versions[0]}\\s+\\d+s\\s+current`));
  const back = await run(['app', 'rollback', '/cli/web']);
  assert.equal(back.code, 0, back.stderr);
  app = (await c.get('/v2/apps/cli/web')).app as Json;
  assert.deepEqual([app.labels, app.env, app.instances], [{}, { GREETING: '007' }, 3], 'back to the version before the labels');
  assert.equal((await run(['app', 'rollback', '/cli/web', String(versions[2])])).code, 0);
  app = (await c.get('/v2/apps/cli/web')).app as Json;
  assert.deepEqual([app.env, app.instances], [{}, 2], 'back to the first version');

  const scaled = await run(['app', 'scale', '/cli/web', '1']);
  assert.equal(scaled.code, 0, scaled.stderr);
  assert.match(scaled.stdout, /1\/1 ready · started 0 · healthy 0 · killed 1/);
  const [only] = await c.running('/cli/web', 1);
  const restarted = await run(['app', 'restart', '/cli/web']);
  assert.equal(restarted.code, 0, restarted.stderr);
  const [fresh] = await c.running('/cli/web', 1);
  assert.notEqual(fresh?.id, only?.id, 'restart replaces the instance');

  const killed = await run(['task', 'kill', String(fresh?.id)]);
  assert.equal(killed.code, 0, killed.stderr);
  assert.equal(killed.stdout, `Killed 1 task(s): ${String(fresh?.id)}\n`);
  const [replacement] = await waitFor('a replacement task', async () => {
    const now = await c.tasks('/cli/web');
    return now.length === 1 && now[0]?.id !== fresh?.id && now[0]?.state === 'TASK_RUNNING' ? now : undefined;
  });
  const scaledDown = await run(['task', 'kill', String(replacement?.id), '--scale']);
  assert.equal(scaledDown.code, 0, scaledDown.stderr);
  assert.match(scaledDown.stdout, /succeeded/);
  assert.equal(((await c.get('/v2/apps/cli/web')).app as Json).instances, 0, '--scale lowers the instances');

  const removed = await run(['app', 'remove', '/cli/web']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal((await c.call('GET', '/v2/apps/cli/web')).status, 404);
});

test('a deployment that cannot finish makes app add exit 1 with the reason; why and queue say what blocks it', { timeout: 60_000 }, async () => {
  const huge = { id: '/cli/huge', cmd: `sleep 1000; : ${c.marker}`, cpus: 50, mem: 32, deploymentTimeoutSeconds: 1 };
  const failed = await run(['app', 'add', '-'], { input: JSON.stringify(huge) });
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /deployment [0-9a-f-]{36} failed after [\d.]+s: did not finish within its timeout: \/cli\/huge: 0 of 1 instances ready/);

  const [why, whyJson, queue, queueJson, unknown] = await Promise.all([
    run(['why', 'cli/huge']), runJson(['why', '/cli/huge']), run(['queue']), runJson<Json[]>(['queue']), run(['why', '/cli/nope']),
  ]);
  assert.equal(why.code, 0, why.stderr);
  assert.match(why.stdout, /App \/cli\/huge: 1 instance\(s\) waiting/);
  assert.match(why.stdout, /Reason: insufficient cpus on 1 of 1 agents/);
  assert.match(why.stdout, /InsufficientCpus\s+1\/1/);
  assert.equal(whyJson.count, 1);
  assert.match(queue.stdout, /^\/cli\/huge\s+1\s+-\s+\d+s\s+insufficient cpus/m);
  assert.equal(queueJson.find((e) => (e.app as Json).id === '/cli/huge')?.count, 1);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /app \/cli\/nope does not exist/);

  const asJson = await run(['app', 'remove', '/cli/huge', '--json']);
  assert.equal(asJson.code, 0, asJson.stderr);
  assert.equal(JSON.parse(asJson.stdout).succeeded, true);
  const notWaiting = await run(['why', '/cli/huge']);
  assert.equal(notWaiting.code, 1, 'a removed app is unknown');
});
