import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { TaskHealth } from '../../src/agent/health/task-health.ts';
import type { HealthCheck, HealthResult } from '../../src/shared/agent-protocol.ts';

const logger = pino({ level: 'silent' });
const HOST = '127.0.0.1';

const check = (overrides: Partial<HealthCheck> = {}): HealthCheck => ({
  protocol: 'HTTP', path: '/health', portIndex: 0, gracePeriodSeconds: 0, intervalSeconds: 0.05, timeoutSeconds: 1,
  maxConsecutiveFailures: 3, delaySeconds: 0, ignoreHttp1xx: false, ...overrides,
});

/** Polls until `predicate` holds, failing with `what` past the deadline. */
async function waitFor(what: string, predicate: () => boolean, deadlineMs = 5000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!predicate()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function listen(server: Server, t: TestContext): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  t.after(() => closeServer(server));
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  const http = server as Server & { closeAllConnections?: () => void };
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    http.closeAllConnections?.();
  });
}

/** An HTTP server counting requests; `handler` answers them. */
async function httpServer(t: TestContext, handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const hits = { count: 0 };
  const server = createHttpServer((req, res) => {
    hits.count += 1;
    handler(req, res);
  });
  const port = await listen(server, t);
  return { server, port, hits };
}

/** A started TaskHealth recording every onChange call; stopped when the test ends. */
function watch(t: TestContext, checks: HealthCheck[], ports: number[], extra: { cwd?: string; env?: Record<string, string> } = {}) {
  const changes: HealthResult[][] = [];
  const health = new TaskHealth({
    checks, logger, onChange: (results) => changes.push(results),
    target: { host: HOST, ports, env: extra.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: extra.cwd ?? process.cwd(),
      runAs: { switchTo: undefined, setpriv: '/usr/bin/setpriv' }, agentEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
  });
  t.after(() => health.stop());
  health.start();
  return { health, changes, first: () => health.results[0]! };
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A process is gone when /proc no longer has it or it is a zombie waiting for a reaper. */
function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'corral-health-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('HTTP 200 is alive; unchanged results do not call onChange again', async (t) => {
  const { port, hits } = await httpServer(t, (_req, res) => res.end('ok'));
  const { changes, first } = watch(t, [check()], [port]);
  await waitFor('alive', () => first().alive);
  await waitFor('more probes', () => hits.count >= 5);
  assert.equal(changes.length, 1, 'only the first result is reported');
  assert.equal(changes[0]![0]!.alive, true);
  assert.equal(first().consecutiveFailures, 0);
  assert.ok(first().firstSuccess !== null && first().lastSuccess! >= first().firstSuccess!);
});

test('HTTP 500 fails with its status; every counted failure is reported', async (t) => {
  const { port, hits } = await httpServer(t, (_req, res) => { res.statusCode = 500; res.end(); });
  const { changes, first } = watch(t, [check({ maxConsecutiveFailures: 3 })], [port]);
  await waitFor('the threshold', () => first().consecutiveFailures >= 3);
  await waitFor('probes past the threshold', () => hits.count >= 5);
  assert.equal(first().alive, false);
  assert.equal(first().lastFailureCause, '500 Internal Server Error');
  const counts = changes.map((results) => results[0]!.consecutiveFailures);
  assert.ok(counts.length >= 3);
  assert.deepEqual(counts, counts.map((_, i) => i + 1));
});

test('an answer slower than the timeout is a failure "timed out after Ns"', async (t) => {
  const { port } = await httpServer(t, (_req, res) => { setTimeout(() => res.end('late'), 3000).unref(); });
  const { first } = watch(t, [check({ timeoutSeconds: 0.1, intervalSeconds: 0.2 })], [port]);
  await waitFor('a failure', () => first().consecutiveFailures >= 1);
  assert.equal(first().lastFailureCause, 'timed out after 0.1s');
});

test('failures within the grace period leave no trace', async (t) => {
  const { port, hits } = await httpServer(t, (_req, res) => { res.statusCode = 503; res.end(); });
  const { changes, first } = watch(t, [check({ gracePeriodSeconds: 60 })], [port]);
  await waitFor('several probes', () => hits.count >= 4);
  assert.deepEqual(first(), { alive: false, consecutiveFailures: 0, firstSuccess: null, lastSuccess: null, lastFailure: null, lastFailureCause: null });
  assert.equal(changes.length, 0);
});

test('delaySeconds holds back the first probe of COMMAND and MESOS_ checks', async (t) => {
  let firstHitAt = 0;
  const { port } = await httpServer(t, (_req, res) => { firstHitAt ||= Date.now(); res.end(); });
  const startedAt = Date.now();
  const { first } = watch(t, [check({ protocol: 'MESOS_HTTP', delaySeconds: 0.3 })], [port]);
  await waitFor('alive', () => first().alive);
  assert.ok(firstHitAt - startedAt >= 290, `first probe after ${firstHitAt - startedAt}ms`);
});

test('an HTTP check probes at once, whatever delaySeconds says (Marathon-level checks have no delay)', async (t) => {
  const { port } = await httpServer(t, (_req, res) => res.end());
  const { first } = watch(t, [check({ delaySeconds: 15, intervalSeconds: 60 })], [port]);
  await waitFor('alive well within 15 s', () => first().alive, 3000);
});

