import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Readiness checks made by a real scheduler against a real task: the deployment waits for the
 * task's endpoint to answer 200, and /v2/apps?embed=apps.readiness shows the last answer.
 */

let cluster: AgentCluster | undefined;

after(async () => {
  await cluster?.stop();
});

test('a deployment waits for the readiness check of its new instance', { timeout: 90_000 }, async () => {
  cluster = await AgentCluster.start('scheduler-readiness');
  await cluster.startAgent();
  const events = await cluster.events();
  const ready = join(cluster.dir, 'warm');
  // 503 until the file exists, then 200: a service warming its caches.
  const server = `exec node -e "const m='${cluster.marker}'; const fs = require('fs'); require('http').createServer((q, r) => { r.statusCode = fs.existsSync('${ready}') ? 200 : 503; r.end(q.url) }).listen(+process.env.PORT_HTTP_API, process.env.HOST)"`;
  const posted = await cluster.postApp({
    id: '/warm', cmd: server, cpus: 0.5, mem: 128, instances: 1,
    portDefinitions: [{ port: 0, name: 'http-api' }],
    readinessChecks: [{ path: '/ready', intervalSeconds: 0.2, preserveLastResponse: true }],
  });
  const deploymentId = String((posted.deployments as Json[])[0]?.id);

  const answer = await waitFor('a 503 kept as the last readiness response', async () => {
    const { app } = await cluster?.get('/v2/apps/warm?embed=app.readiness') as Json;
    return (app.readinessCheckResults as Json[])[0]?.lastResponse?.status === 503 ? app : undefined;
  }, 30_000);
  assert.deepEqual((answer.readinessCheckResults as Json[])[0], {
    name: 'readinessCheck', ready: false, taskId: (answer.readinessCheckResults as Json[])[0]?.taskId,
    lastResponse: { status: 503, contentType: '', body: '/ready' },
  });
  assert.equal(answer.tasksRunning, 1);
  const [deploying] = (await cluster.get('/v2/deployments')) as unknown as Json[];
  assert.equal(deploying?.id, deploymentId, 'running but not ready: still deploying');
  // Marathon's view of the same probe, from the deployment: the action waits on this result.
  const [action] = deploying?.currentActions as Json[];
  assert.equal(action?.app, '/warm');
  assert.deepEqual(action?.readinessCheckResults, answer.readinessCheckResults);

  writeFileSync(ready, '');
  await events.waitFor('deployment_success', (e) => e.id === deploymentId, 30_000);
  const { app } = await cluster.get('/v2/apps/warm?embed=app.readiness');
  assert.equal((app.readinessCheckResults as Json[])[0]?.ready, true);
});
