import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { assertDeployment } from '../support/marathon-api.ts';

/**
 * What ops (curl) and tools (dcos CLI, terraform) do: GET an app, PUT the very JSON back. Through
 * a real scheduler and agent: accepted, and nothing changes (same version, same running task).
 */
test('GET -> PUT of the app JSON as read: accepted, no new version, no deployment, the task keeps running', { timeout: 120_000 }, async (t) => {
  const c = await AgentCluster.start('round-trip');
  t.after(() => c.stop());
  await c.startAgent();
  const apps = [
    { id: '/rt/web', cmd: `sleep 1000; : ${c.marker}`, portDefinitions: [{ port: 0, name: 'http' }], healthChecks: [{ protocol: 'COMMAND', command: { value: 'true' }, intervalSeconds: 1 }] },
    { id: '/rt/db', cmd: `sleep 1000; : ${c.marker}`, container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 16 } }] } },
  ];
  for (const app of apps) {
    await t.test(app.id, async () => {
      await c.postApp(app);
      const [task] = await c.running(app.id, 1, 60_000);
      const read = (await c.get(`/v2/apps${app.id}?embed=app.tasks&embed=app.lastTaskFailure&embed=app.taskStats&embed=app.readiness`)).app as Json;
      assert.ok(Array.isArray(read.ports) && Array.isArray(read.tasks) && typeof read.tasksRunning === 'number', 'the JSON carries ports and read-only fields');
      for (const query of ['', '?partialUpdate=false']) {
        const answer = await c.call('PUT', `/v2/apps${app.id}${query}`, read);
        const deploymentId = assertDeployment(answer);
        assert.equal(answer.json.version, read.version, 'the version stays');
        assert.equal(((await c.get('/v2/deployments')) as unknown as Json[]).some((d) => d.id === deploymentId), false, 'nothing to deploy');
      }
      const after = (await c.get(`/v2/apps${app.id}`)).app as Json;
      // Counts may move (a health check result); the definition may not.
      const definition = (json: Json): Json => Object.fromEntries(Object.entries(json).filter(([key]) => !key.startsWith('tasks') && key !== 'deployments'));
      assert.deepEqual(definition(after), Object.fromEntries(Object.entries(definition(read)).filter(([key]) => key in after)));
      assert.deepEqual((await c.tasks(app.id)).map((x) => [x.id, x.state]), [[task?.id, 'TASK_RUNNING']], 'the same task, not replaced');
      assert.equal(((await c.get('/v2/apps' + app.id + '/versions')).versions as string[]).length, 1, 'no new stored version');
    });
  }
});
