import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { startDns, type DnsService } from '../../src/dns/main.ts';
import { formatHostPort } from '../../src/shared/address.ts';
import { FakeScheduler } from '../support/dns-fake-scheduler.ts';
import { app, dig, digStatus, lines, task } from '../support/dns-fixtures.ts';

const web = app('/web', { portDefinitions: [{ port: 10000, protocol: 'tcp', name: 'http' }] });

let scheduler: FakeScheduler;
let dns: DnsService;

before(async () => {
  scheduler = await FakeScheduler.start({ eventId: 5, apps: [web], tasks: [task('web.1', web.id, { host: '127.0.0.11', ports: [31000] })] });
  dns = await startDns({
    master: scheduler.url,
    listen: '127.0.0.1:0',
    http: '127.0.0.1:0',
    domain: 'mesos',
    resolvers: '',
    ttl: '30',
    logLevel: 'silent',
  });
});

after(async () => {
  await dns.close();
  await scheduler.close();
});

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  // reset: no keep-alive socket left to hold the test process open.
  const response = await request(`http://${formatHostPort(dns.http)}${path}`, { reset: true });
  return { status: response.statusCode, body: await response.body.json() };
}

/** Polls until `check` passes (the follower and the debounce are asynchronous). */
async function eventually(check: () => Promise<void>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(25);
    }
  }
}

test('startDns: SERVFAIL and 503 until the snapshot, then names; events update them', async () => {
  assert.notEqual(dns.dns.port, 0);
  assert.notEqual(dns.http.port, 0);
  assert.equal(digStatus(await dig(dns.dns.port, ['web.marathon.mesos'])), 'SERVFAIL');
  assert.deepEqual(await getJson('/v1/health'), { status: 503, body: { synced: false, eventId: 0, staleSeconds: null } });

  scheduler.releaseSnapshot();
  await eventually(async () => assert.deepEqual(lines(await dig(dns.dns.port, ['+short', 'web.marathon.mesos'])), ['127.0.0.11']));
  const health = await getJson('/v1/health');
  assert.equal(health.status, 200);
  assert.deepEqual({ ...(health.body as object), staleSeconds: 0 }, { synced: true, eventId: 5, staleSeconds: 0 });

  await eventually(async () => assert.equal(scheduler.streams, 1));
  scheduler.push(6, {
    eventType: 'status_update_event',
    timestamp: new Date().toISOString(),
    slaveId: 'a1b2-2410-1',
    taskId: 'web.2',
    taskStatus: 'TASK_RUNNING',
    message: '',
    appId: web.id,
    host: '127.0.0.12',
    ipAddresses: [],
    ports: [31001],
    version: web.version,
  });
  await eventually(async () =>
    assert.deepEqual(lines(await dig(dns.dns.port, ['+short', 'web.marathon.mesos'])), ['127.0.0.11', '127.0.0.12']),
  );
});

test('startDns: the HTTP API answers in Mesos-DNS shapes, errors as JSON', async () => {
  scheduler.releaseSnapshot();
  await eventually(async () => assert.equal((await getJson('/v1/health')).status, 200));
  const version = await getJson('/v1/version');
  assert.equal(version.status, 200);
  assert.equal((version.body as { Service: string }).Service, 'corral-dns');

  const hosts = await getJson('/v1/hosts/web.marathon.mesos');
  assert.ok((hosts.body as { host: string; ip: string }[]).some((row) => row.host === 'web.marathon.mesos.' && row.ip === '127.0.0.11'));
  assert.deepEqual((await getJson('/v1/hosts/nope.marathon.mesos')).body, [{ host: '', ip: '' }]);

  const services = (await getJson('/v1/services/_http._web._tcp.marathon.mesos')).body as { service: string; port: string; ip: string }[];
  assert.ok(services.some((row) => row.service === '_http._web._tcp.marathon.mesos.' && row.port === '31000' && row.ip === '127.0.0.11'), JSON.stringify(services));
  assert.deepEqual((await getJson('/v1/services/_nope._tcp.marathon.mesos')).body, [{ service: '', host: '', ip: '', port: '' }]);

  const config = await getJson('/v1/config');
  assert.equal((config.body as { domain: string }).domain, 'mesos');

  const missing = await getJson('/v1/nothing');
  assert.equal(missing.status, 404);
  assert.match((missing.body as { message: string }).message, /no route/);
});

test('startDns: bad settings are rejected before anything listens', async () => {
  await assert.rejects(startDns({ master: 'http://127.0.0.1:1', listen: 'nope', http: '127.0.0.1:0', domain: 'mesos', resolvers: '', ttl: '60', logLevel: 'silent' }), /--listen/);
});

test('corral dns prints one ready line with the bound addresses and stops on SIGTERM', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'dns', '--master', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', ''],
    { cwd: new URL('../../', import.meta.url), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    let stdout = '';
    child.stdout.setEncoding('utf8');
    const ready = new Promise<{ dns: string; http: string }>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        for (const line of stdout.split('\n')) {
          if (!line.startsWith('{')) continue;
          const parsed = JSON.parse(line) as { msg?: string; dns: string; http: string };
          if (parsed.msg === 'ready') resolve(parsed);
        }
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stdout}`)));
    });
    const timeout = new AbortController();
    const line = await Promise.race([
      ready,
      sleep(15_000, undefined, { signal: timeout.signal }).then(() => Promise.reject(new Error(`no ready line: ${stdout}`))),
    ]).finally(() => timeout.abort());
    assert.match(line.dns, /^127\.0\.0\.1:[1-9]\d*$/);
    assert.match(line.http, /^127\.0\.0\.1:[1-9]\d*$/);
    assert.equal(stdout.split('\n').filter((l) => l.includes('"msg":"ready"')).length, 1);
    // Not synced (the master is unreachable): the domain says SERVFAIL rather than staying silent.
    assert.equal(digStatus(await dig(Number(line.dns.split(':')[1]), ['web.marathon.mesos'])), 'SERVFAIL');

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
});
