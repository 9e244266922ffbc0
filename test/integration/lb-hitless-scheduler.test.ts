import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startLb, type LbService } from '../../src/lb/main.ts';
import { AgentCluster } from '../support/agent-cluster.ts';
import { freePort, httpGet } from '../support/lb-fixtures.ts';
import { loadWhileChanging } from '../support/lb-load.ts';
import { generation } from '../support/lb-stats.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Hitless through the real thing: a real scheduler and agent, the LB following the scheduler's
 * event stream. While keep-alive traffic flows through the vhost of a two-instance app, other
 * apps are posted and deleted through the Marathon API as fast as the scheduler takes them, up to
 * 100 changes/s (about 170/s on a quiet machine), and the app itself is
 * scaled to three instances and back (real launches, health checks and kills). Not one request
 * of the stable route may fail.
 */

/** Ticks per second; each starts an API change unless the previous one is still running. */
const CHANGES_PER_SECOND = 100;
const RUN_MS = 4000;
/** Independent streams of API changes (each on its own apps). */
const LANES = 3;

let cluster: AgentCluster;
let lb: LbService | undefined;

before(async () => {
  cluster = await AgentCluster.start('lb-hitless');
  await cluster.startAgent();
});

after(async () => {
  await lb?.close();
  await cluster.stop();
});

test('100 API changes per second and a scale up and down: zero failed requests on the stable vhost', async (t) => {
  lb = await startLb({ master: cluster.master, bind: '127.0.0.1', httpPort: '0', httpsPort: '0', appIdPort: '0', statsPort: '0', group: 'external', httpHttps: true, logLevel: 'silent' });
  const httpPort = lb.httpAddress?.port ?? 0;
  const server = `exec node -e "const m='${cluster.marker}'; require('http').createServer((q, r) => r.end(process.env.MESOS_TASK_ID)).listen(+process.env.PORT0, process.env.HOST)"`;
  const healthChecks = [{ protocol: 'HTTP', path: '/', intervalSeconds: 0.2, delaySeconds: 0, timeoutSeconds: 1 }];
  await cluster.postApp({
    id: '/stable', cmd: server, instances: 2, healthChecks, labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'stable.test' }, portDefinitions: [{ port: await freePort(), protocol: 'tcp' }],
  });
  await cluster.running('/stable', 2);
  await waitFor('both instances behind the vhost', async () => {
    const routes = JSON.parse((await httpGet(lb?.statsAddress.port ?? 0, '/_corral/routes')).body);
    return routes.table.vhosts['stable.test']?.[0]?.pool.backends.length === 2 ? true : undefined;
  });

  const churnPorts = await Promise.all(Array.from({ length: LANES * 2 }, () => freePort()));
  let accepted = 0;
  const refused: string[] = [];
  // Each lane churns its own apps, one API call at a time, so that a POST and the DELETE after it
  // never race; a tick whose lane is still busy is skipped (the rate reached is reported).
  const lanes = Array.from({ length: LANES }, () => ({ queue: Promise.resolve(), busy: false, churn: 0 }));
  const call = (lane: (typeof lanes)[number], method: string, path: string, body?: unknown): void => {
    lane.busy = true;
    lane.queue = lane.queue.then(() => cluster.call(method, path, body)).then(
      ({ status, json }) => {
        if (status === 200 || status === 201) accepted += 1;
        else refused.push(`${method} ${path}: ${status} ${JSON.stringify(json)}`);
      },
      (err: Error) => void refused.push(`${method} ${path}: ${err.message}`),
    ).finally(() => (lane.busy = false));
  };
  const change = (step: number): void => {
    const lane = lanes[step % LANES] ?? lanes[0];
    if (lane === undefined) return;
    if (step === 40) call(lane, 'PUT', '/v2/apps/stable?force=true', { instances: 3 });
    if (step === 240) call(lane, 'PUT', '/v2/apps/stable?force=true', { instances: 2 });
    if (lane.busy) return;
    const id = `/churn-${step % LANES}-${Math.floor(lane.churn / 2) % 2}`;
    const port = churnPorts[(step % LANES) * 2 + (Math.floor(lane.churn / 2) % 2)];
    if (lane.churn % 2 === 0) {
      // The id's previous removal may still hold it (its deployment ends at the next evaluation,
      // later on a loaded machine): forced, as the DELETE is.
      call(lane, 'POST', '/v2/apps?force=true', { id, cmd: 'sleep 1000', cpus: 0.1, mem: 32, instances: 0, labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: `${id.slice(1)}.test` }, portDefinitions: [{ port, protocol: 'tcp' }] });
    } else {
      call(lane, 'DELETE', `/v2/apps${id}?force=true`);
    }
    lane.churn += 1;
  };

  const before = await generation(lb);
  const { ok, failures, changes } = await loadWhileChanging({ port: httpPort, host: 'stable.test', clients: 8, durationMs: RUN_MS, tickMs: 1000 / CHANGES_PER_SECOND, change });
  await Promise.all(lanes.map((lane) => lane.queue));
  const generations = (await generation(lb)) - before;
  t.diagnostic(`${ok} requests ok, ${failures.length} failed; ${changes} ticks, ${accepted} API changes accepted (${((accepted * 1000) / RUN_MS).toFixed(0)}/s); ${generations} tables swapped in`);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failed of ${ok + failures.length}`);
  assert.deepEqual(refused.slice(0, 5), []);
  // The scheduler's own pace on a loaded machine bounds the rate; this is a liveness floor.
  assert.ok(accepted >= (RUN_MS / 1000) * 20, `only ${accepted} changes were accepted`);
  assert.ok(generations >= accepted / 10, `the table changed ${generations} times for ${accepted} changes`);
  assert.ok(ok >= 100, `only ${ok} requests went through`);
  await cluster.running('/stable', 2);
});
