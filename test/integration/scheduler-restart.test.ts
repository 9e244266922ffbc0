import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { request } from 'undici';
import type { PartProcess } from '../../src/cli/child-process.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';
import { stopAll } from '../support/processes.ts';

const MARKER = `corral-restart-${randomUUID()}`;
const dir = tempDir('corral-restart-');
const running: PartProcess[] = [];

after(async () => {
  assert.deepEqual(await stopAll(running, dir, MARKER), [], 'no task process outlives its agent');
});

async function call(base: string, method: string, path: string, body?: unknown) {
  const response = await request(`${base}${path}`, { method: method as 'GET', ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: response.statusCode, json: (await response.body.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

test('acknowledged writes and running tasks survive kill -9 of the scheduler', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const schedulerArgs = ['scheduler', '--listen', `127.0.0.1:${port}`, '--data-dir', `${dir}/scheduler`];
  const first = await startPart('scheduler', schedulerArgs, dir);
  const portsBase = 20000 + 1000 * Math.floor(Math.random() * 10);
  const agent = await startPart('agent', ['agent', '--master', base, '--ip', '127.0.0.11', '--work-dir', `${dir}/agent`, '--resources', `cpus:2;mem:1024;ports:[${portsBase}-${portsBase + 99}]`], dir);
  running.push(agent);

  assert.equal((await call(base, 'POST', '/v2/apps', { id: '/sleeper', cmd: `sleep 1000; : ${MARKER}`, cpus: 0.1, mem: 16 })).status, 201);
  const [task] = await waitFor('the task to run', async () => {
    const { json } = await call(base, 'GET', '/v2/apps/sleeper/tasks');
    return json.tasks.length === 1 && json.tasks[0].state === 'TASK_RUNNING' ? json.tasks : undefined;
  });
  // Acknowledged just before the crash: must be there after it.
  assert.equal((await call(base, 'POST', '/v2/apps', { id: '/late', cmd: 'sleep 1', instances: 0 })).status, 201);
  const before = (await call(base, 'GET', '/corral/v1/discovery')).json;

  first.child.kill('SIGKILL');
  await first.exited;
  const second = await startPart('scheduler', schedulerArgs, dir);
  running.push(second);

  const apps = (await call(base, 'GET', '/v2/apps')).json.apps.map((a: { id: string }) => a.id);
  assert.deepEqual(apps, ['/late', '/sleeper']);
  // The agent re-registers and its task is adopted, not replaced.
  const adopted = await waitFor('the agent to re-register', async () => {
    const { json } = await call(base, 'GET', '/corral/v1/agents');
    return json.agents[0]?.connected === true ? (await call(base, 'GET', '/v2/tasks')).json.tasks : undefined;
  });
  assert.deepEqual(adopted.map((t: { id: string; state: string }) => [t.id, t.state]), [[task.id, 'TASK_RUNNING']]);
  const afterRestart = (await call(base, 'GET', '/corral/v1/discovery')).json;
  assert.ok(afterRestart.eventId >= before.eventId, 'event ids never go back');
  assert.equal((await call(base, 'PUT', '/v2/apps/sleeper', { instances: 0 })).status, 200);
  const scaledDown = (await call(base, 'GET', '/corral/v1/discovery')).json;
  assert.ok(scaledDown.eventId > before.eventId, 'new events continue after the old ids');
  await waitFor('the task to be killed', async () => ((await call(base, 'GET', '/v2/tasks')).json.tasks.length === 0 ? true : undefined));
});
