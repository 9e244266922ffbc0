/**
 * `node --import tsx bench/lb.ts [--seconds S]`: corral lb against HAProxy and against no proxy,
 * on the same backends in the same run, with wrk (keep-alive, one thread).
 *
 * Throughput (32 connections) and latency at low load (1 connection) through: the backends
 * directly; HAProxy (Debian package, one thread, equivalent config); corral lb (one process, and
 * with `--workers 1` and `--workers 2`: a primary keeping the stats port plus proxy processes
 * sharing the listening sockets); a second corral lb with 10,000 more vhosts in its table (100 apps x 100 names); and the
 * forwarding libraries alone as minimal proxies: http-proxy (npm, installed into a temp dir
 * outside the repository), http-proxy-3, node:http server + undici, node:http client (what
 * corral lb uses). Rounds interleave the targets (median of BENCH_LB_ROUNDS, default 3), since
 * the machine is shared. Then failed requests while the table changes 100 times a second
 * (scale, apps added and removed), fed through a scheduler-compatible discovery + SSE server.
 *
 * Backends are two tiny Node servers in their own processes. Figures, not pass/fail.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../src/cli/child-process.ts';
import type { DiscoveryApp } from '../src/events/types.ts';
import { DiscoveryStandIn, appPosted, appTerminated, statusUpdate } from '../test/support/discovery-stand-in.ts';
import { findVhostPool } from '../src/lb/core/route-lookup.ts';
import { buildRoutingTable, sameRoutingTable, type RoutingTable } from '../src/lb/core/routing-table.ts';
import { app, task, view } from '../test/support/lb-fixtures.ts';
import { freePort, startPart, tempDir } from '../test/support/parts.ts';
import { waitFor } from '../test/support/wait.ts';
import { haproxyConfig, runWrk, spawnBackend, spawnReady, stopChild, type ReadyChild, type WrkResult } from './lb-support.ts';

export interface LbBenchOptions {
  readonly log: (line: string) => void;
  readonly table: (line: string) => void;
  /** Seconds per wrk run (default 4, or BENCH_LB_SECONDS). */
  readonly seconds?: number;
}

const HOST = 'bench.test';
/** `corral lb --workers` values measured beside the single process. */
const WORKER_COUNTS = [1, 2] as const;
const HTTP_PROXY_DIR = process.env.BENCH_HTTP_PROXY_DIR ?? '/tmp/corral-bench-http-proxy';

interface Target {
  readonly name: string;
  readonly url: string;
  /** Checked once before measuring: 200 and the backend's body. */
  readonly correct: boolean;
}

interface Measured {
  readonly load: WrkResult;
  readonly idle: WrkResult;
}

