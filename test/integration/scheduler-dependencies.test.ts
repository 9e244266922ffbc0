import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, test } from 'node:test';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';

/**
 * A group whose apps depend on each other, deployed by a real scheduler on a real agent: the
 * dependent app starts only after what it depends on runs and passes its health check.
 */

let cluster: AgentCluster | undefined;

after(async () => {
  await cluster?.stop();
});

test('a group deployment starts apps in dependency order, one step at a time', { timeout: 90_000 }, async () => {
  cluster = await AgentCluster.start('scheduler-dependencies');
  await cluster.startAgent();
  const events = await cluster.events();
  const { marker } = cluster;
  const app = (id: string, fields: Json = {}): Json => ({ id, cmd: `sleep 1000 # ${marker}`, cpus: 0.1, mem: 32, instances: 1, ...fields });
  // db passes its check only once a file exists: until then web must not start.
  const ready = `${cluster.dir}/db-ready`;
  const put = await cluster.call('PUT', '/v2/groups/shop', {
    id: '/shop',
    apps: [
      app('db', { healthChecks: [{ protocol: 'COMMAND', command: { value: `test -e ${ready}` }, intervalSeconds: 1, delaySeconds: 0, gracePeriodSeconds: 0, maxConsecutiveFailures: 0 }] }),
      app('api', { dependencies: ['db'] }),
    ],
    groups: [{ id: 'front', dependencies: ['/shop/api'], apps: [app('web')] }],
  });
  assert.equal(put.status, 200, JSON.stringify(put.json));

  const [deployment] = (await cluster.get('/v2/deployments')) as unknown as Json[];
  assert.equal(deployment?.totalSteps, 3);
  assert.deepEqual((deployment?.steps as Json[]).map((s) => (s.actions as Json[]).map((a) => a.app)), [['/shop/db'], ['/shop/api'], ['/shop/front/web']]);
  assert.deepEqual((await cluster.get('/v2/apps/shop/front/web')).app.dependencies, ['/shop/api']);

  await events.waitFor('status_update_event', (e) => e.appId === '/shop/db' && e.taskStatus === 'TASK_RUNNING', 30_000);
  // db runs but is not healthy: the deployment stays at step 1 and api is not launched.
  await events.waitFor('failed_health_check_event', (e) => e.appId === '/shop/db', 30_000);
  assert.equal((await cluster.tasks('/shop/api')).length, 0, 'api waits for a healthy db');
  assert.equal(((await cluster.get('/v2/deployments')) as unknown as Json[])[0]?.currentStep, 1);

  writeFileSync(ready, '');
  await events.waitFor('deployment_success', (e) => e.id === deployment?.id, 60_000);
  const order = events.find('status_update_event', (e) => e.taskStatus === 'TASK_STAGING').map((e) => e.appId);
  assert.deepEqual(order, ['/shop/db', '/shop/api', '/shop/front/web']);
  assert.equal(events.find('deployment_step_success', (e) => e.plan.id === deployment?.id).length, 3);
});
