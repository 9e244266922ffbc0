import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DiscoveryTask } from '../../src/events/types.ts';
import { startLb, type LbService } from '../../src/lb/main.ts';
import { DiscoveryStandIn, appPosted, statusUpdate } from '../support/discovery-stand-in.ts';
import { app, freePort, httpGet, startNamedBackend, task, type HttpAnswer, type NamedBackend } from '../support/lb-fixtures.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Draining through the real LB, fed by a scheduler-compatible event stream: a killed instance
 * and the old colour of a blue-green deployment get no new requests at once, while the request
 * they are still serving finishes normally.
 */

const closers: (() => Promise<void>)[] = [];
let discovery: DiscoveryStandIn;
let lb: LbService;
let a: NamedBackend;
let b: NamedBackend;

const loopback = (appId: string, n: number, port: number): DiscoveryTask => task(appId, n, [port], { host: '127.0.0.1' });
const via = (host: string, path = '/'): Promise<HttpAnswer> => httpGet(lb.httpAddress?.port ?? 0, path, { host });
const nameOf = (answer: HttpAnswer): string => (JSON.parse(answer.body) as { name: string }).name;

async function routes(): Promise<{ table: { servicePorts: Record<string, { appId: string; backends: { port: number }[]; draining: { port: number }[] }> } }> {
  return JSON.parse((await httpGet(lb.statsAddress.port, '/_corral/routes')).body);
}

async function backendsOn(servicePort: number): Promise<string> {
  const pool = (await routes()).table.servicePorts[String(servicePort)];
  return `${pool?.appId ?? '-'} ${pool?.backends.map((x) => x.port).join(',') ?? ''} / ${pool?.draining.map((x) => x.port).join(',') ?? ''}`;
}

before(async () => {
  [a, b] = await Promise.all([startNamedBackend('a'), startNamedBackend('b')]);
  discovery = await DiscoveryStandIn.start();
  lb = await startLb({ master: discovery.url, bind: '127.0.0.1', httpPort: '0', httpsPort: '0', appIdPort: '0', statsPort: '0', group: 'external', httpHttps: true, logLevel: 'silent' });
  closers.push(() => discovery.close(), () => a.close(), () => b.close(), () => lb.close());
});

after(async () => {
  for (const close of closers.reverse()) await close();
});

test('a killed instance gets no new requests; its in-flight request finishes', async () => {
  const servicePort = await freePort();
  discovery.publish(appPosted(app('/web', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.test' }, [servicePort])));
  const first = loopback('/web', 1, a.port);
  const second = loopback('/web', 2, b.port);
  discovery.publish(statusUpdate(first, 'TASK_RUNNING'));
  await waitFor('/web on a', async () => ((await backendsOn(servicePort)) === `/web ${a.port} / ` ? true : undefined));

  const inFlight = via('web.test', '/slow');
  await waitFor('the slow request to reach a', () => (a.held === 1 ? true : undefined));
  discovery.publish(statusUpdate(second, 'TASK_RUNNING'));
  discovery.publish(statusUpdate(first, 'TASK_KILLING'));
  await waitFor('/web on b only', async () => ((await backendsOn(servicePort)) === `/web ${b.port} / ` ? true : undefined));
  for (let i = 0; i < 4; i += 1) assert.equal(nameOf(await via('web.test')), 'b');
  a.release();
  const finished = await inFlight;
  assert.equal(finished.status, 200);
  assert.equal(nameOf(finished), 'a');
});

test('blue-green: the new colour takes over the old port; the old one drains', async () => {
  const servicePort = await freePort();
  const altPort = await freePort();
  const colour = (startedAt: string) => ({
    HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'shop.test', HAPROXY_DEPLOYMENT_GROUP: 'shop', HAPROXY_DEPLOYMENT_STARTED_AT: startedAt, HAPROXY_DEPLOYMENT_TARGET_INSTANCES: '1',
  });
  discovery.publish(appPosted(app('/shop-blue', colour('2024-01-01T00:00:00Z'), [servicePort])));
  discovery.publish(statusUpdate(loopback('/shop-blue', 1, a.port), 'TASK_RUNNING'));
  await waitFor('blue serving', async () => ((await backendsOn(servicePort)) === `/shop-blue ${a.port} / ` ? true : undefined));
  const inFlight = via('shop.test', '/slow-blue');
  await waitFor('the slow request to reach blue', () => (a.held === 1 ? true : undefined));

  // Green starts on the alternate port with no instance yet: blue keeps serving on the old port.
  discovery.publish(appPosted(app('/shop-green', { ...colour('2024-01-02T00:00:00Z'), HAPROXY_DEPLOYMENT_ALT_PORT: String(altPort) }, [altPort])));
  await waitFor('green leading, blue serving', async () => ((await backendsOn(servicePort)) === `/shop-green ${a.port} / ` ? true : undefined));
  assert.equal(nameOf(await via('shop.test')), 'a');

  discovery.publish(statusUpdate(loopback('/shop-green', 1, b.port), 'TASK_RUNNING'));
  await waitFor('blue draining', async () => ((await backendsOn(servicePort)) === `/shop-green ${b.port} / ${a.port}` ? true : undefined));
  for (let i = 0; i < 4; i += 1) assert.equal(nameOf(await via('shop.test')), 'b');
  assert.equal(nameOf(await httpGet(servicePort, '/', {})), 'b', 'the old service port now leads to green');
  // What zdd.py watches: the old colour's server in maintenance, still holding its one request.
  const csv = (await httpGet(lb.statsAddress.port, '/haproxy?stats;csv')).body.split('\n');
  const columns = (csv[0] ?? '').replace(/^# /, '').split(',');
  const rows = csv.slice(1).filter((l) => l.startsWith(`shop-green_${servicePort},`)).map((l) => Object.fromEntries(l.split(',').map((v, i) => [columns[i], v])));
  assert.deepEqual(
    rows.map((r) => [r.svname, r.scur, r.status]),
    // No health check on the app: HAProxy's `no check` for a server in rotation.
    [['FRONTEND', '1', 'OPEN'], [`127_0_0_1_${b.port}`, '0', 'no check'], [`127_0_0_1_${a.port}`, '1', 'MAINT'], ['BACKEND', '1', 'UP']],
  );
  a.release();
  const finished = await inFlight;
  assert.equal(finished.status, 200);
  assert.equal(nameOf(finished), 'a');
});
