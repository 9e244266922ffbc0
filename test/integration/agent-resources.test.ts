import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentCluster, randomPortsBase, type Json } from '../support/agent-cluster.ts';
import { waitFor } from '../support/wait.ts';

const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');
const BASE = randomPortsBase();
let c: AgentCluster;

before(async () => {
  c = await AgentCluster.start('agent-resources');
  await c.startAgent({ resources: `cpus:1;mem:256;disk:100;ports:[${BASE}-${BASE + 1}]` });
});

after(async () => {
  await c?.stop();
});

/**
 * Watches the app for `windowMs` (several scheduler evaluations, which run at least once a
 * second) and fails if it ever has more than `max` tasks: an absence can only be observed over time.
 */
async function neverMoreThan(appId: string, max: number, windowMs: number): Promise<Json[]> {
  const end = Date.now() + windowMs;
  let tasks: Json[] = [];
  while (Date.now() < end) {
    tasks = await c.tasks(appId);
    assert.ok(tasks.length <= max, `${appId} has ${tasks.length} tasks, more than the ${max} that fit`);
    await sleep(50);
  }
  return tasks;
}

async function scaleToZero(appId: string): Promise<void> {
  assert.equal((await c.call('PUT', `/v2/apps${appId}?force=true`, { instances: 0 })).status, 200);
  await waitFor(`${appId} to have no tasks`, async () => ((await c.tasks(appId)).length === 0 ? true : undefined));
}

test('cpus are never over-committed: 3 × 0.4 on a 1-cpu agent runs 2, the third waits', { timeout: 30_000 }, async () => {
  await c.postApp({ id: '/cpu', cmd: `sleep 1000; : ${c.marker}`, instances: 3, cpus: 0.4, mem: 32, portDefinitions: [] });
  await c.running('/cpu', 2);
  const tasks = await neverMoreThan('/cpu', 2, 2500);
  assert.deepEqual(tasks.map((t) => t.state), ['TASK_RUNNING', 'TASK_RUNNING']);
  const app = (await c.get('/v2/apps/cpu')).app as Json;
  assert.equal(app.instances, 3);
  assert.equal(app.tasksRunning, 2);
  assert.equal(app.tasksStaged, 0, 'the third is not staged anywhere');
  assert.equal((app.deployments as Json[]).length, 1, 'the deployment is still running');
  const deployments = (await c.get('/v2/deployments')) as unknown as Json[];
  assert.ok(deployments.some((d) => (d.affectedApps as string[]).includes('/cpu')));
  await scaleToZero('/cpu');
});

test('host ports are never given twice: 2 instances of a 2-port app on a 2-port agent runs 1', { timeout: 30_000 }, async () => {
  await c.postApp({ id: '/ports', cmd: `sleep 1000; : ${c.marker}`, instances: 2, portDefinitions: [{ port: 0 }, { port: 0 }] });
  const [first] = await c.running('/ports', 1);
  assert.ok(first);
  assert.deepEqual([...(first.ports as number[])].sort(), [BASE, BASE + 1]);
  const tasks = await neverMoreThan('/ports', 1, 2500);
  assert.deepEqual(tasks.map((t) => t.id), [first.id]);
  const app = (await c.get('/v2/apps/ports')).app as Json;
  assert.equal(app.tasksRunning, 1);
  assert.equal((app.deployments as Json[]).length, 1);

  // Once the ports are free again, another app gets them: the accounting gives them back.
  await scaleToZero('/ports');
  await c.postApp({ id: '/ports-again', cmd: `sleep 1000; : ${c.marker}`, portDefinitions: [{ port: 0 }, { port: 0 }] });
  const [again] = await c.running('/ports-again', 1);
  assert.deepEqual([...(again?.ports as number[])].sort(), [BASE, BASE + 1]);
  await scaleToZero('/ports-again');
});

/** Runs `corral agent` with these resources; resolves with its exit code and stderr once it exits. */
function runAgent(resources: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'agent', '--master', c.master, '--ip', '127.0.0.19',
    '--work-dir', join(c.dir, 'bad-agent'), '--resources', resources], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stderr });
  }));
}

test('a malformed --resources stops the agent at start-up, naming the bad part; nothing registers', { timeout: 60_000 }, async () => {
  for (const [resources, bad] of [['cpus:x;mem:256', 'cpus:x'], ['cpus:1;ports:[9000-8000]', 'ports:[9000-8000]'], ['cpus:1;mem', 'mem']] as const) {
    const { code, stderr } = await runAgent(resources);
    assert.notEqual(code, 0, `exits non-zero for ${resources}`);
    assert.ok(stderr.includes(`'${bad}'`), `stderr names '${bad}': ${stderr}`);
  }
  const { agents } = await c.get('/corral/v1/agents');
  assert.deepEqual((agents as Json[]).map((a) => a.ip), ['127.0.0.11'], 'only the good agent is registered');
});
