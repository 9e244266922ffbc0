import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';

let cluster: AgentCluster | undefined;

after(async () => {
  await cluster?.stop();
});

// Allocates 8 MiB at a time, touching every byte; bounded (2 GiB) so that a limit that did not
// hold could not starve the machine.
const HOG = 'const kept = []; for (let i = 0; i < 256; i++) kept.push(Buffer.alloc(8 << 20, 1)); console.log("survived")';

test('a task beyond its memory limit is OOM-killed as TASK_FAILED; its neighbour and the agent live on', { timeout: 60_000 }, async (t) => {
  const c = (cluster = await AgentCluster.start('agent-oom'));
  const agent = await c.startAgent();
  const state = await c.get('/state', agent.endpoint);
  if (state.isolation === 'none') {
    t.skip(`the agent found no writable cgroups (isolation: none); see ${c.dir}/agent-1.log`);
    return;
  }
  assert.match(String(state.isolation), /^cgroup-v[12]$/);
  const events = await c.events();

  await c.postApp({ id: '/calm', cmd: `sleep 1000; : ${c.marker}`, mem: 32 });
  const [calm] = await c.running('/calm', 1);
  assert.ok(calm);

  // A long backoff: one OOM is all this test needs to see.
  await c.postApp({ id: '/hog', args: [process.execPath, '-e', HOG, c.marker], mem: 64, backoffSeconds: 60 });
  const failed = await events.waitFor('status_update_event', (e) => e.appId === '/hog' && e.taskStatus === 'TASK_FAILED', 30_000);
  assert.match(String(failed.message), /^Memory limit exceeded: /, `the status says why: ${String(failed.message)}`);
  assert.equal(failed.host, calm.host, 'both ran on the one agent');
  const stdout = await c.readSandboxFile(agent, String(failed.taskId), 'stdout');
  assert.doesNotMatch(stdout, /survived/, 'the allocation did not complete');

  // The neighbour is untouched: same task, still running; the agent still answers and heartbeats.
  const tasks = await c.tasks('/calm');
  assert.deepEqual(tasks.map((x: Json) => [x.id, x.state]), [[calm.id, 'TASK_RUNNING']]);
  assert.deepEqual(events.find('status_update_event', (e) => e.taskId === calm.id && e.taskStatus !== 'TASK_RUNNING' && e.taskStatus !== 'TASK_STARTING' && e.taskStatus !== 'TASK_STAGING'), []);
  assert.equal(agent.part.child.exitCode, null, 'the agent process is alive');
  const { agents } = await c.get('/corral/v1/agents');
  assert.deepEqual((agents as Json[]).map((a) => a.connected), [true]);
  assert.equal((await c.call('DELETE', '/v2/apps/hog?force=true')).status, 200);
});
