import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { AgentCluster, groupMembers, taskGroups } from '../support/agent-cluster.ts';
import { commandStream, standInRegistration } from '../support/stand-in-agent.ts';
import { waitFor } from '../support/wait.ts';

let cluster: AgentCluster | undefined;

after(async () => {
  await cluster?.stop();
});

test('a scheduler on a fresh data dir kills the tasks an agent still runs for an earlier one', { timeout: 60_000 }, async () => {
  const c = (cluster = await AgentCluster.start('orphans'));
  await c.startAgent();
  await c.postApp({ id: '/old', cmd: `sleep 1000; : ${c.marker}` });
  await c.running('/old', 1);
  const [group] = await waitFor('the task\'s process group', () => (taskGroups(c.marker).length === 1 ? taskGroups(c.marker) : undefined));
  assert.ok(group !== undefined);

  // The operator starts over: same address, empty state. The agent keeps its task meanwhile.
  await c.restartScheduler({ signal: 'SIGKILL', dataDir: join(c.dir, 'fresh') });
  assert.ok(groupMembers(group).length > 0, 'the task outlives the scheduler');

  await waitFor('the unknown task to be killed', () => (groupMembers(group).length === 0 ? true : undefined), 20_000);
  assert.deepEqual(await c.tasks(), [], 'the new scheduler never adopted it');
});

test('an agent\'s periodic report of its tasks gets the unknown ones killed, never one just launched', { timeout: 60_000 }, async () => {
  const c = cluster ?? (cluster = await AgentCluster.start('orphans'));
  // A stand-in agent speaking the agent protocol, so the test decides what it reports.
  const registration = await c.call('POST', '/corral/v1/agents/register', standInRegistration('stand-in', '127.0.0.50'));
  assert.equal(registration.status, 200, JSON.stringify(registration.json));
  const agentId = String(registration.json.agentId);
  const controller = new AbortController();
  try {
    const commands = await commandStream(c.master, agentId, controller.signal);
    await c.postApp({ id: '/in-flight', cmd: 'sleep 1000', constraints: [['hostname', 'CLUSTER', 'stand-in']] });
    const launch = await waitFor('the launch', () => commands.find((x) => x.type === 'launch'));
    const launched = String(launch.task.taskId);
    // No status yet for the launched task: it is in flight, and must not be taken for an orphan.
    const beat = await c.call('POST', `/corral/v1/agents/${agentId}/heartbeat`, { tasks: [{ taskId: launched, state: 'TASK_STARTING' }, { taskId: 'ghost.1', state: 'TASK_RUNNING' }] });
    assert.equal(beat.status, 200);
    await waitFor('a kill for the unknown task', () => commands.find((x) => x.type === 'kill' && x.taskId === 'ghost.1'));
    assert.deepEqual(commands.filter((x) => x.type === 'kill').map((x) => x.taskId), ['ghost.1'], 'only the unknown task is killed');
    const metrics = await request(`${c.master}/metrics`).then((r) => r.body.text());
    assert.match(metrics, /corral_scheduler_orphaned_tasks_killed_total [1-9]/);
    // A plain heartbeat (no report) still just keeps the agent alive; a malformed report is refused.
    assert.equal((await c.call('POST', `/corral/v1/agents/${agentId}/heartbeat`)).status, 200);
    assert.equal((await c.call('POST', `/corral/v1/agents/${agentId}/heartbeat`, { tasks: [{ taskId: 7 }] })).status, 422);
  } finally {
    controller.abort();
  }
});
