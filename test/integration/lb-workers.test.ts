import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import type { DiscoveryTask } from '../../src/events/types.ts';
import type { ClusterHealth, ClusterStats } from '../../src/lb/stats/cluster-stats.ts';
import { DiscoveryStandIn, appPosted, statusUpdate } from '../support/discovery-stand-in.ts';
import { app, freePort, httpGet, startNamedBackend, task, type NamedBackend } from '../support/lb-fixtures.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * `corral lb --workers 2`, the real process, against a scheduler-compatible discovery server:
 * routing through the sockets the workers share (shared ports and a service port opened later),
 * every worker following changes, a killed worker replaced, stats summed over workers, and no
 * worker left behind when the LB stops or dies.
 */

const VHOST = 'web.test';
const dir = tempDir('corral-lb-workers-it-');
const closers: (() => Promise<void>)[] = [];
const parts: PartProcess[] = [];
/** Every worker pid seen, to check that none outlives the LB. */
const workerPids = new Set<number>();
let discovery: DiscoveryStandIn;
let lb: PartProcess;
let a: NamedBackend;
let b: NamedBackend;
let webPort: number;

const portOf = (part: PartProcess, field: 'http' | 'stats'): number => Number(String(part.ready[field]).split(':')[1]);
const loopback = (appId: string, n: number, port: number): DiscoveryTask => task(appId, n, [port], { host: '127.0.0.1' });
const viaVhost = (): Promise<string> => httpGet(portOf(lb, 'http'), '/', { host: VHOST }).then((answer) => (answer.status === 200 ? (JSON.parse(answer.body) as { name: string }).name : `status ${answer.status}`));

async function statsJson<T>(part: PartProcess, path: string): Promise<{ status: number; body: T }> {
  const answer = await httpGet(portOf(part, 'stats'), path);
  return { status: answer.status, body: JSON.parse(answer.body) as T };
}

async function health(part = lb): Promise<ClusterHealth> {
  const { body } = await statsJson<ClusterHealth>(part, '/_corral/health');
  for (const worker of body.workers) workerPids.add(worker.pid);
  return body;
}

/** Both workers answer, synced, and have applied the event `eventId` (each follows the stream itself). */
const allWorkersAt = async (eventId: number): Promise<ClusterHealth | undefined> => {
  const now = await health();
  return now.synced && now.workers.length === 2 && now.workers.every((worker) => worker.eventId >= eventId) ? now : undefined;
};

/** `count` requests at once, each on its own connection, so that the kernel spreads them over the workers. */
async function fresh(count: number, send: () => Promise<string>): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, send));
}

/** Running, as opposed to gone or a zombie waiting for whoever adopted it to reap it. */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false;
  }
}

before(async () => {
  discovery = await DiscoveryStandIn.start();
  closers.push(() => discovery.close());
  [a, b] = await Promise.all([startNamedBackend('a'), startNamedBackend('b')]);
  closers.push(a.close, b.close);
  webPort = await freePort();
  discovery.publish(appPosted(app('/web', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: VHOST }, [webPort])));
  discovery.publish(statusUpdate(loopback('/web', 1, a.port), 'TASK_RUNNING'));
  lb = await startPart('lb', ['lb', '--master', discovery.url, '--http-port', '0', '--https-port', '0', '--app-id-port', '0', '--stats-port', '0', '--group', 'external', '--workers', '2'], dir);
  parts.push(lb);
});

