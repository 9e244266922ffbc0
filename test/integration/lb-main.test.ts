import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { startLb } from '../../src/lb/main.ts';
import { httpGet } from '../support/lb-fixtures.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';
import { pidsOf } from '../support/processes.ts';

/**
 * `corral lb` against a real scheduler and agent: unsynced until the scheduler comes up on the
 * port it was given, then vhost and service-port routes to the tasks an app runs.
 */

// Each task is a tiny HTTP server answering with its task id; the marker lets teardown find any
// process that outlives its agent.
const MARKER = `corral-lb-it-${randomUUID()}`;
const SERVER = `exec node -e "const m='${MARKER}'; require('http').createServer((q, r) => r.end(process.env.MESOS_TASK_ID)).listen(+process.env.PORT0, process.env.HOST)"`;
const VHOST = 'web.test';

const dir = tempDir('corral-lb-it-');
/** Every process started, stopped in reverse order at teardown (agents before the scheduler). */
const parts: PartProcess[] = [];
let schedulerPort: number;
let master: string;
let lb: PartProcess;
let servicePort: number;

interface Task { id: string; host: string; ports: number[]; state: string }
// Response bodies are checked field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const response = await request(`${master}${path}`, {
    method: method as 'GET',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.statusCode, json: await response.body.json() };
}

async function json(port: number, path: string): Promise<{ status: number; body: Json }> {
  const answer = await httpGet(port, path);
  return { status: answer.status, body: JSON.parse(answer.body) };
}

const port = (field: 'http' | 'stats'): number => Number(String(lb.ready[field]).split(':')[1]);
const viaVhost = () => httpGet(port('http'), '/', { host: VHOST });
const runningTasks = async (n: number): Promise<Task[] | undefined> => {
  const tasks = (await api('GET', '/v2/apps/web/tasks')).json.tasks as Task[];
  return tasks.length === n && tasks.every((t) => t.state === 'TASK_RUNNING') ? tasks : undefined;
};
const settings = (overrides: Record<string, string | boolean> = {}) => ({
  master, bind: '127.0.0.1', httpPort: '0', httpsPort: '0', appIdPort: '0', statsPort: '0', group: 'external', httpHttps: true, logLevel: 'silent', ...overrides,
});

before(async () => {
  // The scheduler is not up yet: lb must start anyway and say it is not synced.
  schedulerPort = await freePort();
  master = `http://127.0.0.1:${schedulerPort}`;
  lb = await startPart('lb', ['lb', '--master', master, '--http-port', '0', '--https-port', '0', '--app-id-port', '0', '--stats-port', '0', '--group', 'external'], dir);
  parts.push(lb);
});

after(async () => {
  for (const part of [...parts].reverse()) await stopParts([part], 5000);
  const strays = pidsOf(MARKER);
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(strays, [], 'no task process outlives its agent');
});

test('before the first snapshot: bound addresses in the ready line, health 503, no routes', async () => {
  assert.equal(lb.ready.component, 'lb');
  assert.match(String(lb.ready.http), /^127\.0\.0\.1:[1-9]\d*$/);
  assert.match(String(lb.ready.stats), /^127\.0\.0\.1:[1-9]\d*$/);
  const health = await json(port('stats'), '/_corral/health');
  assert.equal(health.status, 503);
  assert.deepEqual({ synced: health.body.synced, eventId: health.body.eventId }, { synced: false, eventId: 0 });
  assert.equal((await viaVhost()).status, 503);
});

test('syncs once the scheduler is up; an app\'s tasks become vhost and service-port routes', async () => {
  parts.push(await startPart('scheduler', ['scheduler', '--listen', `127.0.0.1:${schedulerPort}`, '--data-dir', join(dir, 'scheduler')], dir));
  const portsBase = 20000 + 1000 * Math.floor(Math.random() * 10);
  const agentArgs = ['agent', '--master', master, '--ip', '127.0.0.11', '--work-dir', join(dir, 'agent'), '--resources', `cpus:2;mem:1024;ports:[${portsBase}-${portsBase + 99}]`];
  const agent = startPart('agent', agentArgs, dir);
  await waitFor('lb to read its first snapshot', async () => ((await json(port('stats'), '/_corral/health')).status === 200 ? true : undefined));
  parts.push(await agent);

  // An explicit service port, free on this host, so the LB can surely listen on it.
  servicePort = await freePort();
  const labels = { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: VHOST };
  // The health check keeps a task out of the LB until its server answers (RUNNING only means spawned).
  const healthChecks = [{ protocol: 'HTTP', path: '/', intervalSeconds: 0.2, delaySeconds: 0, timeoutSeconds: 1 }];
  const web = { id: '/web', cmd: SERVER, cpus: 0.1, mem: 128, instances: 2, labels, healthChecks, portDefinitions: [{ port: servicePort, protocol: 'tcp' }] };
  assert.equal((await api('POST', '/v2/apps', web)).status, 201);
  const tasks = await waitFor('two running tasks', () => runningTasks(2));
  await waitFor('both backends in the vhost route', async () => {
    const routes = await json(port('stats'), '/_corral/routes');
    return routes.body.table.vhosts[VHOST]?.[0]?.pool.backends.length === 2 ? true : undefined;
  });

  const seen = new Set<string>();
  for (let i = 0; i < 4; i += 1) {
    const answer = await viaVhost();
    assert.equal(answer.status, 200);
    seen.add(answer.body);
  }
  assert.deepEqual([...seen].sort(), tasks.map((t) => t.id).sort(), 'round robin over both tasks');
  // The service port (http mode, as the app has a vhost) serves whatever the Host.
  const direct = await httpGet(servicePort, '/', {});
  assert.equal(direct.status, 200);
  assert.ok(seen.has(direct.body));
});

