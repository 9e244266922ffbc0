import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

const MARKER = `corral-agent-restart-${randomUUID()}`;
const dir = tempDir('corral-agent-restart-');
const running: PartProcess[] = [];

const strays = (): string[] => {
  try {
    return execFileSync('pgrep', ['-f', MARKER]).toString().trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

after(async () => {
  await stopParts([...running].reverse(), 5000);
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(strays(), [], 'no task process outlives its agent');
});

test('an agent killed with -9 leaves tasks behind; restarted, it kills them and the app is made whole again', async () => {
  const scheduler = await startPart('scheduler', ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', `${dir}/scheduler`], dir);
  running.push(scheduler);
  const master = String(scheduler.ready.api);
  const portsBase = 20000 + 1000 * Math.floor(Math.random() * 10);
  const agentArgs = ['agent', '--master', master, '--ip', '127.0.0.11', '--work-dir', `${dir}/agent`, '--resources', `cpus:2;mem:1024;ports:[${portsBase}-${portsBase + 99}]`];
  const first = await startPart('agent', agentArgs, dir);
  const tasks = async (): Promise<Array<{ id: string; state: string }>> => {
    const response = await request(`${master}/v2/apps/sleeper/tasks`);
    return ((await response.body.json()) as { tasks: Array<{ id: string; state: string }> }).tasks;
  };
  const posted = await request(`${master}/v2/apps`, { method: 'POST', body: JSON.stringify({ id: '/sleeper', cmd: `sleep 1000; : ${MARKER}`, instances: 2, cpus: 0.1, mem: 16 }) });
  assert.equal(posted.statusCode, 201);
  await posted.body.dump();
  const before = await waitFor('2 running tasks', async () => {
    const list = await tasks();
    return list.length === 2 && list.every((t) => t.state === 'TASK_RUNNING') ? list : undefined;
  });
  const leftBehind = await waitFor('the task processes', () => (strays().length === 2 ? strays() : undefined));

  first.child.kill('SIGKILL');
  await first.exited;
  assert.deepEqual(strays(), leftBehind, 'kill -9 of the agent leaves its tasks running');

  running.push(await startPart('agent', agentArgs, dir));
  await waitFor('the old task processes to be killed', () => (strays().every((pid) => !leftBehind.includes(pid)) ? true : undefined));
  const after = await waitFor('2 new running tasks', async () => {
    const list = await tasks();
    return list.length === 2 && list.every((t) => t.state === 'TASK_RUNNING' && !before.some((b) => b.id === t.id)) ? list : undefined;
  });
  assert.equal(after.length, 2);
  assert.equal(strays().length, 2, 'exactly the replacements run');
});
