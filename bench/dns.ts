/**
 * `node --import tsx bench/dns.ts [--instances N] [--seconds S] [--changes K] [--clients C] [--udp-workers W] [--keep] [--profile]`:
 * Corral DNS beside NSD on the same zone, and how fast a change is served.
 *
 * A scheduler stand-in (test/support/discovery-stand-in.ts: the discovery snapshot and the SSE
 * stream, nothing else) holds N running instances (default 10,000: 1,000 apps of 10) and a real
 * `corral dns` process follows it. NSD serves the same records from a zone file written from
 * the same table (one server process, rate limiting off).
 *
 * 1. Throughput: dnsperf (UDP, C clients, 200 queries in flight) for S seconds against NSD,
 *    against corral dns alone, and against corral dns with W UDP helper processes (default 1),
 *    with one query mix: app A (40%), app SRV (30%), instance A (20%), NXDOMAIN (10%).
 * 2. Change -> served (corral dns alone): K times, the stand-in publishes a status update that
 *    starts one new instance; the time from writing the event to the first UDP answer naming it
 *    (a query loop on the new instance's canonical name), p50/p99.
 * 3. Snapshot -> served: how long the N-instance table takes to build after start.
 */
import { spawn, execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { canonicalLabel, taskLabel } from '../src/dns/core/names.ts';
import { buildRecords } from '../src/dns/core/records.ts';
import type { RecordTable } from '../src/dns/core/record-types.ts';
import { spawnPart, stopParts, type PartProcess } from '../src/cli/child-process.ts';
import { viewFromSnapshot } from '../src/events/core/view.ts';
import { DiscoveryStandIn, statusUpdate, syntheticSnapshot } from '../test/support/discovery-stand-in.ts';
import { query } from '../test/support/dns-fixtures.ts';
import { freePort, tempDir } from '../test/support/parts.ts';
import { startNsd } from './dns-nsd.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const DOMAIN = 'mesos';
const PER_APP = 10;

export interface DnsBenchOptions {
  log: (line: string) => void;
  /** Where the results table goes; default `log`. */
  table?: (line: string) => void;
  /** Running instances in the zone; default BENCH_DNS_INSTANCES or 10,000. */
  instances?: number;
  /** dnsperf run length per server; default 10 s. */
  seconds?: number;
  /** Change -> served samples; default 200. */
  changes?: number;
  /** dnsperf clients (sockets); default 4. */
  clients?: number;
  keep?: boolean;
  /** Run corral dns under --cpu-prof; the profile lands in the temp dir (kept). */
  profile?: boolean;
  /** `--udp-workers` of the second corral run (the first runs without helpers); default 1. */
  udpWorkers?: number;
}

export interface PerfResult {
  qps: number;
  avgLatencyMs: number;
  lostPercent: number;
  completed: number;
}

export interface DnsBenchResult {
  instances: number;
  names: number;
  snapshotToServedMs: number;
  /** One process. */
  corral: PerfResult;
  /** With `udpWorkers` helper processes on the same UDP socket. */
  corralHelped: PerfResult;
  udpWorkers: number;
  nsd: PerfResult;
  /** Best corral qps / nsd qps. */
  ratio: number;
  change: { samples: number; p50Ms: number; p99Ms: number; maxMs: number };
}

export async function runDnsBench(options: DnsBenchOptions): Promise<DnsBenchResult> {
  const log = options.log;
  const table = options.table ?? log;
  const instances = options.instances ?? Number(process.env.BENCH_DNS_INSTANCES ?? 10_000);
  const seconds = options.seconds ?? 10;
  const changes = options.changes ?? 200;
  const clients = options.clients ?? 4;
  const udpWorkers = options.udpWorkers ?? 1;
  await ensureTools(log);
  const dir = tempDir('corral-bench-dns-');
  const apps = Math.max(1, Math.ceil(instances / PER_APP));
  const snapshot = syntheticSnapshot(apps, PER_APP);
  snapshot.tasks = snapshot.tasks.slice(0, instances);

  const scheduler = await DiscoveryStandIn.start(snapshot);
  let dns: PartProcess | undefined;
  let nsd: ReturnType<typeof startNsd> | undefined;
  try {
    log(`zone: ${instances} instances in ${apps} apps`);
    const zone = buildRecords(viewFromSnapshot(snapshot), { domain: DOMAIN, ttl: 60, serial: 1, masters: [scheduler.url] });
    const queries = join(dir, 'queries');
    writeFileSync(queries, queryMix(zone, 20_000));

    const startDns = async (workers: number): Promise<{ part: PartProcess; port: number; ms: number }> => {
      const started = performance.now();
      const part = await spawnPart({
        name: `dns-${workers}`,
        args: ['dns', '--master', scheduler.url, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', '', '--udp-workers', String(workers)],
        logFile: join(dir, `dns-${workers}.log`),
        entry: [...(options.profile === true ? ['--cpu-prof', '--cpu-prof-dir', join(dir, 'profiles')] : []), '--import', 'tsx', CLI],
        readyTimeoutMs: 120_000,
      });
      dns = part;
      const port = Number(String(part.ready.dns).split(':')[1]);
      const probe = new Prober(port);
      // Every process must have its table: ask until a run of answers all succeed.
      await probe.until(`app-0.marathon.${DOMAIN}`, 120_000, 20).finally(() => probe.close());
      return { part, port, ms: performance.now() - started };
    };

    const nsdPort = await freePort();
    nsd = startNsd(zone, nsdPort, dir);
    const nsdProbe = new Prober(nsdPort);
    await nsdProbe.until(`app-0.marathon.${DOMAIN}`, 60_000).finally(() => nsdProbe.close());
    log('nsd serves the zone');
    log(`dnsperf: nsd for ${seconds} s`);
    const nsdResult = await dnsperf(nsdPort, queries, seconds, clients);

    const single = await startDns(0);
    log(`corral dns serves the snapshot ${single.ms.toFixed(0)} ms after start (${zone.names.size} names)`);
    log(`dnsperf: corral dns (one process) for ${seconds} s`);
    const corralResult = await dnsperf(single.port, queries, seconds, clients);
    const probe = new Prober(single.port);
    log(`change -> served: ${changes} new instances, one at a time`);
    const latencies: number[] = [];
    for (let k = 0; k < changes; k++) {
      const taskId = `app-0.bench-${k}`;
      const slaveId = 'fake-agent-S0'; // statusUpdate's agent
      const name = `${canonicalLabel(taskLabel('/app-0'), taskId, slaveId)}.marathon.${DOMAIN}`;
      const t0 = performance.now();
      // On an agent the cluster already has, as a scale-out would place it.
      scheduler.publish(statusUpdate({ id: taskId, appId: '/app-0', host: '127.2.0.1', ports: [40000 + k] }, 'TASK_RUNNING'));
      await probe.until(name, 10_000);
      latencies.push(performance.now() - t0);
    }
    probe.close();
    await stopParts([single.part], 10_000);

    const helped = await startDns(udpWorkers);
    log(`dnsperf: corral dns (--udp-workers ${udpWorkers}) for ${seconds} s`);
    const helpedResult = await dnsperf(helped.port, queries, seconds, clients);
    const snapshotToServedMs = single.ms;

    latencies.sort((a, b) => a - b);
    const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;

    const result: DnsBenchResult = {
      instances,
      names: zone.names.size,
      snapshotToServedMs,
      corral: corralResult,
      corralHelped: helpedResult,
      udpWorkers,
      nsd: nsdResult,
      ratio: Math.max(corralResult.qps, helpedResult.qps) / nsdResult.qps,
      change: { samples: latencies.length, p50Ms: pct(50), p99Ms: pct(99), maxMs: latencies.at(-1) ?? NaN },
    };
    for (const line of formatDnsBench(result, { seconds, clients })) table(line);
    return result;
  } finally {
    await nsd?.stop();
    if (dns !== undefined) await stopParts([dns], 10_000);
    await scheduler.close();
    if (options.keep === true || options.profile === true) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

export function formatDnsBench(r: DnsBenchResult, run: { seconds: number; clients: number }): string[] {
  const row = (name: string, p: PerfResult): string =>
    `| ${name.padEnd(10)} | ${p.qps.toFixed(0).padStart(9)} | ${p.avgLatencyMs.toFixed(3).padStart(12)} | ${p.lostPercent.toFixed(2).padStart(6)} |`;
  return [
    `zone: ${r.instances} instances, ${r.names} names; dnsperf UDP, ${run.clients} clients, ${run.seconds} s each`,
    '| server     |       qps | avg lat (ms) | lost % |',
    '|------------|-----------|--------------|--------|',
    row('nsd', r.nsd),
    row('corral', r.corral),
    row(`corral +${r.udpWorkers}`, r.corralHelped),
    `best corral / nsd qps: ${(r.ratio * 100).toFixed(0)}% (target >= 50%); corral +N = --udp-workers N`,
    `change -> served (event written -> first UDP answer naming the new instance; one process), ${r.change.samples} samples: p50 ${r.change.p50Ms.toFixed(1)} ms, p99 ${r.change.p99Ms.toFixed(1)} ms, max ${r.change.maxMs.toFixed(1)} ms`,
    `snapshot of ${r.instances} instances -> served: ${r.snapshotToServedMs.toFixed(0)} ms after process start`,
  ];
}

/** dnsperf's query file: app A 40%, app SRV 30%, instance A 20%, NXDOMAIN 10%, deterministic. */
function queryMix(zone: RecordTable, count: number): string {
  const appLabels = [...zone.apps.values()].map(({ app }) => taskLabel(app.id));
  const instances = [...zone.names.keys()].filter((name) => /^[a-z0-9-]+-[a-z0-9]{5}-s\d+\.marathon\./.test(name));
  let seed = 7;
  const pick = <T>(items: readonly T[]): T => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return items[seed % items.length] as T;
  };
  const lines: string[] = [];
  for (let i = 0; i < count; i++) {
    const slot = i % 10;
    if (slot < 4) lines.push(`${pick(appLabels)}.marathon.${DOMAIN} A`);
    else if (slot < 7) lines.push(`_${pick(appLabels)}._tcp.marathon.${DOMAIN} SRV`);
    else if (slot < 9) lines.push(`${pick(instances)} A`);
    else lines.push(`missing-${i}.marathon.${DOMAIN} A`);
  }
  return `${lines.join('\n')}\n`;
}

async function dnsperf(port: number, file: string, seconds: number, clients: number): Promise<PerfResult> {
  const { stdout } = await run('dnsperf', ['-s', '127.0.0.1', '-p', String(port), '-d', file, '-l', String(seconds), '-c', String(clients), '-q', '200', '-t', '2'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const number = (pattern: RegExp): number => Number(pattern.exec(stdout)?.[1] ?? NaN);
  return {
    qps: number(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: number(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    lostPercent: number(/Queries lost:\s+\d+ \(([\d.]+)%\)/),
    completed: number(/Queries completed:\s+(\d+)/),
  };
}

/** Asks one name over UDP in a loop until the answer has a record (what `dig` would show). */
class Prober {
  readonly #socket = dgram.createSocket('udp4');
  readonly #port: number;
  #id = 0;

  constructor(port: number) {
    this.#port = port;
  }

  /** Resolves once `streak` consecutive answers name it (several processes may share the socket). */
  async until(name: string, timeoutMs: number, streak = 1): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let run = 0;
    while (performance.now() < deadline) {
      run = (await this.#ask(name)) ? run + 1 : 0;
      if (run >= streak) return;
    }
    throw new Error(`${name} not served within ${timeoutMs} ms`);
  }

  /** True when the reply is NOERROR with at least one answer. */
  #ask(name: string): Promise<boolean> {
    this.#id = (this.#id + 1) & 0xffff;
    const id = this.#id;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), 200);
      const onMessage = (reply: Buffer): void => {
        if (reply.readUInt16BE(0) !== id) return;
        done((reply.readUInt16BE(2) & 0xf) === 0 && reply.readUInt16BE(6) > 0);
      };
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.#socket.off('message', onMessage);
        resolve(ok);
      };
      this.#socket.on('message', onMessage);
      this.#socket.send(query(name, 1, { id }), this.#port, '127.0.0.1');
    });
  }

  close(): void {
    this.#socket.close();
  }
}

/** Installs dnsperf and NSD with apt-get when missing (benchmarks may; tests never do). */
async function ensureTools(log: (line: string) => void): Promise<void> {
  const missing: string[] = [];
  for (const [tool, pkg] of [['dnsperf', 'dnsperf'], ['nsd', 'nsd']] as const) {
    try {
      await run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      missing.push(pkg);
    }
  }
  if (missing.length === 0) return;
  log(`installing ${missing.join(', ')} with apt-get`);
  await new Promise<void>((resolve, reject) => {
    const child = spawn('sh', ['-c', `apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ${missing.join(' ')}`], { stdio: 'inherit' });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`apt-get exited ${code}`))));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      instances: { type: 'string' },
      seconds: { type: 'string' },
      changes: { type: 'string' },
      clients: { type: 'string' },
      'udp-workers': { type: 'string' },
      keep: { type: 'boolean' },
      profile: { type: 'boolean' },
    },
  });
  const started = Date.now();
  await runDnsBench({
    log: (line) => process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s ${line}\n`),
    table: (line) => process.stdout.write(`${line}\n`),
    ...(values.instances !== undefined ? { instances: Number(values.instances) } : {}),
    ...(values.seconds !== undefined ? { seconds: Number(values.seconds) } : {}),
    ...(values.changes !== undefined ? { changes: Number(values.changes) } : {}),
    ...(values.clients !== undefined ? { clients: Number(values.clients) } : {}),
    ...(values['udp-workers'] !== undefined ? { udpWorkers: Number(values['udp-workers']) } : {}),
    keep: values.keep === true,
    profile: values.profile === true,
  });
}
