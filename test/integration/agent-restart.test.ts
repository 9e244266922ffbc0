import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';
import { pidsOf } from '../support/processes.ts';

const MARKER = `corral-agent-restart-${randomUUID()}`;
const dir = tempDir('corral-agent-restart-');
const running: PartProcess[] = [];

const pids = pidsOf;

after(async () => {
  await stopParts([...running].reverse(), 5000);
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(pids(MARKER), [], 'no task process outlives its agent');
});

interface Task { id: string; appId: string; state: string }

test('kill -9 of the agent leaves its tasks running; the restarted agent adopts them and reports those that ended meanwhile', async () => {
  const scheduler = await startPart('scheduler', ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', `${dir}/scheduler`], dir);
  running.push(scheduler);
  const master = String(scheduler.ready.api);
  const portsBase = 20000 + 1000 * Math.floor(Math.random() * 10);
  const agentArgs = ['agent', '--master', master, '--ip', '127.0.0.11', '--work-dir', `${dir}/agent`,
    '--resources', `cpus:2;mem:1024;disk:1000;ports:[${portsBase}-${portsBase + 99}]`];
  const first = await startPart('agent', agentArgs, dir);
  const tasks = async (): Promise<Task[]> => {
    const response = await request(`${master}/v2/tasks`);
    return ((await response.body.json()) as { tasks: Task[] }).tasks;
  };
  const post = async (app: Record<string, unknown>): Promise<void> => {
    const response = await request(`${master}/v2/apps`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ cpus: 0.1, mem: 32, ...app }) });
    assert.equal(response.statusCode, 201);
    await response.body.dump();
  };
  await post({ id: '/sleeper', cmd: `sleep 1000; : ${MARKER}`, instances: 2 });
  // Ends with status 7 once the test drops a file in its sandbox.
  await post({ id: '/quitter', cmd: `while [ ! -f quit ]; do sleep 0.05; done; exit 7; : ${MARKER}` });
  const before = await waitFor('3 running tasks', async () => {
    const list = await tasks();
    return list.length === 3 && list.every((t) => t.state === 'TASK_RUNNING') ? list : undefined;
  });
  const quitter = before.find((t) => t.appId === '/quitter');
  assert.ok(quitter);
  const sleeperPids = await waitFor('the sleepers\' processes', () => {
    const found = pids(`sleep 1000; : ${MARKER}`);
    return found.length >= 2 ? found : undefined;
  });

  first.child.kill('SIGKILL');
  await first.exited;
  assert.deepEqual(pids(`sleep 1000; : ${MARKER}`), sleeperPids, 'the tasks outlive a crashed agent');
  writeFileSync(`${dir}/agent/sandboxes/${quitter.id}/quit`, '');
  await waitFor('the quitter to exit while the agent is down', () => (pids(`exit 7; : ${MARKER}`).length === 0 ? true : undefined));

  running.push(await startPart('agent', agentArgs, dir));
  const adopted = await waitFor('the sleepers adopted and the quitter replaced', async () => {
    const list = await tasks();
    const sleepers = list.filter((t) => t.appId === '/sleeper');
    const quitters = list.filter((t) => t.appId === '/quitter');
    return sleepers.length === 2 && quitters.length === 1 && quitters[0]?.id !== quitter.id && quitters[0]?.state === 'TASK_RUNNING' ? sleepers : undefined;
  });
  assert.deepEqual(adopted.map((t) => t.id).sort(), before.filter((t) => t.appId === '/sleeper').map((t) => t.id).sort(), 'same tasks');
  assert.deepEqual(pids(`sleep 1000; : ${MARKER}`), sleeperPids, 'same processes: nothing was restarted');

  // How the quitter ended is in the event history (read from the start with Last-Event-ID: 0).
  const controller = new AbortController();
  const history = await request(`${master}/v2/events?event_type=status_update_event`, { headers: { 'last-event-id': '0' }, signal: controller.signal });
  let text = '';
  try {
    await waitFor('the quitter\'s TASK_FAILED event', async () => {
      const { value } = await history.body[Symbol.asyncIterator]().next();
      text += String(value ?? '');
      return text.includes(`"taskId":"${quitter.id}","taskStatus":"TASK_FAILED","message":"Command exited with status 7"`) ? true : undefined;
    });
  } finally {
    controller.abort();
  }
});
