import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentCluster, type EventLog, type StartedAgent } from '../support/agent-cluster.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Task users (issue #15) with a real scheduler and agent, the agent running as root as in CI:
 * tasks run as the app's `user` or the agent's --default-user (nobody), with the user's groups,
 * in a sandbox of their own; root only with --allow-root-tasks; one user cannot read another's
 * environment, nor the agent's checkpoints, nor signal the agent.
 */

let c: AgentCluster;
let agent: StartedAgent;
let events: EventLog;

const idOf = (args: string[]): string => execFileSync('id', args, { encoding: 'utf8' }).trim();
/** Runs argv as `user` (uid, gid and groups), as a process of another task user would. */
const asUser = (user: string, argv: string[]): { status: number | null; stdout: string; stderr: string } =>
  spawnSync('setpriv', [`--reuid=${user}`, `--regid=${idOf(['-g', user])}`, '--init-groups', '--', ...argv], { encoding: 'utf8' });

before(async () => {
  c = await AgentCluster.start('agent-task-users');
  events = await c.events();
  agent = await c.startAgent();
});

after(async () => {
  await c?.stop();
});

/** Starts an app whose task writes its pid, ids and $SECRET into its sandbox, then sleeps; returns the task id and pid. */
async function idsApp(id: string, extra: Record<string, unknown>): Promise<{ taskId: string; pid: number; ids: string }> {
  await c.postApp({ id, env: { SECRET: `secret of ${id}` }, cmd: `echo "$(id -u) $(id -g) $(id -G)" > ids; echo "$SECRET" > secret; echo $$ > pid; exec sleep 1000 # ${c.marker}`, ...extra });
  const [task] = await c.running(id, 1);
  const taskId = String(task?.id);
  const pid = Number(await waitFor(`${id} wrote its pid`, async () => (await c.readSandboxFile(agent, taskId, 'pid').catch(() => '')).trim() || undefined));
  const ids = await waitFor(`${id} wrote its ids`, async () => (await c.readSandboxFile(agent, taskId, 'ids').catch(() => '')).trim() || undefined);
  return { taskId, pid, ids };
}

function statusUid(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:')) ?? '';
  return Number(line.split(/\s+/)[1]);
}

test('user "nobody" runs the task as nobody with its groups, in a sandbox it owns; the default user is nobody too', { timeout: 60_000 }, async () => {
  const nobody = { uid: Number(idOf(['-u', 'nobody'])), gid: Number(idOf(['-g', 'nobody'])) };
  // initgroups(3): the supplementary groups are the user's groups (with its primary group), not the agent's and not none.
  const expected = `${nobody.uid} ${nobody.gid} ${idOf(['-G', 'nobody'])}`;
  for (const [id, extra] of [['/users/named', { user: 'nobody' }], ['/users/default', {}]] as const) {
    const { taskId, pid, ids } = await idsApp(id, extra);
    assert.equal(ids, expected, `${id}: uid gid groups`);
    assert.equal(statusUid(pid), nobody.uid, `${id}: /proc/<pid>/status Uid`);
    const sandbox = join(agent.workDir, 'sandboxes', taskId);
    for (const path of [sandbox, join(sandbox, 'stdout'), join(sandbox, 'ids')]) {
      const s = statSync(path);
      assert.deepEqual([s.uid, s.gid], [nobody.uid, nobody.gid], `${path} is the task user's`);
    }
    assert.equal(statSync(sandbox).mode & 0o777, 0o750, 'a sandbox is closed to other users');
    assert.equal(statSync(join(agent.workDir, 'sandboxes')).mode & 0o777, 0o711, 'sandboxes can be passed through, not listed');
  }
});

test('the fetcher works as the agent, then the fetched files are the task user\'s', { timeout: 60_000 }, async () => {
  // Readable by root only: the task user could not copy it itself.
  const tool = join(c.dir, 'tool.sh');
  writeFileSync(tool, '#!/bin/sh\necho "tool ran as $(id -un)"\n', { mode: 0o600 });
  await c.postApp({ id: '/users/fetch', fetch: [{ uri: `file://${tool}`, executable: true }], cmd: `./tool.sh; sleep 1000 # ${c.marker}` });
  const [task] = await c.running('/users/fetch', 1);
  const taskId = String(task?.id);
  await waitFor('the tool\'s output', async () => ((await c.readSandboxFile(agent, taskId, 'stdout')).includes('tool ran as nobody') ? true : undefined));
  const fetched = statSync(join(agent.workDir, 'sandboxes', taskId, 'tool.sh'));
  assert.equal(fetched.uid, Number(idOf(['-u', 'nobody'])));
});

