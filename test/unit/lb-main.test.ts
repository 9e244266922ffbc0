import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { startLb, type LbService } from '../../src/lb/main.ts';
import { app, eventually, freePort, httpGet, startNamedBackend, task } from '../support/lb-fixtures.ts';
import { startFakeMaster, type FakeMaster } from '../support/lb-fake-master.ts';

/** startLb end to end: fake scheduler → follower → table swap → shared HTTP port, stats port. */
const closers: (() => Promise<void>)[] = [];
let master: FakeMaster;
let lb: LbService;
let backendA: number;
let backendB: number;
let servicePort: number;

const web = app('/web', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.test' }, [0]);

function settings(overrides: Record<string, string | boolean> = {}) {
  return { master: master.url, bind: '127.0.0.1', httpPort: '0', httpsPort: '0', statsPort: '0', group: 'external', httpHttps: true, logLevel: 'silent', ...overrides };
}

async function json(port: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = await httpGet(port, path);
  return { status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown> };
}

before(async () => {
  const a = await startNamedBackend('a');
  const b = await startNamedBackend('b');
  closers.push(a.close, b.close);
  backendA = a.port;
  backendB = b.port;
  servicePort = await freePort();
  web.portDefinitions[0] = { port: servicePort, protocol: 'tcp' };
  // Claims the same service port: rejected in the table, without disturbing /web.
  const clash = app('/zz-clash', { HAPROXY_GROUP: 'external' }, [servicePort]);
  master = await startFakeMaster({ eventId: 1, apps: [web, clash], tasks: [task('/web', 1, [backendA], { host: '127.0.0.1' })] });
  closers.push(() => master.close());
  lb = await startLb(settings());
  closers.push(() => lb.close());
});

after(async () => {
  for (const close of closers.reverse()) await close();
});

test('startLb follows the snapshot and the event stream into the HTTP routes', async () => {
  const http = lb.httpAddress?.port ?? 0;
  const first = await eventually(async () => {
    const answer = await httpGet(http, '/', { host: 'web.test' });
    return answer.status === 200 ? answer : undefined;
  });
  assert.equal(JSON.parse(first.body).name, 'a');

  master.push(2, {
    eventType: 'status_update_event',
    timestamp: new Date().toISOString(),
    slaveId: 'agent-1',
    taskId: 'web.task-2',
    taskStatus: 'TASK_RUNNING',
    message: '',
    appId: '/web',
    host: '127.0.0.1',
    ipAddresses: [],
    ports: [backendB],
    version: web.version,
  });
  await eventually(async () => {
    const routes = await json(lb.statsAddress.port, '/_corral/routes');
    const table = routes.body.table as { vhosts: Record<string, { pool: { backends: unknown[] } }[]> };
    return table.vhosts['web.test']?.[0]?.pool.backends.length === 2 ? true : undefined;
  });
  const names = new Set<string>();
  for (let i = 0; i < 4; i++) names.add(JSON.parse((await httpGet(http, '/', { host: 'web.test' })).body).name);
  assert.deepEqual([...names].sort(), ['a', 'b']);
});

test('the stats port serves health, routes (with rejections and listener failures) and stats as JSON', async () => {
  const port = lb.statsAddress.port;
  const health = await json(port, '/_corral/health');
  assert.equal(health.status, 200);
  assert.equal(health.body.synced, true);
  assert.ok((health.body.eventId as number) >= 1);

  const routes = await json(port, '/_corral/routes');
  assert.ok((routes.body.generation as number) >= 1);
  const table = routes.body.table as { rejected: { appId: string; reason: string }[] };
  assert.deepEqual(table.rejected.map((r) => r.appId), ['/zz-clash']);
  assert.match(table.rejected[0]?.reason ?? '', new RegExp(`service port ${servicePort} is already routed to /web`));
  const listeners = routes.body.listeners as { open: number[]; failed: unknown[] };
  assert.deepEqual(listeners, { open: [servicePort], failed: [] });
  // The service port (http mode, as the app has a vhost) serves whatever the Host.
  assert.equal((await httpGet(servicePort, '/', {})).status, 200);

  const stats = await json(port, '/_corral/stats');
  const pools = stats.body.pools as Record<string, { requests: number }>;
  assert.ok((pools[`/web:${servicePort}`]?.requests ?? 0) >= 6);

  const missing = await json(port, '/nope');
  assert.equal(missing.status, 404);
  assert.match(String(missing.body.message), /no such endpoint: GET \/nope/);
});

test('startLb rejects bad settings and unbindable ports with a clear error', async () => {
  await assert.rejects(startLb(settings({ httpPort: 'eighty' })), /--http-port must be a port/);
  await assert.rejects(startLb(settings({ httpPort: String(lb.statsAddress.port) })), /cannot listen on 127\.0\.0\.1:\d+ \(--http-port\): EADDRINUSE/);
});

test('an east-west LB (httpHttps false) opens no shared HTTP port', async () => {
  const eastWest = await startLb(settings({ httpHttps: false, group: 'internal' }));
  try {
    assert.equal(eastWest.httpAddress, undefined);
    assert.ok(eastWest.statsAddress.port > 0);
  } finally {
    await eastWest.close();
  }
});

test('`corral lb` prints one ready line with the bound addresses', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url)), 'lb', '--master', master.url, '--http-port', '0', '--stats-port', '0', '--group', '*'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const ready = await eventually(() => {
      const line = stdout.split('\n').find((l) => l.includes('"msg":"ready"'));
      return line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>);
    }, 15_000);
    assert.match(String(ready.http), /^127\.0\.0\.1:\d+$/);
    assert.match(String(ready.stats), /^127\.0\.0\.1:\d+$/);
    assert.equal(ready.component, 'lb');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    process.kill(child.pid ?? 0, 'SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