export async function runLbBench(options: LbBenchOptions): Promise<void> {
  const { log, table } = options;
  const seconds = options.seconds ?? Number(process.env.BENCH_LB_SECONDS ?? 4);
  const rounds = Number(process.env.BENCH_LB_ROUNDS ?? 3);
  const dir = tempDir('corral-bench-lb-');
  const children: ChildProcess[] = [];
  const parts: PartProcess[] = [];
  const discovery = await DiscoveryStandIn.start();
  try {
    const backends = await Promise.all([spawnBackend(), spawnBackend()]);
    children.push(...backends.map((b) => b.child));
    const backendPorts = backends.map((b) => b.port);
    log(`backends on ${backendPorts.join(', ')}; discovery server on ${discovery.url}; logs in ${dir}`);

    const servicePort = await freePort();
    discovery.publish(appPosted(app('/bench', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: HOST }, [servicePort])));
    backendPorts.forEach((port, i) => discovery.publish(statusUpdate(task('/bench', i + 1, [port], { host: '127.0.0.1' }), 'TASK_RUNNING')));
    // A second LB, on 127.0.0.2 so that its service ports cannot clash, also serves 10,000 more vhosts.
    log('loading 10,000 more vhosts (100 apps x 100 names) for the second LB');
    const manyPorts = await Promise.all(Array.from({ length: 100 }, () => freePort()));
    manyPorts.forEach((port, i) => {
      const names = Array.from({ length: 100 }, (_, n) => `v${i}-${n}.many.test`).join(',');
      discovery.publish(appPosted(app(`/many-${i}`, { HAPROXY_GROUP: 'many', HAPROXY_0_VHOST: names }, [port])));
      discovery.publish(statusUpdate(task(`/many-${i}`, 1, [backendPorts[0] ?? 0], { host: '127.0.0.1' }), 'TASK_RUNNING'));
    });

    const lbArgs = (name: string, bind: string, groups: string, workers = 0): Promise<PartProcess> =>
      startPart(name, ['lb', '--master', discovery.url, '--bind', bind, '--http-port', '0', '--https-port', '0', '--app-id-port', '0', '--stats-port', '0', '--group', groups, '--workers', String(workers)], dir);
    // Each on its own loopback address, so that their service ports cannot clash.
    const [lb, lbMany, ...lbWorkers] = await Promise.all([
      lbArgs('lb', '127.0.0.1', 'external'),
      lbArgs('lb-many', '127.0.0.2', 'external,many'),
      ...WORKER_COUNTS.map((workers, i) => lbArgs(`lb-workers-${workers}`, `127.0.0.${i + 3}`, 'external', workers)),
    ]);
    parts.push(lb, lbMany, ...lbWorkers);
    const vhosts = await waitFor('the second LB to route 10,001 vhosts', async () => {
      const routes = (await (await fetch(`http://${String(lbMany.ready.stats)}/_corral/routes`)).json()) as { table: { vhosts: Record<string, unknown> } };
      const count = Object.keys(routes.table.vhosts).length;
      return count >= 10_001 ? count : undefined;
    }, 60_000);

    const haproxyPort = await freePort();
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(haproxyPort, backendPorts, HOST));
    const haproxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
    children.push(haproxy);
    await waitFor('haproxy to listen', () => accepts(haproxyPort));

    if (!existsSync(join(HTTP_PROXY_DIR, 'node_modules', 'http-proxy'))) {
      log(`installing http-proxy into ${HTTP_PROXY_DIR} (outside the repository) for the comparison`);
      execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--prefix', HTTP_PROXY_DIR, 'http-proxy@1.18.1'], { stdio: 'ignore' });
    }
    const forwarders: [string, ReadyChild][] = [];
    for (const kind of ['http-proxy', 'http-proxy-3', 'undici', 'node-http']) {
      const proxy = await spawnReady(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lb-forwarders.ts'), kind, ...backendPorts.map(String)], { ...process.env, BENCH_HTTP_PROXY_DIR: HTTP_PROXY_DIR });
      children.push(proxy.child);
      forwarders.push([kind, proxy]);
    }

    const lbUrl = `http://${String(lb.ready.http)}/`;
    const targets: Target[] = [];
    const add = async (name: string, url: string, host = HOST): Promise<void> => {
      const probe = await get(url, host);
      targets.push({ name, url, correct: probe.status === 200 && probe.body === 'hello world\n' });
    };
    for (const part of [lb, ...lbWorkers]) {
      await waitFor(`${part.name} to route the bench vhost`, async () => ((await get(`http://${String(part.ready.http)}/`, HOST)).status === 200 ? true : undefined));
    }
    await add('direct (one backend)', `http://127.0.0.1:${backendPorts[0] ?? 0}/`);
    await add('haproxy (1 thread)', `http://127.0.0.1:${haproxyPort}/`);
    await add('corral lb', lbUrl);
    for (const [i, part] of lbWorkers.entries()) await add(workersName(WORKER_COUNTS[i] ?? 0), `http://${String(part.ready.http)}/`);
    await add(`corral lb, ${vhosts} vhosts`, `http://${String(lbMany.ready.http)}/`);
    for (const [kind, proxy] of forwarders) await add(`${kind} (minimal proxy)`, `http://127.0.0.1:${proxy.port}/`);

    // Rounds interleave the targets, so that a busy moment of the shared machine hits them all,
    // each round starting one target further on, so that no target always runs right after the
    // same one (the single-process LB, always run after HAProxy, once measured a quarter below the
    // identical 10,001-vhost LB).
    const results = new Map<string, Measured[]>();
    for (let round = 1; round <= rounds; round += 1) {
      for (const target of [...targets.slice(round - 1), ...targets.slice(0, round - 1)]) {
        log(`round ${round}/${rounds}: ${target.name}: wrk -c32 then -c1, ${seconds}s each`);
        const load = await runWrk(target.url, HOST, 32, seconds);
        const idle = await runWrk(target.url, HOST, 1, seconds);
        results.set(target.name, [...(results.get(target.name) ?? []), { load, idle }]);
      }
    }
    await stopChild(haproxy);
    // The churn below is measured on the first LB alone.
    await stopParts([lbMany, ...lbWorkers], 5000);
    const median = (name: string, pick: (m: Measured) => number): number => {
      const values = (results.get(name) ?? []).map(pick).sort((a, b) => a - b);
      return values[Math.floor(values.length / 2)] ?? NaN;
    };
    table('');
    table(`medians of ${rounds} interleaved rounds, wrk -t1, ${seconds}s per run, keep-alive`);
    table(row('target', 'req/s (c=32)', 'p50 / p99 ms (c=32)', 'p50 / p99 ms (c=1)', 'failed', 'correct'));
    for (const target of targets) {
      const failed = (results.get(target.name) ?? []).reduce((sum, m) => sum + m.load.failed + m.idle.failed, 0);
      table(row(
        target.name,
        median(target.name, (m) => m.load.requestsPerSecond).toFixed(0),
        `${ms(median(target.name, (m) => m.load.p50Ms))} / ${ms(median(target.name, (m) => m.load.p99Ms))}`,
        `${ms(median(target.name, (m) => m.idle.p50Ms))} / ${ms(median(target.name, (m) => m.idle.p99Ms))}`,
        String(failed),
        target.correct ? 'yes' : 'no',
      ));
    }
    const rps = (name: string): number => median(name, (m) => m.load.requestsPerSecond);
    const p99 = (name: string): number => median(name, (m) => m.idle.p99Ms);
    const corrals = ['corral lb', ...WORKER_COUNTS.map(workersName)];
    const each = (figure: (name: string) => string): string => corrals.map((name) => `${name.replace(/^corral lb,? ?/, '') || 'one process'} ${figure(name)}`).join(', ');
    table(`corral / haproxy req/s: ${each((name) => (rps(name) / rps('haproxy (1 thread)')).toFixed(2))} (target >= 0.5)`);
    const p50 = (name: string): number => median(name, (m) => m.idle.p50Ms);
    const added = (name: string, percentile: (name: string) => number): string => ms(percentile(name) - percentile('direct (one backend)'));
    table(`p50 added at c=1 over direct (ms): ${each((name) => added(name, p50))}, haproxy ${added('haproxy (1 thread)', p50)}`);
    table(`p99 added at c=1 over direct (ms): ${each((name) => added(name, p99))}, haproxy ${added('haproxy (1 thread)', p99)} (target < 1 ms)`);
    table(`${vhosts} vhosts / 1 vhost req/s: ${(rps(`corral lb, ${vhosts} vhosts`) / rps('corral lb')).toFixed(3)} (target >= 0.95)`);

    // The same question without the network's noise: lookups and rebuilds, in this process.
    const lookup = lookupCosts();
    table(`vhost lookup (findVhostPool): ${lookup.oneUs.toFixed(3)} us with 1 vhost, ${lookup.manyUs.toFixed(3)} us with 10,001; rebuild + compare of the 10,001-vhost table: ${lookup.rebuildMs.toFixed(1)} ms`);

    // 100 route changes per second while wrk runs.
    log(`100 route changes/s for ${seconds * 2}s under wrk -c32`);
    const churnPorts = await Promise.all(Array.from({ length: 5 }, () => freePort()));
    const third = task('/bench', 3, [backendPorts[1] ?? 0], { host: '127.0.0.1' });
    let step = 0;
    const ticker = setInterval(() => {
      const n = step % 5;
      const kind = Math.floor(step / 5) % 3;
      if (kind === 0) discovery.publish(statusUpdate(third, step % 2 === 0 ? 'TASK_RUNNING' : 'TASK_KILLED'));
      else if (kind === 1) discovery.publish(appPosted(churnApp(n, churnPorts[n] ?? 0)));
      else discovery.publish(appTerminated(`/churn-${n}`));
      step += 1;
    }, 10);
    const churnBefore = await generation(lb);
    const churn = await runWrk(lbUrl, HOST, 32, seconds * 2);
    clearInterval(ticker);
    const swaps = (await generation(lb)) - churnBefore;
    table(`during ${step} route changes (${(step / seconds / 2).toFixed(0)}/s, ${swaps} tables swapped in): ${churn.requests} requests, ${churn.failed} failed (target 0), ${churn.requestsPerSecond.toFixed(0)} req/s`);
  } finally {
    await stopParts(parts, 5000);
    for (const child of children) await stopChild(child);
    await discovery.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One request with the bench Host (fetch may not set Host). */
async function get(url: string, host: string): Promise<{ status: number; body: string }> {
  const response = await request(url, { headers: { host } });
  return { status: response.statusCode, body: await response.body.text() };
}

/** In-process costs: one lookup with 1 and with 10,001 vhosts, and one rebuild of the big table. */
function lookupCosts(): { oneUs: number; manyUs: number; rebuildMs: number } {
  const apps = (count: number): DiscoveryApp[] => [
    app('/bench', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: HOST }, [19999]),
    ...Array.from({ length: count }, (_, i) => app(`/many-${i}`, { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: Array.from({ length: 100 }, (_, n) => `v${i}-${n}.many.test`).join(',') }, [20000 + i])),
  ];
  const tasks = [task('/bench', 1, [1])];
  const perLookup = (routing: RoutingTable): number => {
    const lookups = 1_000_000;
    const started = performance.now();
    let found = 0;
    for (let i = 0; i < lookups; i += 1) if (findVhostPool(routing, HOST, '/') !== undefined) found += 1;
    if (found !== lookups) throw new Error('the bench vhost was not found');
    return ((performance.now() - started) * 1000) / lookups;
  };
  // A task event: same app objects, a new view.
  const bigApps = apps(100);
  const big = buildRoutingTable(view(bigApps, tasks), { groups: ['g'] });
  const rebuilds = 10;
  const started = performance.now();
  let previous = big;
  for (let i = 0; i < rebuilds; i += 1) {
    const next = buildRoutingTable(view(bigApps, tasks, i + 2), { groups: ['g'] });
    sameRoutingTable(next, previous);
    previous = next;
  }
  const rebuildMs = (performance.now() - started) / rebuilds;
  const small = buildRoutingTable(view(apps(0), tasks), { groups: ['g'] });
  perLookup(small);
  perLookup(big);
  return { oneUs: perLookup(small), manyUs: perLookup(big), rebuildMs };
}

function workersName(workers: number): string {
  return `corral lb, --workers ${workers}`;
}

function churnApp(n: number, port: number): DiscoveryApp {
  return app(`/churn-${n}`, { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: `churn-${n}.test` }, [port]);
}

async function generation(lb: PartProcess): Promise<number> {
  const health = (await (await fetch(`http://${String(lb.ready.stats)}/_corral/health`)).json()) as { generation: number };
  return health.generation;
}

function accepts(port: number): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(undefined));
  });
}

function ms(value: number): string {
  return value.toFixed(2);
}

function row(...cells: string[]): string {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(32) : cell.padStart(i >= 4 ? 9 : 22))).join('');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { seconds: { type: 'string' } } });
  const started = Date.now();
  await runLbBench({
    log: (line) => process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s ${line}\n`),
    table: (line) => console.log(line),
    ...(values.seconds !== undefined ? { seconds: Number(values.seconds) } : {}),
  });
}
