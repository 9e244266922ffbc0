import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import type { Answer } from '../support/marathon-api.ts';
import { waitFor } from '../support/wait.ts';

/**
 * App validation through the real API: Marathon's 422 shape for definitions that could never
 * run, and a LIKE pattern that stalls a backtracking regex engine answered at once.
 */

let cluster: AgentCluster | undefined;

after(async () => {
  await cluster?.stop();
});

// A hostname on which `(.?){10}(.?){10}(.?){10}x` takes a backtracking engine minutes.
const HOSTNAME = `agent-${'a'.repeat(34)}`;
const REDOS = '(.?){10}(.?){10}(.?){10}x';

test('scheduler validation: 422 details, and constraint regexes in linear time', { timeout: 120_000 }, async (t) => {
  const c = (cluster = await AgentCluster.start('scheduler-validation'));
  await c.startAgent({ hostname: HOSTNAME });
  const call = (method: string, path: string, body?: unknown): Promise<Answer> => c.call(method, path, body);

  await t.test('422 with details[].path at the field', async () => {
    const cases: Array<[body: Json, path: string, error: RegExp]> = [
      [{ id: '/v/huge', cmd: 'sleep 1', instances: 1e308 }, '/instances', /<= 100000/],
      [{ id: '/v/nul', cmd: 'sleep 1', env: { A: 'x\u0000y' } }, '/env/A', /NUL/],
      [{ id: '/v/env', cmd: 'sleep 1', env: { 'A=B': 'x' } }, '/env/A=B', /=/],
      [{ id: '/v/versions', cmd: 'sleep 1' }, '/id', /reserved keywords/],
      [{ id: '/v/docker', cmd: 'sleep 1', container: { type: 'DOCKER', docker: { image: 'nginx', network: 'NONE' } } }, '/container/docker/network', /HOST, BRIDGE or USER/],
      [{ id: '/v/like', cmd: 'sleep 1', constraints: [['hostname', 'LIKE', '(a)\\1']] }, '/constraints/0', /not a valid regular expression/],
    ];
    for (const [body, path, error] of cases) {
      const answer = await call('POST', '/v2/apps', body);
      assert.equal(answer.status, 422, JSON.stringify(answer.json));
      assert.equal(answer.json.message, 'Object is not valid');
      const detail = (answer.json.details as Array<{ path: string; errors: string[] }>).find((d) => d.path === path);
      assert.ok(detail, `${String(body.id)}: no detail at ${path}: ${JSON.stringify(answer.json.details)}`);
      assert.match(detail.errors.join(' '), error);
    }
    assert.deepEqual((await c.get('/v2/apps')).apps, [], 'nothing was stored');
  });

  await t.test('a Marathon 1.5+ command app with networks [{mode: host}] and an empty MESOS container runs', async () => {
    await c.postApp({ id: '/v/exported', cmd: `sleep 1000; : ${c.marker}`, networks: [{ mode: 'host' }], container: { type: 'MESOS', volumes: [] } });
    await c.running('/v/exported', 1);
  });

  await t.test('a LIKE pattern that would stall backtracking: refused placement at once, the scheduler stays live', async () => {
    await c.postApp({ id: '/v/redos', cmd: `sleep 1000; : ${c.marker}`, constraints: [['hostname', 'LIKE', REDOS]] });
    await c.postApp({ id: '/v/unlike', cmd: `sleep 1000; : ${c.marker}`, constraints: [['hostname', 'UNLIKE', REDOS]] });
    // A generous liveness deadline: a backtracking engine would hold the loop for minutes.
    const entry = await waitFor('/v/redos in the queue with its reason', async () =>
      ((await call('GET', '/v2/queue')).json.queue as Json[]).find((e) => e.app.id === '/v/redos' && /LIKE hostname/.test(String(e.reason))), 30_000);
    assert.equal(entry.count, 1);
    await c.running('/v/unlike', 1);
  });
});
