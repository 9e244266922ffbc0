import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';
import { pidsOf } from '../support/agent-cluster.ts';

const MARKER = `corral-upgrade-${randomUUID()}`;
const dir = tempDir('corral-upgrade-');
const running: PartProcess[] = [];

after(async () => {
  await stopParts([...running].reverse(), 5000);
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(pidsOf(MARKER), [], 'no task process outlives its agent');
});

interface Task { id: string; state: string; version: string; healthCheckResults: Array<{ alive: boolean }> }

/** Version `v` of the app: healthy once the test creates <agent work dir>/go-<v>. */
const definition = (v: string) => ({
  id: '/up', cmd: `sleep 1000; : ${MARKER} ${v}`, instances: 3, cpus: 0.1, mem: 32,
  upgradeStrategy: { minimumHealthCapacity: 1, maximumOverCapacity: 0.34 },
  healthChecks: [{ protocol: 'COMMAND', command: { value: `test -f ../../go-${v}` }, intervalSeconds: 0.2, delaySeconds: 0, gracePeriodSeconds: 300, maxConsecutiveFailures: 0 }],
});

test('kill -9 of the scheduler in the middle of a rolling upgrade: nothing acknowledged is lost and the upgrade completes', { timeout: 90_000 }, async () => {
  const port = await freePort();
  const master = `http://127.0.0.1:${port}`;
  const schedulerArgs = ['scheduler', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'scheduler')];
  let scheduler = await startPart('scheduler', schedulerArgs, dir);
  const workDir = join(dir, 'agent');
  const portsBase = 20000 + 1000 * Math.floor(Math.random() * 10);
  running.push(await startPart('agent', ['agent', '--master', master, '--ip', '127.0.0.11', '--work-dir', workDir, '--resources', `cpus:4;mem:1024;disk:100;ports:[${portsBase}-${portsBase + 99}]`], dir));
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await request(`${master}${path}`, { method: method as 'GET', ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
    const text = await response.body.text();
    return { status: response.statusCode, json: text === '' ? undefined : JSON.parse(text) };
  };
  const tasks = async (): Promise<Task[]> => (await call('GET', '/v2/apps/up/tasks')).json.tasks;
  const healthy = (t: Task) => t.state === 'TASK_RUNNING' && t.healthCheckResults[0]?.alive === true;

  writeFileSync(join(workDir, 'go-v1'), '');
  assert.equal((await call('POST', '/v2/apps', definition('v1'))).status, 201);
  const v1 = await waitFor('3 healthy v1 instances', async () => {
    const list = await tasks();
    return list.length === 3 && list.every(healthy) ? list : undefined;
  });
  await waitFor('the first deployment to finish', async () => ((await call('GET', '/v2/deployments')).json.length === 0 ? true : undefined));

  const put = await call('PUT', '/v2/apps/up', definition('v2'));
  assert.equal(put.status, 200);
  const v2Version = put.json.version as string;
  // maximumOverCapacity 0.34 of 3: one extra instance at a time; it never becomes healthy yet.
  const during = await waitFor('the first v2 instance', async () => {
    const list = await tasks();
    return list.length === 4 && list.filter((t) => t.version === v2Version).length === 1 && list.filter((t) => t.state === 'TASK_RUNNING').length === 4 ? list : undefined;
  });
  assert.equal(during.filter((t) => v1.some((o) => o.id === t.id)).length, 3, 'no old instance is stopped before a new one is healthy');

  scheduler.child.kill('SIGKILL');
  await scheduler.exited;
  scheduler = await startPart('scheduler', schedulerArgs, dir);
  running.unshift(scheduler);

  const app = (await call('GET', '/v2/apps/up')).json.app;
  assert.equal(app.version, v2Version, 'the acknowledged update survived');
  const deployments = (await call('GET', '/v2/deployments')).json as Array<{ id: string }>;
  assert.deepEqual(deployments.map((d) => d.id), [put.json.deploymentId], 'the unfinished deployment is back');
  const adopted = await waitFor('the agent to re-register with all 4 tasks', async () => {
    const list = await tasks();
    return list.length === 4 && list.every((t) => t.state === 'TASK_RUNNING') ? list : undefined;
  });
  assert.deepEqual(adopted.map((t) => t.id).sort(), during.map((t) => t.id).sort(), 'tasks were adopted, not restarted');

  writeFileSync(join(workDir, 'go-v2'), '');
  const done = await waitFor('3 healthy v2 instances and nothing else', async () => {
    const list = await tasks();
    return list.length === 3 && list.every((t) => healthy(t) && t.version === v2Version) ? list : undefined;
  }, 30_000);
  assert.equal(done.length, 3);
  await waitFor('the deployment to finish', async () => ((await call('GET', '/v2/deployments')).json.length === 0 ? true : undefined));
});