after(async () => {
  await stopParts(parts, 5000);
  for (const close of closers.reverse()) await close();
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

test('the ready line names the shared ports and the worker count; every worker routes the vhost', async () => {
  assert.equal(lb.ready.workers, 2);
  assert.match(String(lb.ready.http), /^127\.0\.0\.1:[1-9]\d*$/);
  await waitFor('both workers synced', () => allWorkersAt(discovery.view.eventId));
  // Whichever worker accepts each connection, the answer is the same.
  assert.deepEqual(await fresh(20, viaVhost), Array<string>(20).fill('a'));
});

test('a service port that appears after start is opened by the workers on one shared socket', async () => {
  const latePort = await freePort();
  const id = discovery.publish(appPosted(app('/late', { HAPROXY_GROUP: 'external', HAPROXY_0_MODE: 'http' }, [latePort])));
  discovery.publish(statusUpdate(loopback('/late', 1, b.port), 'TASK_RUNNING'));
  await waitFor('both workers to apply the new app', () => allWorkersAt(id));
  const viaLate = (): Promise<string> => httpGet(latePort, '/').then((answer) => (answer.status === 200 ? (JSON.parse(answer.body) as { name: string }).name : `status ${answer.status}`));
  await waitFor('the late service port to answer', async () => ((await viaLate()) === 'b' ? true : undefined));
  assert.deepEqual(await fresh(20, viaLate), Array<string>(20).fill('b'));
  const routes = await statsJson<{ listeners: { open: number[] } }>(lb, '/_corral/routes');
  assert.ok(routes.body.listeners.open.includes(latePort), `open service ports ${routes.body.listeners.open.join(', ')} include ${latePort}`);
});

test('a route change reaches every worker', async () => {
  discovery.publish(statusUpdate(loopback('/web', 2, b.port), 'TASK_RUNNING'));
  const id = discovery.publish(statusUpdate(loopback('/web', 1, a.port), 'TASK_KILLED'));
  await waitFor('both workers to apply the change', () => allWorkersAt(id));
  await waitFor('only b to answer on fresh connections', async () => ((await fresh(20, viaVhost)).every((name) => name === 'b') ? true : undefined));
});

test('the stats port sums the counters of all workers (JSON and Prometheus)', async () => {
  const pool = `/web:${webPort}`;
  const before = (await statsJson<ClusterStats>(lb, '/_corral/stats')).body;
  const served = new Map(before.workers.map((worker) => [worker.pid, worker.requests]));
  let sent = 0;
  // The kernel picks the worker for each connection: keep sending until both have taken some.
  const after = await waitFor('requests on both workers', async () => {
    const names = await fresh(20, viaVhost);
    sent += names.length;
    assert.deepEqual(names, Array<string>(20).fill('b'));
    const now = (await statsJson<ClusterStats>(lb, '/_corral/stats')).body;
    return now.workers.length === 2 && now.workers.every((worker) => worker.requests > (served.get(worker.pid) ?? 0)) ? now : undefined;
  });
  assert.equal((after.pools[pool]?.requests ?? 0) - (before.pools[pool]?.requests ?? 0), sent);
  assert.equal(after.workers.reduce((sum, worker) => sum + worker.requests, 0), Object.values(after.pools).reduce((sum, counters) => sum + counters.requests, 0));

  const metrics = (await httpGet(portOf(lb, 'stats'), '/metrics')).body;
  const line = metrics.split('\n').find((text) => text.startsWith(`corral_lb_requests_total{pool="${pool}"}`));
  assert.equal(Number(line?.split(' ')[1]), after.pools[pool]?.requests, `metrics line: ${line ?? 'missing'}`);
  const csv = (await httpGet(portOf(lb, 'stats'), '/haproxy?stats;csv')).body;
  assert.match(csv, new RegExp(`^web_${webPort},127_0_0_1_${b.port},`, 'm'));
});

test('a worker killed with SIGKILL is replaced and the LB keeps serving', async () => {
  const [victim] = (await waitFor('both workers synced', () => allWorkersAt(0))).workers;
  assert.ok(victim);
  process.kill(victim.pid, 'SIGKILL');
  const replaced = await waitFor('a replacement worker', async () => {
    const now = await allWorkersAt(discovery.view.eventId);
    return now?.workers.every((worker) => worker.pid !== victim.pid) ? now : undefined;
  });
  assert.equal(replaced.workers.length, 2);
  assert.equal(alive(victim.pid), false);
  assert.deepEqual(await fresh(20, viaVhost), Array<string>(20).fill('b'));
  const log = readFileSync(join(dir, 'lb.log'), 'utf8');
  assert.match(log, new RegExp(`"workerPid":${victim.pid},"code":null,"signal":"SIGKILL","msg":"lb worker exited; starting another"`));
});

test('stopping the LB stops its workers', async () => {
  await health();
  assert.ok(workerPids.size >= 3, `worker pids seen: ${[...workerPids].join(', ')}`);
  await stopParts([lb], 5000);
  assert.deepEqual([...workerPids].filter(alive), []);
});

test('workers exit when the primary dies', async () => {
  const second = await startPart('lb-2', ['lb', '--master', discovery.url, '--http-port', '0', '--https-port', '0', '--app-id-port', '0', '--stats-port', '0', '--workers', '1'], dir);
  parts.push(second);
  const { workers } = await waitFor('the worker synced', async () => ((await health(second)).synced ? health(second) : undefined));
  const pids = workers.map((worker) => worker.pid);
  assert.equal(pids.length, 1);
  second.child.kill('SIGKILL');
  await second.exited;
  await waitFor('the orphaned worker to exit', () => (pids.some(alive) ? undefined : true));
});

test('bad --workers values, and a port the workers cannot bind, are refused at start-up', async () => {
  await assert.rejects(startPart('lb-bad', ['lb', '--master', discovery.url, '--workers', 'many'], dir), /exited \(1\)/);
  assert.match(readFileSync(join(dir, 'lb-bad.log'), 'utf8'), /--workers: expected a whole number from 0 to 64, got 'many'/);
  const taken = a.port;
  await assert.rejects(startPart('lb-taken', ['lb', '--master', discovery.url, '--http-port', String(taken), '--https-port', '0', '--app-id-port', '0', '--stats-port', '0', '--workers', '2'], dir), /exited \(1\)/);
  assert.match(readFileSync(join(dir, 'lb-taken.log'), 'utf8'), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken} \\(--http-port\\): EADDRINUSE`));
});
