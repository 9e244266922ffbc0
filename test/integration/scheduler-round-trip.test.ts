import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { assertDeployment } from '../support/marathon-api.ts';
import { LoopbackRegistry, writeBusyboxImage } from '../support/oci-image.ts';

/**
 * What ops (curl) and tools (dcos CLI, terraform) do: GET an app, PUT the very JSON back. Through
 * a real scheduler and agent, for a host app, an app with an image, a bridged one and a resident
 * one: accepted, and nothing changes (same version, same running task).
 */
test('GET -> PUT of the app JSON as read: accepted, no new version, no deployment, the task keeps running', { timeout: 240_000 }, async (t) => {
  const c = await AgentCluster.start('round-trip');
  const registry = await LoopbackRegistry.start(join(c.dir, 'registry'));
  t.after(async () => {
    await c.stop();
    await registry.stop();
  });
  writeBusyboxImage(join(c.dir, 'image'), 'v1', { entrypoint: ['/bin/busybox'], cmd: ['sh', '-c', `sleep 1000; : ${c.marker}`], env: ['PATH=/bin'] });
  await registry.push(join(c.dir, 'image', 'layout'), 'v1', 'corral/busybox:v1');
  const image = `${registry.host}/corral/busybox:v1`;
  await c.startAgent();
  const apps = [
    { id: '/rt/image', container: { type: 'DOCKER', docker: { image } } },
    { id: '/rt/bridge', cmd: `sleep 1000; : ${c.marker}`, networks: [{ mode: 'container/bridge' }], container: { type: 'DOCKER', docker: { image }, portMappings: [{ containerPort: 8080, name: 'http' }] } },
    { id: '/rt/web', cmd: `sleep 1000; : ${c.marker}`, portDefinitions: [{ port: 0, name: 'http' }], healthChecks: [{ protocol: 'COMMAND', command: { value: 'true' }, intervalSeconds: 1 }] },
    { id: '/rt/db', cmd: `sleep 1000; : ${c.marker}`, container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 16 } }] } },
  ];
  for (const app of apps) {
    await t.test(app.id, async () => {
      await c.postApp(app);
      const [task] = await c.running(app.id, 1, 90_000);
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
