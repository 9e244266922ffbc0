import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AgentCluster, groupMembers, taskGroups, type Json } from '../support/agent-cluster.ts';
import { waitFor } from '../support/wait.ts';

let cluster: AgentCluster | undefined;
/** The task left behind by the killed agent: if the test fails before it is killed, nobody else will. */
let strayGroup: number | undefined;

after(async () => {
  if (strayGroup !== undefined && groupMembers(strayGroup).length > 0) process.kill(-strayGroup, 'SIGKILL');
  await cluster?.stop();
});

/** The agents `/corral/v1/agents` and Mesos' `/master/state` list, by ip (they must agree). */
async function listed(c: AgentCluster): Promise<string[]> {
  const agents = ((await c.get('/corral/v1/agents')).agents as Json[]).map((a) => String(a.ip)).sort();
  const slaves = ((await c.get('/master/state')).slaves as Json[]).map((s) => String(s.hostname)).sort();
  assert.deepEqual(slaves, agents, '/master/state lists the same agents');
  return agents;
}

test('an agent unreachable for longer than --registry-max-agent-age leaves the registry for good; its instances are replaced', { timeout: 90_000 }, async () => {
  const c = (cluster = await AgentCluster.start('registry', { agentTimeout: '1s', schedulerArgs: ['--registry-max-agent-age', '2s'] }));
  const first = await c.startAgent({ ip: '127.0.0.11' });
  // Never expunged by its own strategy: only the agent's removal lets it go.
  await c.postApp({ id: '/pinned', cmd: `sleep 1000; : ${c.marker}`, unreachableStrategy: 'disabled' });
  const [original] = await c.running('/pinned', 1);
  assert.equal(original?.host, '127.0.0.11');
  const [group] = await waitFor('the task\'s process group', () => (taskGroups(c.marker).length === 1 ? taskGroups(c.marker) : undefined));
  assert.ok(group !== undefined);
  strayGroup = group;
  await c.startAgent({ ip: '127.0.0.12' });
  await waitFor('both agents listed', async () => ((await listed(c)).length === 2 ? true : undefined));

  first.part.child.kill('SIGKILL');
  await first.part.exited;
  const lost = await waitFor('agent 1 unreachable', async () => ((await c.get('/corral/v1/agents')).agents as Json[]).find((a) => a.ip === '127.0.0.11' && typeof a.unreachableSince === 'string'));
  assert.equal(lost.connected, false);
  await waitFor('agent 1 removed from the registry', async () => (String(await listed(c)) === '127.0.0.12' ? true : undefined), 20_000);
  const [replacement] = await waitFor('the instance replaced on agent 2', async () => {
    const tasks = await c.tasks('/pinned');
    return tasks.length === 1 && tasks[0]?.id !== original?.id && tasks[0]?.state === 'TASK_RUNNING' ? tasks : undefined;
  }, 20_000);
  assert.equal(replacement?.host, '127.0.0.12');

  // The removal is durable: a restarted scheduler does not list the agent again.
  await c.restartScheduler();
  assert.deepEqual(await listed(c), ['127.0.0.12']);

  // The agent returns (same work dir: it adopts its old task) and registers again; the task it
  // still runs is unknown now and is killed, the replacement stays.
  assert.ok(groupMembers(group).length > 0, 'the removed agent\'s task still runs');
  await c.restartAgent(first);
  await waitFor('agent 1 registered again', async () => ((await listed(c)).length === 2 ? true : undefined));
  await waitFor('the old task killed', () => (groupMembers(group).length === 0 ? true : undefined), 20_000);
  assert.deepEqual((await c.tasks('/pinned')).map((t) => [t.id, t.state]), [[replacement?.id, 'TASK_RUNNING']]);
});
