import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentCluster, groupMembers, isGone, type EventLog, type Json, type StartedAgent } from '../support/agent-cluster.ts';
import { waitFor } from '../support/wait.ts';

let c: AgentCluster;
let agent: StartedAgent;
let events: EventLog;

before(async () => {
  c = await AgentCluster.start('agent-kill-grace');
  events = await c.events();
  agent = await c.startAgent();
});

after(async () => {
  await c?.stop();
});

/** A number a task wrote to a file in its sandbox. */
function sandboxNumber(taskId: string, file: string): Promise<number> {
  return waitFor(`${file} in the sandbox of ${taskId}`, () => {
    try {
      return Number(readFileSync(join(agent.workDir, 'sandboxes', taskId, file), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  });
}

/** The process group of a pid (field 5 of /proc/<pid>/stat). */
function pgidOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

interface Killed {
  task: Json;
  /** Scheduler time from TASK_KILLING to TASK_KILLED. */
  tookMs: number;
  killed: Json;
}

/** Starts an app of one task, waits for it to run and for its pid file, deletes the app, and times the kill. */
async function runAndDelete(app: Json, pidFile = 'pid'): Promise<Killed & { pid: number; pgid: number }> {
  await c.postApp(app);
  const [task] = await c.running(String(app.id), 1);
  assert.ok(task);
  const pid = await sandboxNumber(String(task.id), pidFile);
  const pgid = pgidOf(pid);
  const { status } = await c.call('DELETE', `/v2/apps${String(app.id)}`);
  assert.equal(status, 200);
  const killing = await events.waitFor('status_update_event', (e) => e.taskId === task.id && e.taskStatus === 'TASK_KILLING');
  const killed = await events.waitFor('status_update_event', (e) => e.taskId === task.id && e.taskStatus === 'TASK_KILLED');
  return { task, pid, pgid, killed, tookMs: Date.parse(String(killed.timestamp)) - Date.parse(String(killing.timestamp)) };
}

test('a task that ignores SIGTERM is SIGKILLed after taskKillGracePeriodSeconds', { timeout: 30_000 }, async () => {
  const { tookMs, pid, pgid } = await runAndDelete({
    id: '/stubborn',
    cmd: `trap '' TERM; echo $$ > pid; sleep 1000; : ${c.marker}`,
    taskKillGracePeriodSeconds: 1,
  });
  assert.ok(tookMs >= 800, `TASK_KILLED only after the 1 s grace period (took ${tookMs} ms)`);
  assert.ok(tookMs < 6000, `and not much later (took ${tookMs} ms)`);
  await groupGone(pid, pgid);
});

/** SIGKILLed processes die a moment after the signal: their end is polled, with a deadline. */
async function groupGone(pid: number, pgid: number): Promise<void> {
  await waitFor('the task to be gone', () => (isGone(pid) ? true : undefined), 5000);
  await waitFor('nothing of its process group to be left', () => (groupMembers(pgid).length === 0 ? true : undefined), 5000);
}

test('a task that exits on SIGTERM is killed promptly, well within its grace period', { timeout: 30_000 }, async () => {
  const { tookMs, pid, pgid, killed } = await runAndDelete({
    id: '/prompt',
    cmd: `echo $$ > pid; sleep 1000; : ${c.marker}`,
    taskKillGracePeriodSeconds: 10,
  });
  assert.ok(tookMs < 3000, `TASK_KILLED without waiting for the 10 s grace period (took ${tookMs} ms)`);
  assert.equal(killed.appId, '/prompt');
  await groupGone(pid, pgid);
});

test('a task that forked background children leaves no orphan after the kill', { timeout: 30_000 }, async () => {
  const { task, pgid } = await runAndDelete({
    id: '/forker',
    // A plain background child, and one that ignores SIGTERM and so needs the SIGKILL.
    cmd: `sleep 1000 & echo $! > bg; (trap '' TERM; sleep 1000; : ${c.marker}) & echo $! > stubborn-bg; echo $$ > pid; sleep 1000; : ${c.marker}`,
    taskKillGracePeriodSeconds: 1,
  });
  const children = [await sandboxNumber(String(task.id), 'bg'), await sandboxNumber(String(task.id), 'stubborn-bg')];
  await waitFor('no background child to survive', () => (children.every((pid) => isGone(pid)) ? true : undefined), 5000);
  await waitFor('nothing of the process group to be left', () => (groupMembers(pgid).length === 0 ? true : undefined), 5000);
});
