import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { AgentCluster } from '../support/agent-cluster.ts';

/**
 * A kill while the task's image is being pulled ends the task at once (TASK_KILLED): it does not
 * wait for a pull from a registry that never answers (the pull itself goes on for other launches).
 */
test('containers: a task killed during its pull ends without waiting for the pull', { timeout: 90_000 }, async (t) => {
  const c = await AgentCluster.start('containers-pull-kill');
  // Takes connections and never answers: skopeo waits on it for ever.
  const sockets = new Set<Socket>();
  const stalled = createServer((socket) => void sockets.add(socket));
  await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
  const port = (stalled.address() as { port: number }).port;
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => stalled.close(resolve));
    await c.stop();
  });
  await c.startAgent();
  const events = await c.events();
  await c.postApp({ id: '/stall/app', container: { type: 'DOCKER', docker: { image: `127.0.0.1:${port}/corral/stalled:v1` } } });
  const pulling = await events.waitFor('status_update_event', (e) => e.appId === '/stall/app' && e.taskStatus === 'TASK_STARTING' && String(e.message).startsWith('Pulling image'), 60_000);
  await c.call('DELETE', '/v2/apps/stall/app');
  const killed = await events.waitFor('status_update_event', (e) => e.taskId === pulling.taskId && e.taskStatus === 'TASK_KILLED', 10_000);
  assert.equal(killed.message, 'Killed before it started');
});