test('an unknown user and root (without --allow-root-tasks) fail the task with the reason; the agent lives on', { timeout: 60_000 }, async () => {
  await c.postApp({ id: '/users/ghost', user: 'corral-no-such-user', cmd: `sleep 1000 # ${c.marker}` });
  const ghost = await events.waitFor('status_update_event', (e) => e.appId === '/users/ghost' && e.taskStatus === 'TASK_FAILED');
  assert.match(String(ghost.message), /user "corral-no-such-user" does not exist on this agent/);
  await c.postApp({ id: '/users/root', user: 'root', cmd: `sleep 1000 # ${c.marker}` });
  const root = await events.waitFor('status_update_event', (e) => e.appId === '/users/root' && e.taskStatus === 'TASK_FAILED');
  assert.match(String(root.message), /may not run as root .*--allow-root-tasks/);
  for (const id of ['/users/ghost', '/users/root']) assert.equal((await c.call('DELETE', `/v2/apps${id}`)).status, 200);
  // Still serving.
  assert.equal((await c.call('GET', '/state', undefined, agent.endpoint)).status, 200);
});

test('tasks of different users cannot read each other\'s environment, the checkpoints, or signal the agent; health commands run as the task user', { timeout: 60_000 }, async () => {
  const a = await idsApp('/users/env-nobody', { user: 'nobody' });
  const b = await idsApp('/users/env-daemon', {
    user: 'daemon',
    healthChecks: [{ protocol: 'COMMAND', command: { value: `test "$(id -u)" = "${idOf(['-u', 'daemon'])}" && test -n "$SECRET"` }, gracePeriodSeconds: 30, intervalSeconds: 1, timeoutSeconds: 5 }],
  });
  assert.equal(b.ids.split(' ')[0], idOf(['-u', 'daemon']));
  // Through the pipe, not argv: the task has its secret.
  assert.equal((await c.readSandboxFile(agent, b.taskId, 'secret')).trim(), 'secret of /users/env-daemon');
  // The kernel's rule with distinct uids: the owner reads its environ, the other user cannot.
  assert.match(asUser('daemon', ['cat', `/proc/${b.pid}/environ`]).stdout, /SECRET=secret of \/users\/env-daemon/);
  const denied = asUser('nobody', ['cat', `/proc/${b.pid}/environ`]);
  assert.match(denied.stderr, /Permission denied/);
  assert.doesNotMatch(denied.stdout, /SECRET/);
  assert.notEqual(asUser('daemon', ['cat', `/proc/${a.pid}/environ`]).status, 0);
  // Nor in the other's sandbox, nor in argv (world-readable).
  assert.notEqual(asUser('nobody', ['cat', join(agent.workDir, 'sandboxes', b.taskId, 'secret')]).status, 0);
  assert.doesNotMatch(readFileSync(`/proc/${b.pid}/cmdline`, 'utf8'), /secret of/);
  // Checkpoints: the agent's alone.
  const meta = join(agent.workDir, 'meta');
  for (const dir of [meta, join(meta, 'tasks'), join(meta, 'tasks', b.taskId)]) {
    const s = statSync(dir);
    assert.deepEqual([s.uid, s.mode & 0o777], [0, 0o700], dir);
  }
  for (const file of ['launch.json', 'process.json', 'user.json']) {
    const s = statSync(join(meta, 'tasks', b.taskId, file));
    assert.deepEqual([s.uid, s.mode & 0o777], [0, 0o600], file);
  }
  assert.notEqual(asUser('nobody', ['cat', join(meta, 'tasks', a.taskId, 'launch.json')]).status, 0);
  // The agent (root) and the task's trampoline (root) are not a task user's to signal.
  const agentPid = agent.part.child.pid ?? 0;
  const killAgent = asUser('nobody', ['/bin/kill', '-0', String(agentPid)]);
  assert.notEqual(killAgent.status, 0);
  assert.match(killAgent.stderr, /not permitted/);
  // The health check ran as daemon with the task's environment: healthy.
  await events.waitFor('health_status_changed_event', (e) => e.taskId === b.taskId && e.alive === true, 20_000);
});

test('with --allow-root-tasks a root task runs as root; log rotation works on a task user\'s sandbox', { timeout: 60_000 }, async () => {
  const second = await c.startAgent({ ip: '127.0.0.32', args: ['--allow-root-tasks', '--log-max-bytes', '1024'] });
  const onSecond = { constraints: [['hostname', 'CLUSTER', '127.0.0.32']] };
  await c.postApp({ id: '/users/allowed-root', user: 'root', cmd: `id -u > ids; sleep 1000 # ${c.marker}`, ...onSecond });
  const [rootTask] = await c.running('/users/allowed-root', 1);
  assert.equal(await waitFor('the root task\'s uid', async () => (await c.readSandboxFile(second, String(rootTask?.id), 'ids').catch(() => '')).trim() || undefined), '0');
  // 4 KiB of output from nobody: the agent (root) copies and truncates it.
  await c.postApp({ id: '/users/chatty', cmd: `head -c 4096 /dev/zero | tr '\\0' x; sleep 1000 # ${c.marker}`, ...onSecond });
  const [chatty] = await c.running('/users/chatty', 1);
  const sandbox = join(second.workDir, 'sandboxes', String(chatty?.id));
  await waitFor('stdout rotated', () => { try { return statSync(join(sandbox, 'stdout.1')).size >= 4096 ? true : undefined; } catch { return undefined; } }, 20_000);
  assert.ok(statSync(join(sandbox, 'stdout')).size < 4096);
  assert.equal(statSync(join(sandbox, 'stdout')).uid, Number(idOf(['-u', 'nobody'])), 'the task keeps its own stdout');
});
