import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { waitFor } from '../support/wait.ts';

let cluster: AgentCluster | undefined;

after(async () => {
  await cluster?.stop();
});

test('drain: no new tasks on the agent; its tasks start elsewhere first, then stop; undrain takes tasks again', { timeout: 60_000 }, async () => {
  const c = (cluster = await AgentCluster.start('agent-drain'));
  const events = await c.events();
  await c.startAgent({ ip: '127.0.0.11' });
  await c.postApp({ id: '/moving', cmd: `sleep 1000; : ${c.marker}`, instances: 2 });
  const before = await c.running('/moving', 2);
  assert.deepEqual(before.map((t) => t.host), ['127.0.0.11', '127.0.0.11']);
  const agents = (await c.get('/corral/v1/agents')).agents as Json[];
  const drained = agents.find((a) => a.ip === '127.0.0.11');
  assert.ok(drained);

  await c.startAgent({ ip: '127.0.0.12' });
  const drain = await c.call('POST', `/corral/v1/agents/${String(drained.id)}/drain`);
  assert.deepEqual([drain.status, drain.json], [200, { agentId: drained.id, draining: true }]);
  const moved = await waitFor('both tasks to run on the other agent', async () => {
    const tasks = await c.tasks('/moving');
    return tasks.length === 2 && tasks.every((t) => t.host === '127.0.0.12' && t.state === 'TASK_RUNNING') ? tasks : undefined;
  });
  assert.equal(moved.filter((t) => before.some((b) => b.id === t.id)).length, 0, 'replaced, not moved in place');
  // Each old task was killed only after its replacement was running.
  for (const old of before) {
    const killed = await events.waitFor('status_update_event', (e) => e.taskId === old.id && e.taskStatus === 'TASK_KILLED');
    const replacementsRunning = events.find('status_update_event', (e) => e.appId === '/moving' && e.taskStatus === 'TASK_RUNNING' && e.host === '127.0.0.12')
      .filter((e) => e.timestamp <= killed.timestamp);
    assert.equal(replacementsRunning.length, 2, 'new instances ran before the old ones were killed');
  }
  assert.equal((await c.get('/corral/v1/agents')).agents.find((a: Json) => a.id === drained.id).draining, true);

  await c.postApp({ id: '/fresh', cmd: `sleep 1000; : ${c.marker}`, instances: 2 });
  const fresh = await c.running('/fresh', 2);
  assert.deepEqual(fresh.map((t) => t.host), ['127.0.0.12', '127.0.0.12'], 'a draining agent takes nothing new');

  assert.equal((await c.call('DELETE', `/corral/v1/agents/${String(drained.id)}/drain`)).status, 200);
  await c.postApp({ id: '/back', cmd: `sleep 1000; : ${c.marker}`, instances: 1 });
  const [back] = await c.running('/back', 1);
  assert.equal(back?.host, '127.0.0.11', 'after maintenance the emptier agent takes new work');
  assert.equal((await c.call('POST', '/corral/v1/agents/no-such-agent/drain')).status, 404);
});
