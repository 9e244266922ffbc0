import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AgentCluster, groupMembers, taskGroups } from '../support/agent-cluster.ts';
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
