import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AgentCluster, groupMembers, type Json } from '../support/agent-cluster.ts';
import { waitFor } from '../support/wait.ts';

let cluster: AgentCluster | undefined;
let restarted: AgentCluster | undefined;

after(async () => {
  // A frozen agent cannot be stopped: thaw it first, whatever the test got to.
  for (const c of [cluster, restarted]) {
    for (const agent of c?.agents ?? []) agent.part.child.kill('SIGCONT');
    await c?.stop();
  }
});

/** The tasks of one app in the discovery snapshot DNS and LB build from. */
async function discovered(c: AgentCluster, appId: string): Promise<Json[]> {
  const snapshot = await c.get('/corral/v1/discovery');
  return (snapshot.tasks as Json[]).filter((t) => t.appId === appId);
}

test('SIGSTOP as a partition: unreachable, expunged, replaced elsewhere; the returning agent kills the old task', { timeout: 60_000 }, async () => {
  const c = (cluster = await AgentCluster.start('agent-partition', { agentTimeout: '2s' }));
  const events = await c.events();
  const a = await c.startAgent({ ip: '127.0.0.11' });
  // Only agent A exists when the app is placed: its one instance lands there.
  await c.postApp({ id: '/part', cmd: `echo $$ > leader; sleep 1000; : ${c.marker}` });
  const [original] = await c.running('/part', 1);
  assert.ok(original);
  assert.equal(original.host, '127.0.0.11');
  const leaderFile = join(a.workDir, 'sandboxes', String(original.id), 'leader');
  const leader = await waitFor('the task to write its pid', () => {
    try {
      return Number(readFileSync(leaderFile, 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  });
  // The task's process group: its trampoline's pid, parent of the `sh -c` that wrote its pid.
  const pgid = Number(readFileSync(`/proc/${leader}/stat`, 'utf8').split(') ')[1]?.split(' ')[2]);
  assert.ok(groupMembers(pgid).length >= 2, 'the task runs');

  await c.startAgent({ ip: '127.0.0.12' });
  await waitFor('both agents connected', async () => {
    const { agents } = await c.get('/corral/v1/agents');
    return (agents as Json[]).filter((x) => x.connected === true).length === 2 ? true : undefined;
  });

  const frozeAt = Date.now();
  a.part.child.kill('SIGSTOP');
  const unreachable = await events.waitFor('status_update_event', (e) => e.taskId === original.id && e.taskStatus === 'TASK_UNREACHABLE', 15_000);
  const unreachableAfter = Date.now() - frozeAt;
  assert.ok(unreachableAfter >= 1500, `unreachable only after the agent timeout (after ${unreachableAfter} ms)`);
  assert.equal(unreachable.appId, '/part');
  assert.equal(unreachable.host, '127.0.0.11');

  // Marathon's default unreachableStrategy {0, 0}: expunged at once and replaced on B.
  await events.waitFor('status_update_event', (e) => e.taskId === original.id && e.taskStatus === 'TASK_GONE');
  const [replacement] = await c.running('/part', 1);
  assert.ok(replacement);
  assert.notEqual(replacement.id, original.id);
  assert.equal(replacement.host, '127.0.0.12');
  assert.deepEqual((await discovered(c, '/part')).map((t) => [t.id, t.host, t.state]), [[replacement.id, '127.0.0.12', 'TASK_RUNNING']],
    'discovery lists only the replacement');
  assert.ok(groupMembers(pgid).length >= 2, 'the old task still runs on the partitioned agent (nobody could kill it)');

  a.part.child.kill('SIGCONT');
  await waitFor('agent A to re-register', async () => {
    const { agents } = await c.get('/corral/v1/agents');
    return (agents as Json[]).filter((x) => x.connected === true).length === 2 ? true : undefined;
  }, 15_000);
  await waitFor('the old task\'s processes to be killed', () => (groupMembers(pgid).length === 0 ? true : undefined), 15_000);

  const tasks = await c.tasks('/part');
  assert.deepEqual(tasks.map((t) => [t.id, t.state]), [[replacement.id, 'TASK_RUNNING']], 'exactly one instance: the replacement');
  const app = (await c.get('/v2/apps/part')).app as Json;
  assert.equal(app.tasksRunning, 1);
  assert.equal(app.instances, 1);
  assert.deepEqual((await discovered(c, '/part')).map((t) => t.id), [replacement.id]);
  // The old task never comes back into the stream as running.
  const revived = events.find('status_update_event', (e) => e.taskId === original.id && e.taskStatus === 'TASK_RUNNING' && e.timestamp > unreachable.timestamp);
  assert.deepEqual(revived, []);
});

test('a restarted scheduler gives the agents it knew --agent-reregister-timeout to come back, then declares them unreachable', { timeout: 60_000 }, async () => {
  const c = (restarted = await AgentCluster.start('agent-reregister', { agentTimeout: '1s', schedulerArgs: ['--agent-reregister-timeout', '5s'] }));
  const a = await c.startAgent({ ip: '127.0.0.11' });
  await c.postApp({ id: '/kept', cmd: `sleep 1000; : ${c.marker}` });
  await c.running('/kept', 1);

  // Frozen while the scheduler restarts: a reconnect backoff that outlasts the agent timeout.
  a.part.child.kill('SIGSTOP');
  const restartedAt = Date.now();
  await c.restartScheduler();
  const lost = await waitFor('the agent unreachable', async () => ((await c.get('/corral/v1/agents')).agents as Json[]).find((x) => typeof x.unreachableSince === 'string'), 20_000);
  const after = Date.parse(String(lost.unreachableSince)) - restartedAt;
  assert.ok(after >= 5000, `unreachable only after the re-registration timeout (after ${after} ms), not after the agent timeout (1 s)`);

  // Thawed, it comes back (an agent that returns within the grace keeps its tasks: agent-admission's first test).
  a.part.child.kill('SIGCONT');
  await waitFor('the agent back', async () => (((await c.get('/corral/v1/agents')).agents as Json[])[0]?.connected === true ? true : undefined), 15_000);
});
