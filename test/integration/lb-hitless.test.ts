import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DiscoveryTask } from '../../src/events/types.ts';
import { startLb, type LbService } from '../../src/lb/main.ts';
import { DiscoveryStandIn, appPosted, appTerminated, healthChanged, statusUpdate } from '../support/discovery-stand-in.ts';
import { app, freePort, httpGet, startNamedBackend, task } from '../support/lb-fixtures.ts';
import { generation } from '../support/lb-stats.ts';
import { loadWhileChanging } from '../support/lb-load.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Hitless by construction: steady keep-alive traffic through one vhost while the routing table
 * changes 100 times a second (the stable app scales up and down, a third instance flips health,
 * other apps come and go with their own vhosts and service ports). Not one request of the stable
 * route may fail. The changes reach the real LB through a scheduler-compatible discovery server
 * (snapshot + SSE event stream with ids) fed by the test, so that the rate is exactly 100/s and
 * health can flip at will; lb-hitless-scheduler.test.ts does the same through a real scheduler
 * and agent at the rate the scheduler takes.
 */

const CHANGES_PER_SECOND = 100;
const RUN_MS = 3000;
const CLIENTS = 8;

const closers: (() => Promise<void>)[] = [];
let discovery: DiscoveryStandIn;
let lb: LbService;

before(async () => {
  discovery = await DiscoveryStandIn.start();
  closers.push(() => discovery.close());
});

after(async () => {
  for (const close of closers.reverse()) await close();
});

test('100 route changes per second: zero failed requests on the stable vhost', async (t) => {
  const backends = await Promise.all(['a', 'b', 'c', 'other'].map((name) => startNamedBackend(name)));
  closers.push(...backends.map((b) => b.close));
  const [a, b, c, other] = backends;
  assert.ok(a && b && c && other);
  const loopback = (appId: string, n: number, port: number): DiscoveryTask => task(appId, n, [port], { host: '127.0.0.1' });
  const checks = { healthChecks: [{ protocol: 'HTTP', path: '/' }] };

  const stable = app('/stable', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'stable.test' }, [await freePort()], checks);
  discovery.publish(appPosted(stable));
  const steady = [loopback('/stable', 1, a.port), loopback('/stable', 2, b.port)];
  for (const t of steady) {
    discovery.publish(statusUpdate(t, 'TASK_RUNNING'));
    discovery.publish(healthChanged(t, true));
  }

  lb = await startLb({ master: discovery.url, bind: '127.0.0.1', httpPort: '0', httpsPort: '0', appIdPort: '0', statsPort: '0', group: 'external', httpHttps: true, logLevel: 'silent' });
  closers.push(() => lb.close());
  const httpPort = lb.httpAddress?.port ?? 0;
  await waitFor('the stable vhost to serve', async () => ((await httpGet(httpPort, '/', { host: 'stable.test' })).status === 200 ? true : undefined));

  // The churn: one change per tick, cycling through kinds of change.
  const otherPorts = await Promise.all(Array.from({ length: 5 }, () => freePort()));
  const third = loopback('/stable', 3, c.port);
  const change = (step: number): void => {
    const n = step % 5;
    switch (Math.floor(step / 5) % 4) {
      case 0: // scale the stable app up and down
        if (step % 2 === 0) {
          discovery.publish(statusUpdate(third, 'TASK_RUNNING'));
          discovery.publish(healthChanged(third, true));
        } else {
          discovery.publish(statusUpdate(third, 'TASK_KILLED'));
        }
        break;
      case 1: // flip the third instance's health
        discovery.publish(statusUpdate(third, 'TASK_RUNNING'));
        discovery.publish(healthChanged(third, step % 2 === 0));
        break;
      case 2: // add other apps, each with a vhost and a service port
        discovery.publish(appPosted(app(`/other-${n}`, { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: `other-${n}.test` }, [otherPorts[n] ?? 0])));
        discovery.publish(statusUpdate(loopback(`/other-${n}`, 1, other.port), 'TASK_RUNNING'));
        break;
      default: // and remove them
        discovery.publish(appTerminated(`/other-${n}`));
    }
  };

  const before = await generation(lb);
  const { ok, failures, changes } = await loadWhileChanging({ port: httpPort, host: 'stable.test', clients: CLIENTS, durationMs: RUN_MS, tickMs: 1000 / CHANGES_PER_SECOND, change });
  const generations = (await generation(lb)) - before;
  t.diagnostic(`${ok} requests ok, ${failures.length} failed, ${changes} changes driven, ${generations} tables swapped in`);
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failed of ${ok + failures.length}`);
  assert.ok(changes >= (CHANGES_PER_SECOND * RUN_MS) / 1000 / 2, `only ${changes} changes were driven`);
  assert.ok(generations >= changes / 10, `the table changed ${generations} times for ${changes} changes`);
  assert.ok(ok >= 100, `only ${ok} requests went through`);
});