test('the stats port serves health, routes (with a rejected route) and stats as JSON', async () => {
  // Claims /web's service port through a label: rejected in the table, without disturbing /web.
  const clash = { id: '/zz-clash', cmd: 'sleep 1000', instances: 0, labels: { HAPROXY_GROUP: 'external', HAPROXY_0_PORT: String(servicePort) }, portDefinitions: [{ port: 0, protocol: 'tcp' }] };
  assert.equal((await api('POST', '/v2/apps', clash)).status, 201);
  const routes = await waitFor('the clash to be rejected', async () => {
    const answer = await json(port('stats'), '/_corral/routes');
    return answer.body.table.rejected.length > 0 ? answer : undefined;
  });
  assert.ok(routes.body.generation >= 1);
  const rejected = routes.body.table.rejected as { appId: string; reason: string }[];
  assert.deepEqual(rejected.map((r) => r.appId), ['/zz-clash']);
  assert.match(rejected[0]?.reason ?? '', new RegExp(`service port ${servicePort} is already routed to /web`));
  assert.deepEqual(routes.body.listeners, { open: [servicePort], failed: [] });
  // One app's part (the web UI's "How to reach it" asks for it through the scheduler).
  assert.deepEqual((await json(port('stats'), `/_corral/routes?app=${encodeURIComponent('/zz-clash')}`)).body, {
    appId: '/zz-clash', servicePorts: [], vhosts: [], rejected: [{ portIndex: 0, reason: rejected[0]?.reason }],
    // Where its vhosts are served: the LB's own HTTP and HTTPS ports.
    listening: { http: String(lb.ready.http), https: String(lb.ready.https) },
  });
  assert.deepEqual((await json(port('stats'), '/_corral/routes?app=/web')).body.vhosts, [{ host: VHOST, servicePort, portIndex: 0 }]);
  assert.equal((await viaVhost()).status, 200);

  const health = await json(port('stats'), '/_corral/health');
  assert.equal(health.status, 200);
  assert.equal(health.body.synced, true);
  assert.ok(health.body.eventId > 0);

  const stats = await json(port('stats'), '/_corral/stats');
  assert.ok((stats.body.pools[`/web:${servicePort}`]?.requests ?? 0) >= 6, JSON.stringify(stats.body));

  const metrics = await httpGet(port('stats'), '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers['content-type'] ?? '', /^text\/plain/);
  assert.match(metrics.body, new RegExp(`^corral_lb_requests_total\\{pool="/web:${servicePort}"\\} [1-9]\\d*$`, 'm'));
  assert.match(metrics.body, /^corral_lb_request_duration_seconds_bucket\{le="0\.005",pool="\/web:\d+"\} \d+$/m);
  assert.match(metrics.body, /^corral_lb_table_generation [1-9]\d*$/m);
  assert.match(metrics.body, /^corral_lb_rejected_routes 1$/m);
  assert.match(metrics.body, /^corral_lb_failed_listeners 0$/m);
  assert.match(metrics.body, /^corral_lb_active_connections \d+$/m);

  const missing = await json(port('stats'), '/nope');
  assert.equal(missing.status, 404);
  assert.match(String(missing.body.message), /no such endpoint: GET \/nope/);
});

test('startLb rejects bad settings and unbindable ports with a clear error', async () => {
  await assert.rejects(startLb(settings({ httpPort: 'eighty' })), /--http-port: expected a port/);
  await assert.rejects(startLb(settings({ httpPort: String(port('stats')) })), /cannot listen on 127\.0\.0\.1:\d+ \(--http-port\): EADDRINUSE/);
  await assert.rejects(startLb(settings({ sslCerts: join(dir, 'missing.pem') })), /--ssl-certs: cannot read .*missing\.pem: ENOENT/);
});

test('an east-west LB opens no shared HTTP port and routes only its own group', async () => {
  const eastPort = await freePort();
  const east = { id: '/east', cmd: 'sleep 1000', instances: 0, labels: { HAPROXY_GROUP: 'internal' }, portDefinitions: [{ port: eastPort, protocol: 'tcp' }] };
  assert.equal((await api('POST', '/v2/apps', east)).status, 201);
  const eastWest = await startLb(settings({ httpHttps: false, group: 'internal' }));
  try {
    assert.equal(eastWest.httpAddress, undefined);
    const routes = await waitFor('the internal route', async () => {
      const answer = await json(eastWest.statsAddress.port, '/_corral/routes');
      return answer.body.listeners.open.length > 0 ? answer.body : undefined;
    });
    assert.deepEqual(Object.keys(routes.table.servicePorts), [String(eastPort)]);
    assert.deepEqual(routes.listeners, { open: [eastPort], failed: [] });
    // And the external LB leaves the internal app alone.
    assert.equal((await json(port('stats'), '/_corral/routes')).body.table.servicePorts[String(eastPort)], undefined);
  } finally {
    await eastWest.close();
  }
});

test('SIGTERM stops corral lb with exit 0, after exactly one ready line', async () => {
  lb.child.kill('SIGTERM');
  assert.equal(await lb.exited, 0);
  const readyLines = readFileSync(join(dir, 'lb.log'), 'utf8').split('\n').filter((l) => l.includes('"msg":"ready"'));
  assert.equal(readyLines.length, 1);
});