test('alive flips to dead when the server goes away', async (t) => {
  const { server, port } = await httpServer(t, (_req, res) => res.end('ok'));
  const { changes, first } = watch(t, [check({ maxConsecutiveFailures: 0 })], [port]);
  await waitFor('alive', () => first().alive);
  await closeServer(server);
  await waitFor('dead', () => !first().alive);
  await waitFor('more failures', () => first().consecutiveFailures >= 3);
  assert.deepEqual(changes.slice(0, 2).map((results) => results[0]!.alive), [true, false]);
  assert.deepEqual(changes.slice(1).map((results) => results[0]!.consecutiveFailures), changes.slice(1).map((_, i) => i + 1), 'each failure reported');
  assert.match(first().lastFailureCause ?? '', /ECONNREFUSED/);
});

test('HTTPS with a self-signed certificate is probed without verification', async (t) => {
  let openssl = true;
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    openssl = false;
  }
  if (!openssl) return t.skip('openssl is not installed: cannot make a self-signed certificate without a dependency');
  const dir = tempDir(t);
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=corral-health-test'], { stdio: 'ignore' });
  const server = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    res.statusCode = req.url === '/health' ? 200 : 404;
    res.end();
  });
  const port = await listen(server, t);
  const { health } = watch(t, [check({ protocol: 'HTTPS' }), check({ protocol: 'MESOS_HTTPS', path: '/missing' })], [port]);
  await waitFor('both results', () => health.results[0]!.alive && health.results[1]!.consecutiveFailures >= 1);
  assert.equal(health.results[1]!.lastFailureCause, '404 Not Found');
});

test('TCP: an open port is alive, a closed one fails', async (t) => {
  const open = createTcpServer((socket) => socket.destroy());
  const port = await listen(open, t);
  const refused = await closedPort();
  const { health } = watch(t, [check({ protocol: 'TCP' }), check({ protocol: 'MESOS_TCP', portIndex: undefined, port: refused })], [port]);
  await waitFor('both results', () => health.results[0]!.alive && health.results[1]!.consecutiveFailures >= 1);
  assert.equal(health.results[1]!.alive, false);
  assert.match(health.results[1]!.lastFailureCause ?? '', /ECONNREFUSED/);
});

test('a network check without a host port fails with a reason', async (t) => {
  const { first } = watch(t, [check({ portIndex: 2 })], [31000]);
  await waitFor('a failure', () => first().consecutiveFailures >= 1);
  assert.match(first().lastFailureCause ?? '', /no host port at portIndex 2/);
});

test('COMMAND: exit 0 is alive, exit 1 fails; env and cwd are the task\'s', async (t) => {
  const dir = tempDir(t);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', GREETING: 'hello' };
  const { health } = watch(t, [
    check({ protocol: 'COMMAND', command: { value: 'exit 0' } }),
    check({ protocol: 'COMMAND', command: { value: 'exit 1' } }),
    check({ protocol: 'COMMAND', command: { value: `test "$GREETING" = hello && test "$(pwd)" = "${dir}"` } }),
  ], [], { cwd: dir, env });
  await waitFor('results', () => health.results[0]!.alive && health.results[1]!.consecutiveFailures >= 1 && health.results[2]!.alive);
  assert.equal(health.results[1]!.lastFailureCause, 'command exited with status 1');
});

test('COMMAND past its timeout fails and leaves no process behind', async (t) => {
  const dir = tempDir(t);
  const { first, health } = watch(t, [check({
    protocol: 'COMMAND', timeoutSeconds: 0.3, intervalSeconds: 10, command: { value: 'echo $$ > sh.pid; sleep 10 & echo $! > sleep.pid; wait' },
  })], [], { cwd: dir });
  await waitFor('a failure', () => first().consecutiveFailures >= 1);
  assert.equal(first().lastFailureCause, 'timed out after 0.3s');
  health.stop();
  for (const file of ['sh.pid', 'sleep.pid']) {
    const pid = Number(readFileSync(join(dir, file), 'utf8'));
    await waitFor(`${file} (${pid}) gone`, () => processGone(pid));
  }
});

test('COMMAND that exits 0 takes its background children with it', async (t) => {
  const dir = tempDir(t);
  const { first } = watch(t, [check({ protocol: 'COMMAND', intervalSeconds: 10, command: { value: 'sleep 10 & echo $! > bg.pid; exit 0' } })], [], { cwd: dir });
  await waitFor('alive', () => first().alive);
  const pid = Number(readFileSync(join(dir, 'bg.pid'), 'utf8'));
  await waitFor(`background sleep (${pid}) gone`, () => processGone(pid));
});

test('stop aborts a probe in flight: its command dies and no callback follows', async (t) => {
  const dir = tempDir(t);
  const { health, changes } = watch(t, [check({ protocol: 'COMMAND', timeoutSeconds: 30, command: { value: 'echo $$ > sh.pid; exec sleep 10' } })], [], { cwd: dir });
  await waitFor('the command to run', () => existsSync(join(dir, 'sh.pid')) && readFileSync(join(dir, 'sh.pid'), 'utf8').trim() !== '');
  const pid = Number(readFileSync(join(dir, 'sh.pid'), 'utf8'));
  health.stop();
  await waitFor(`command (${pid}) gone`, () => processGone(pid));
  assert.equal(changes.length, 0);
  assert.equal(health.results[0]!.lastFailure, null);
});

test('stop aborts an HTTP probe in flight', async (t) => {
  let requestClosed = false;
  const { port, hits } = await httpServer(t, (req) => req.socket.once('close', () => (requestClosed = true)));
  const { health, changes } = watch(t, [check({ timeoutSeconds: 30 })], [port]);
  await waitFor('a request', () => hits.count === 1);
  health.stop();
  await waitFor('the request to be dropped', () => requestClosed);
  assert.equal(changes.length, 0);
  assert.equal(health.results[0]!.lastFailure, null);
});
