/**
 * `node --import tsx bench/scheduler.ts [--agents N] [--tasks N] [--apps N] [--sim-processes K]
 *   [--phase-timeout S] [--no-10k] [--log-level L] [--profile] [--keep] [--stores file,etcd]`
 * (sizes also from BENCH_SCHED_AGENTS / BENCH_SCHED_TASKS; default 1,000 agents × 100,000 tasks).
 *
 * One real `corral scheduler` (child process, its own temp data dir, fsync as in production)
 * driven by bench/sim-agents.ts: N simulated agents in a separate process speaking the real
 * agent protocol, whose tasks "run" the moment they are launched. So what is measured is the
 * scheduler alone — placement, state commits, event fan-out, the command streams.
 *
 * 1. `POST /v2/apps` latency on an empty cluster: 200 apps with instances 0, one at a time.
 * 2. Ramp to 10,000 tasks (100 apps), then `GET /v2/apps?embed=apps.tasks` 20 times, then
 *    DELETE the apps (force) and wait for every TASK_KILLED. Skipped when the full size is
 *    10,000 or less: the full ramp is measured the same way.
 * 3. Ramp to the full size: tasks spread over 100 apps (cpus 0.01, mem 1, no ports); time from
 *    the first POST until the last TASK_RUNNING event; scheduler RSS there; the GET again; then
 *    `POST /v2/apps` latency again, with every task still running.
 *
 * `--stores file,etcd` runs it all once per state store, one after the other (etcd: a real one
 * started here on loopback, fsync on), and ends with the etcd store's rate beside the file store's.
 *
 * Every phase is bounded (--phase-timeout, default 300 s): a phase that does not finish is
 * reported with how far it got and its rate, never silently shrunk.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Agent, request, type Dispatcher } from 'undici';
import { spawnPart, stopParts, type PartProcess } from '../src/cli/child-process.ts';
import { startEtcd } from '../test/support/etcd.ts';
import { startPart, tempDir } from '../test/support/parts.ts';
import type { SimRegistered, SimStats } from './sim-agents.ts';
import { formatProfile, monotonicMicros, summarizeProfile, type ProfileSummary, type ProfileWindow } from './support-cpuprofile.ts';
import { mib, procUsage } from './support-proc.ts';
import { StatusTally } from './support-status-tally.ts';

export interface SchedulerBenchOptions {
  log: (line: string) => void;
  /** Where the results table goes; default `log`. */
  table?: (line: string) => void;
  /** Simulated agents; default BENCH_SCHED_AGENTS or 1000. */
  agents?: number;
  /** Tasks at full size; default BENCH_SCHED_TASKS or 100000. */
  tasks?: number;
  /** Apps the tasks are spread over; default 100. */
  apps?: number;
  /** Simulator processes the agents are split over; default 1. */
  simProcesses?: number;
  /** Bound of each phase (ramp, delete, latency series), ms; default 300 s. */
  phaseTimeoutMs?: number;
  /** Run the 10,000-task phase first when the full size is larger; default true. */
  tenK?: boolean;
  /** The scheduler's --log-level; default its own (info). */
  logLevel?: string;
  /** Run the scheduler under --cpu-prof and summarise the profile at the end. */
  profile?: boolean;
  /** Keep the temp dir (logs, data dir, profile) even when everything went well. */
  keep?: boolean;
  signal?: AbortSignal;
  /** The scheduler's --store; with `etcd`, `etcdUrl` is its --etcd. Default file. */
  store?: 'file' | 'etcd';
  etcdUrl?: string;
}

export interface Latency {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Response size, bytes (of the last sample). */
  bytes: number;
}

export interface RampResult {
  tasks: number;
  apps: number;
  /** Tasks RUNNING (by events) when the phase ended. */
  running: number;
  /** First POST → last TASK_RUNNING event; NaN when the phase timed out. */
  toAllRunningMs: number;
  /** How long the phase ran (= toAllRunningMs unless it timed out). */
  elapsedMs: number;
  /** running / elapsed. */
  perSecond: number;
  /** First POST → last app POST answered. */
  postsMs: number;
  /** First POST → the simulator had been sent every launch (250 ms resolution); NaN if not. */
  allLaunchedMs: number;
  schedulerCpuMs: number;
  simCpuMs: number;
  /** The phase on the monotonic clock, to pick its samples out of a profile. */
  window: ProfileWindow;
  /** GET /ping, one every 100 ms through the phase: how long the API keeps a caller waiting meanwhile. */
  ping: Latency;
  schedulerRssMiB: number;
  schedulerPeakRssMiB: number;
}

export interface DeleteResult {
  tasks: number;
  killed: number;
  /** First DELETE → last TASK_KILLED event; NaN on timeout. */
  ms: number;
}

export interface SchedulerBenchResult {
  /** The commit measured, `+dirty` when src/ had uncommitted changes. */
  revision: string;
  store: 'file' | 'etcd';
  agents: number;
  tasks: number;
  simProcesses: number;
  registerMs: number;
  postEmpty: Latency;
  tenK: { ramp: RampResult; get: Latency; remove: DeleteResult } | undefined;
  full: RampResult;
  getFull: Latency | undefined;
  postLoaded: Latency | undefined;
  /** Max of the simulator's event-loop utilisation over the full ramp: near 1 means it was the bottleneck. */
  simMaxElu: number;
  /** Status round trip, heartbeat round trip: the worst second of the full ramp. */
  simStatusMaxMs: number;
  simHeartbeatMaxMs: number;
  eventResumes: number;
  lostEvents: boolean;
  profile: ProfileSummary | undefined;
  logDir: string;
}

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'src', 'cli', 'main.ts');
const SIM = join(import.meta.dirname, 'sim-agents.ts');
const TEN_K = 10_000;
/** App POSTs (and DELETEs) of a ramp in flight at once. */
const POST_CONCURRENCY = 8;

const seconds = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');
const millis = (ms: number): string => (Number.isFinite(ms) ? `${ms.toFixed(1)} ms` : 'n/a');

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** A simulator child and the latest counters it printed. */
interface SimProcess {
  child: ChildProcess;
  exited: Promise<number | string>;
  registered: Promise<SimRegistered>;
  stats: SimStats | undefined;
}

function startSim(api: string, agents: number, first: number, logFile: string): SimProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', SIM, '--master', api, '--agents', String(agents), '--first', String(first)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    cwd: ROOT,
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stderr?.pipe(log);
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const sim: SimProcess = { child, exited, registered: Promise.resolve() as unknown as Promise<SimRegistered>, stats: undefined };
  sim.registered = new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let record: { msg?: string; error?: string };
      try {
        record = JSON.parse(line) as { msg?: string };
      } catch {
        log.write(`${line}\n`);
        return;
      }
      if (record.msg === 'stats') sim.stats = record as SimStats;
      else log.write(`${line}\n`);
      if (record.msg === 'registered') resolve(record as SimRegistered);
      if (record.msg === 'failed') reject(new Error(`the simulator failed: ${record.error ?? ''}; see ${logFile}`));
    });
    void exited.then((status) => reject(new Error(`the simulator exited (${status}); see ${logFile}`)));
  });
  sim.registered.catch(() => undefined);
  return sim;
}

/** The simulators' counters summed (and the worst of their per-second maxima). */
function simTotals(sims: readonly SimProcess[]): SimStats | undefined {
  const all = sims.map((s) => s.stats).filter((s): s is SimStats => s !== undefined);
  if (all.length === 0) return undefined;
  const total = { ...(all[0] as SimStats) };
  for (const stats of all.slice(1)) {
    for (const [key, value] of Object.entries(stats) as Array<[keyof SimStats, unknown]>) {
      if (typeof value !== 'number' || key === 'at') continue;
      const mine = total[key] as number;
      (total as unknown as Record<string, number>)[key] = key.endsWith('MaxMs') || key === 'elu' || key === 'loopDelayP99Ms' ? Math.max(mine, value) : mine + value;
    }
  }
  return total;
}

class Api {
  readonly #base: string;
  readonly #dispatcher: Dispatcher = new Agent({ connections: POST_CONCURRENCY + 2, pipelining: 1 });

  constructor(base: string) {
    this.#base = base;
  }

  async call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; text: string }> {
    const response = await request(`${this.#base}${path}`, {
      method,
      dispatcher: this.#dispatcher,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
    return { status: response.statusCode, text: await response.body.text() };
  }

  async expect(method: 'POST' | 'DELETE', path: string, body: unknown, wanted: number): Promise<void> {
    const { status, text } = await this.call(method, path, body);
    if (status !== wanted) throw new Error(`${method} ${path} answered ${status}: ${text.slice(0, 500)}`);
  }

  close(): void {
    void this.#dispatcher.destroy();
  }
}

/** `abc1234`, or `abc1234+dirty` when src/ differs from it: the scheduler measured. */
function revision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? '+dirty' : ''}`;
  } catch {
    return 'unknown';
  }
}

/** Tasks running in the apps `<prefix>-*`, by the scheduler's own counts. */
async function apiRunning(http: Api, prefix: string): Promise<number> {
  const { text } = await http.call('GET', '/v2/apps');
  const { apps } = JSON.parse(text) as { apps: Array<{ id: string; tasksRunning: number }> };
  return apps.filter((app) => app.id.startsWith(`${prefix}-`)).reduce((sum, app) => sum + app.tasksRunning, 0);
}

/** GET /ping every 100 ms (one at a time) until `done()`; a slow answer delays the next. */
async function pingWhile(http: Api, done: () => boolean): Promise<Latency> {
  const times: number[] = [];
  while (!done()) {
    const started = performance.now();
    await http.call('GET', '/ping');
    times.push(performance.now() - started);
    await sleep(100);
  }
  times.sort((a, b) => a - b);
  return { samples: times.length, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), maxMs: times.at(-1) ?? NaN, bytes: 0 };
}

/** Runs `each(0..count-1)`, at most `width` at a time. */
async function inParallel(count: number, width: number, each: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, count) }, async () => {
    while (next < count) await each(next++);
  }));
}

/** Times `once` up to `count` times (fewer if `boundMs` runs out), one at a time. */
async function latencies(count: number, boundMs: number, once: (i: number) => Promise<number>): Promise<Latency> {
  const times: number[] = [];
  let bytes = 0;
  const deadline = performance.now() + boundMs;
  for (let i = 0; i < count && performance.now() < deadline; i += 1) {
    const t0 = performance.now();
    bytes = await once(i);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { samples: times.length, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), maxMs: times.at(-1) ?? NaN, bytes };
}

export async function runSchedulerBench(options: SchedulerBenchOptions): Promise<SchedulerBenchResult> {
  const { log, signal } = options;
  const agents = options.agents ?? Number(process.env.BENCH_SCHED_AGENTS ?? 1000);
  const tasks = options.tasks ?? Number(process.env.BENCH_SCHED_TASKS ?? 100_000);
  const appCount = options.apps ?? 100;
  const simCount = Math.max(1, Math.min(options.simProcesses ?? 1, agents));
  const phaseMs = options.phaseTimeoutMs ?? 300_000;
  for (const [name, value] of Object.entries({ agents, tasks, apps: appCount })) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, not ${value}`);
  }
  const dir = tempDir('corral-bench-scheduler-');
  const profileDir = join(dir, 'profiles');
  const parts: PartProcess[] = [];
  const sims: SimProcess[] = [];
  let tally: StatusTally | undefined;
  let api: Api | undefined;
  let failed = true;
  try {
    const measured = revision();
    log(`starting a scheduler at ${measured} (logs and data dir in ${dir})`);
    const store = options.store ?? 'file';
    const schedulerArgs = ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler'), '--agent-timeout', '60s',
      ...(store === 'etcd' ? ['--store', 'etcd', '--etcd', options.etcdUrl ?? 'http://127.0.0.1:2379', '--etcd-prefix', `/corral-bench-${process.pid}-${Date.now()}`] : []),
      ...(options.logLevel !== undefined ? ['--log-level', options.logLevel] : [])];
    const scheduler = options.profile === true
      ? await spawnPart({ name: 'scheduler', args: schedulerArgs, logFile: join(dir, 'scheduler.log'), entry: ['--import', 'tsx', '--cpu-prof', '--cpu-prof-dir', profileDir, CLI] })
      : await startPart('scheduler', schedulerArgs, dir);
    parts.push(scheduler);
    const base = String(scheduler.ready.api);
    const pid = scheduler.child.pid ?? 0;
    api = new Api(base);
    const http = api;

    log(`scheduler ${base} (pid ${pid}); registering ${agents} simulated agents in ${simCount} process(es)`);
    const t0 = performance.now();
    for (let k = 0; k < simCount; k += 1) {
      const first = Math.floor((k * agents) / simCount);
      const count = Math.floor(((k + 1) * agents) / simCount) - first;
      sims.push(startSim(base, count, first, join(dir, `sim-${k}.log`)));
    }
    const registerBoundMs = 60_000 + agents * 100;
    let registerTimer: NodeJS.Timeout | undefined;
    const registered = await Promise.race([
      Promise.all(sims.map((s) => s.registered)),
      new Promise<never>((_resolve, reject) => {
        registerTimer = setTimeout(() => reject(new Error(`agents did not register within ${seconds(registerBoundMs)}`)), registerBoundMs);
      }),
    ]).finally(() => clearTimeout(registerTimer));
    const heartbeatMs = registered[0]?.heartbeatIntervalMs ?? 0;
    // Registered with their streams open; the scheduler counts them connected from then on.
    let connected = 0;
    for (const deadline = performance.now() + 60_000; performance.now() < deadline;) {
      const { text } = await http.call('GET', '/corral/v1/agents');
      connected = (JSON.parse(text) as { agents: Array<{ connected: boolean }> }).agents.filter((a) => a.connected).length;
      if (connected >= agents) break;
      await sleep(200);
    }
    if (connected < agents) throw new Error(`only ${connected} of ${agents} agents connected`);
    const registerMs = performance.now() - t0;
    log(`${agents} agents registered and connected in ${seconds(registerMs)} (heartbeat every ${heartbeatMs} ms)`);
    tally = await StatusTally.follow(base);
    const events = tally;

    const usage = (): { scheduler: ReturnType<typeof procUsage>; sim: number } => ({
      scheduler: procUsage(pid),
      sim: sims.reduce((sum, s) => sum + (procUsage(s.child.pid ?? 0)?.cpuMs ?? 0), 0),
    });
    const checkAlive = (): void => {
      signal?.throwIfAborted();
      if (scheduler.child.exitCode !== null || scheduler.child.signalCode !== null) throw new Error(`the scheduler exited; see ${join(dir, 'scheduler.log')}`);
      for (const sim of sims) if (sim.child.exitCode !== null || sim.child.signalCode !== null) throw new Error(`a simulator exited; see ${dir}`);
      if (events.error !== undefined) throw events.error;
    };

    const postSeries = async (label: string, prefix: string): Promise<Latency> => {
      log(`${label}: POST /v2/apps x200 (instances 0), one at a time`);
      const latency = await latencies(200, Math.min(phaseMs, 120_000), async (i) => {
        await http.expect('POST', '/v2/apps', { id: `${prefix}-${i}`, cmd: 'sleep 100000', instances: 0, cpus: 0.01, mem: 1, portDefinitions: [] }, 201);
        return 0;
      });
      log(`${label}: p50 ${millis(latency.p50Ms)}, p99 ${millis(latency.p99Ms)}, max ${millis(latency.maxMs)} (${latency.samples} posts)`);
      checkAlive();
      return latency;
    };

    const getSeries = async (label: string): Promise<Latency> => {
      log(`${label}: GET /v2/apps?embed=apps.tasks x20`);
      const latency = await latencies(20, Math.min(phaseMs, 120_000), async () => {
        const { status, text } = await http.call('GET', '/v2/apps?embed=apps.tasks');
        if (status !== 200) throw new Error(`GET /v2/apps answered ${status}`);
        return Buffer.byteLength(text);
      });
      log(`${label}: p50 ${millis(latency.p50Ms)}, p99 ${millis(latency.p99Ms)}, ${(latency.bytes / 1024 / 1024).toFixed(1)} MiB per answer (${latency.samples} requests)`);
      checkAlive();
      return latency;
    };

    let simMaxElu = 0;
    let simStatusMaxMs = 0;
    let simHeartbeatMaxMs = 0;

    /** Posts `total` tasks over the apps `${prefix}-<i>` and follows them to RUNNING. */
    const ramp = async (total: number, prefix: string): Promise<RampResult> => {
      const apps = Math.min(appCount, total);
      const launchedBefore = simTotals(sims)?.launches ?? 0;
      const before = usage();
      log(`ramp ${prefix}: ${total} tasks over ${apps} apps (instances ${Math.floor(total / apps)}${total % apps === 0 ? '' : '+1'})`);
      const start = performance.now();
      const fromUs = monotonicMicros();
      let finished = false;
      const pinging = pingWhile(http, () => finished);
      // A deploy tool posts a few at a time; the scheduler commits them one by one anyway.
      let postsMs = NaN;
      let postError: unknown;
      const posting = inParallel(apps, POST_CONCURRENCY, async (i) => {
        const instances = Math.floor(total / apps) + (i < total % apps ? 1 : 0);
        await http.expect('POST', '/v2/apps', { id: `${prefix}-${i}`, cmd: 'sleep 100000', instances, cpus: 0.01, mem: 1, disk: 0, portDefinitions: [] }, 201);
      }).then(() => {
        postsMs = performance.now() - start;
      }, (err: unknown) => {
        postError = err;
      });
      let allLaunchedMs = NaN;
      let lastRunning = 0;
      let lastAt = start;
      let nextProgress = start + 1000;
      const deadline = start + phaseMs;
      // If the tally lost events (cut off as too slow, and too far behind to resume), the API's counts decide.
      let polledAt = 0;
      let polled = 0;
      const runningNow = async (): Promise<number> => {
        if (!events.lostEvents) return events.running(prefix);
        if (performance.now() - polledAt >= 250) {
          polledAt = performance.now();
          polled = await apiRunning(http, prefix);
        }
        return polled;
      };
      while ((await runningNow()) < total && performance.now() < deadline) {
        checkAlive();
        if (postError !== undefined) throw postError;
        await sleep(20);
        const sim = simTotals(sims);
        if (Number.isNaN(allLaunchedMs) && sim !== undefined && sim.launches - launchedBefore >= total) allLaunchedMs = performance.now() - start;
        if (performance.now() >= nextProgress) {
          const now = performance.now();
          nextProgress = now + 1000;
          const running = await runningNow();
          const s = usage().scheduler;
          simMaxElu = Math.max(simMaxElu, sim?.elu ?? 0);
          simStatusMaxMs = Math.max(simStatusMaxMs, sim?.statusMaxMs ?? 0);
          simHeartbeatMaxMs = Math.max(simHeartbeatMaxMs, sim?.heartbeatMaxMs ?? 0);
          log(`ramp ${prefix}: ${seconds(now - start)}  ${Number.isNaN(postsMs) ? 'posting, ' : ''}RUNNING ${running}/${total} (+${(((running - lastRunning) * 1000) / (now - lastAt)).toFixed(0)}/s)`
            + `  sim: launched ${(sim?.launches ?? 0) - launchedBefore}, acked ${sim?.updatesAcked ?? 0}/${sim?.updatesQueued ?? 0} updates, status rtt max ${millis(sim?.statusMaxMs ?? NaN)}, heartbeat rtt max ${millis(sim?.heartbeatMaxMs ?? NaN)}, elu ${(sim?.elu ?? 0).toFixed(2)}`
            + `  scheduler ${mib(s?.rssKiB ?? NaN).toFixed(0)} MiB, cpu ${seconds((s?.cpuMs ?? NaN) - (before.scheduler?.cpuMs ?? NaN))}`);
          lastRunning = running;
          lastAt = now;
        }
      }
      const end = performance.now();
      const window = { fromUs, toUs: monotonicMicros() };
      finished = true;
      const ping = await pinging;
      const after = usage();
      // Bounded: the POSTs were answered long ago unless the scheduler is stuck, and then the phase has timed out.
      await Promise.race([posting, sleep(30_000)]);
      const running = await runningNow();
      const elapsedMs = end - start;
      // The simulators report their counts once a second; with every task running, every launch
      // was sent by the end (so this is an upper bound) even if no report said so yet.
      if (Number.isNaN(allLaunchedMs) && running >= total) allLaunchedMs = elapsedMs;
      const result: RampResult = {
        tasks: total,
        apps,
        running,
        toAllRunningMs: running >= total ? elapsedMs : NaN,
        elapsedMs,
        perSecond: (running * 1000) / elapsedMs,
        postsMs,
        allLaunchedMs,
        schedulerCpuMs: (after.scheduler?.cpuMs ?? NaN) - (before.scheduler?.cpuMs ?? NaN),
        window,
        ping,
        simCpuMs: after.sim - before.sim,
        schedulerRssMiB: mib(after.scheduler?.rssKiB ?? NaN),
        schedulerPeakRssMiB: mib(after.scheduler?.peakRssKiB ?? NaN),
      };
      log(running >= total
        ? `ramp ${prefix}: all ${total} RUNNING after ${seconds(elapsedMs)} = ${result.perSecond.toFixed(0)}/s; scheduler RSS ${result.schedulerRssMiB.toFixed(0)} MiB`
        : `ramp ${prefix}: GAVE UP after ${seconds(elapsedMs)} with ${running}/${total} RUNNING = ${result.perSecond.toFixed(0)}/s; scheduler RSS ${result.schedulerRssMiB.toFixed(0)} MiB`);
      return result;
    };

    const remove = async (total: number, prefix: string, apps: number): Promise<DeleteResult> => {
      log(`delete ${prefix}: DELETE ${apps} apps (force), waiting for ${total} TASK_KILLED`);
      const endedBefore = events.ended(prefix);
      const start = performance.now();
      await inParallel(apps, POST_CONCURRENCY, (i) => http.expect('DELETE', `/v2/apps/${prefix.slice(1)}-${i}?force=true`, undefined, 200));
      let nextProgress = start + 1000;
      while (events.ended(prefix) - endedBefore < total && performance.now() < start + phaseMs) {
        checkAlive();
        await sleep(20);
        if (performance.now() >= nextProgress) {
          nextProgress = performance.now() + 1000;
          log(`delete ${prefix}: ${seconds(performance.now() - start)}  ended ${events.ended(prefix) - endedBefore}/${total}, still RUNNING ${events.running(prefix)}`);
        }
      }
      const killed = events.ended(prefix) - endedBefore;
      const ms = killed >= total ? performance.now() - start : NaN;
      log(`delete ${prefix}: ${killed}/${total} ended after ${seconds(performance.now() - start)}`);
      return { tasks: total, killed, ms };
    };

    // 1. Writes on an empty cluster.
    const postEmpty = await postSeries('POST on an empty cluster', '/post-empty');

    // 2. The 10,000-task point, on its own.
    let tenK: SchedulerBenchResult['tenK'];
    if ((options.tenK ?? true) && tasks > TEN_K) {
      const rampTenK = await ramp(TEN_K, '/tenk');
      const getTenK = await getSeries(`GET at ${rampTenK.running} tasks`);
      const removed = await remove(TEN_K, '/tenk', rampTenK.apps);
      tenK = { ramp: rampTenK, get: getTenK, remove: removed };
    }

    // 3. The full size.
    const full = await ramp(tasks, '/full');
    simMaxElu = Math.max(simMaxElu, simTotals(sims)?.elu ?? 0);
    const getFull = await getSeries(`GET at ${full.running} tasks`);
    const postLoaded = await postSeries(`POST with ${full.running} tasks running`, '/post-loaded');

    const eventResumes = events.resumes;
    const lostEvents = events.lostEvents;
    tally.close();
    tally = undefined;
    log('stopping the simulator and the scheduler');
    for (const sim of sims) sim.child.kill('SIGTERM');
    await Promise.all(sims.map((s) => Promise.race([s.exited, sleep(10_000).then(() => s.child.kill('SIGKILL'))])));
    await stopParts(parts.splice(0), 60_000);
    let profile: ProfileSummary | undefined;
    if (options.profile === true) {
      const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(profileDir, f));
      const largest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
      if (largest !== undefined) profile = summarizeProfile(largest, ROOT, 25, full.window);
      log(`profile: ${largest ?? 'none written'}`);
    }
    const result: SchedulerBenchResult = {
      revision: measured, store, agents, tasks, simProcesses: simCount, registerMs, postEmpty, tenK, full, getFull, postLoaded,
      simMaxElu, simStatusMaxMs, simHeartbeatMaxMs, eventResumes, lostEvents, profile, logDir: dir,
    };
    failed = !Number.isFinite(full.toAllRunningMs);
    for (const line of formatSchedulerBench(result)) (options.table ?? log)(line);
    return result;
  } finally {
    tally?.close();
    api?.close();
    for (const sim of sims) if (sim.child.exitCode === null && sim.child.signalCode === null) sim.child.kill('SIGKILL');
    await stopParts(parts, 30_000);
    if (failed || options.keep === true || options.profile === true) log(`kept ${dir} (scheduler.log, sim-*.log, data dir${options.profile === true ? ', profiles' : ''})`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** The results table, one line per string: figure, then target. */
export function formatSchedulerBench(result: SchedulerBenchResult): string[] {
  const row = (label: string, figure: string, target = ''): string => `${label.padEnd(52)} ${figure.padStart(22)}  ${target}`;
  const rampRows = (ramp: RampResult, target: string): string[] => [
    row(`POST ${ramp.apps} apps -> ${ramp.tasks} TASK_RUNNING`, Number.isFinite(ramp.toAllRunningMs) ? seconds(ramp.toAllRunningMs) : `GAVE UP at ${seconds(ramp.elapsedMs)}`),
    row('  tasks placed -> RUNNING per second', `${ramp.perSecond.toFixed(0)}/s`, target),
    ...(Number.isFinite(ramp.toAllRunningMs) ? [] : [row('  RUNNING when it gave up', `${ramp.running}/${ramp.tasks}`)]),
    row('  all launches sent to agents after (at most)', seconds(ramp.allLaunchedMs)),
    row(`  the ${ramp.apps} app POSTs took`, seconds(ramp.postsMs)),
    row('  GET /ping meanwhile p50 / p99 / max', `${millis(ramp.ping.p50Ms)} / ${millis(ramp.ping.p99Ms)} / ${millis(ramp.ping.maxMs)}`, 'how long the API keeps callers waiting during the ramp'),
    row('  CPU time: scheduler / simulator', `${seconds(ramp.schedulerCpuMs)} / ${seconds(ramp.simCpuMs)}`),
    row(`  scheduler RSS at ${ramp.running} tasks (peak)`, `${ramp.schedulerRssMiB.toFixed(0)} (${ramp.schedulerPeakRssMiB.toFixed(0)}) MiB`, ramp.tasks >= 100_000 ? 'target <= 1024 MiB at 100,000' : ''),
  ];
  const latencyRow = (label: string, latency: Latency | undefined, target: string): string =>
    latency === undefined ? row(label, 'n/a') : row(label, `${millis(latency.p50Ms)} / ${millis(latency.p99Ms)}`, `${target}${latency.samples < 20 ? ` (${latency.samples} samples)` : ''}`);
  const { full, tenK } = result;
  const lines = [
    '',
    `scheduler bench (${result.store} store): corral ${result.revision}, ${result.agents} simulated agents (${result.simProcesses} process), ${result.tasks} tasks over ${full.apps} apps; ${process.platform} ${process.arch}, node ${process.version}`,
    row('', 'figure', 'target'),
    row(`register + connect ${result.agents} agents`, seconds(result.registerMs)),
    latencyRow('POST /v2/apps p50 / p99, empty cluster (fsync)', result.postEmpty, ''),
  ];
  if (tenK !== undefined) {
    lines.push(
      ...rampRows(tenK.ramp, '(at 10,000)'),
      latencyRow(`GET /v2/apps?embed=apps.tasks p50 / p99 at ${tenK.ramp.running}`, tenK.get, 'target <= 100 ms at 10,000'),
      row(`  answer size`, `${(tenK.get.bytes / 1024 / 1024).toFixed(1)} MiB`),
      row(`DELETE ${tenK.ramp.apps} apps -> ${tenK.remove.tasks} TASK_KILLED`, Number.isFinite(tenK.remove.ms) ? seconds(tenK.remove.ms) : `GAVE UP (${tenK.remove.killed} killed)`),
      row('  kills per second', Number.isFinite(tenK.remove.ms) ? `${((tenK.remove.killed * 1000) / tenK.remove.ms).toFixed(0)}/s` : 'n/a'),
    );
  }
  lines.push(
    ...rampRows(full, 'target >= 5,000/s (Nomad C1M ~3,750/s)'),
    latencyRow(`GET /v2/apps?embed=apps.tasks p50 / p99 at ${full.running}`, result.getFull, full.tasks <= TEN_K ? 'target <= 100 ms at 10,000' : ''),
    row('  answer size', result.getFull === undefined ? 'n/a' : `${(result.getFull.bytes / 1024 / 1024).toFixed(1)} MiB`),
    latencyRow(`POST /v2/apps p50 / p99 with ${full.running} running`, result.postLoaded, ''),
    row('simulator: max event-loop use / status rtt / hb rtt', `${result.simMaxElu.toFixed(2)} / ${millis(result.simStatusMaxMs)} / ${millis(result.simHeartbeatMaxMs)}`, 'elu near 1 = the simulator, not the scheduler, limits'),
    row('event stream resumed / events lost', `${result.eventResumes} / ${result.lostEvents ? 'YES (RUNNING counted by GET /v2/apps from then on)' : 'no'}`),
  );
  if (result.profile !== undefined) lines.push(...formatProfile(result.profile, 'scheduler CPU profile (full-size ramp only)'));
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      agents: { type: 'string' },
      tasks: { type: 'string' },
      apps: { type: 'string' },
      'sim-processes': { type: 'string' },
      'phase-timeout': { type: 'string' },
      'no-10k': { type: 'boolean' },
      'log-level': { type: 'string' },
      profile: { type: 'boolean' },
      keep: { type: 'boolean' },
      stores: { type: 'string' },
    },
  });
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort(new Error('interrupted')));
  const started = Date.now();
  const number = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));
  const stores = (values.stores ?? 'file').split(',').map((name) => name.trim());
  for (const name of stores) if (name !== 'file' && name !== 'etcd') throw new Error(`--stores: file or etcd, not '${name}'`);
  const etcd = stores.includes('etcd') ? await startEtcd('bench-etcd') : undefined;
  const results: SchedulerBenchResult[] = [];
  try {
    for (const store of stores as Array<'file' | 'etcd'>) {
      results.push(await runSchedulerBench({
        log: (line) => process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s ${line}\n`),
        table: (line) => process.stdout.write(`${line}\n`),
        ...(values.agents !== undefined ? { agents: number(values.agents) } : {}),
        ...(values.tasks !== undefined ? { tasks: number(values.tasks) } : {}),
        ...(values.apps !== undefined ? { apps: number(values.apps) } : {}),
        ...(values['sim-processes'] !== undefined ? { simProcesses: number(values['sim-processes']) } : {}),
        ...(values['phase-timeout'] !== undefined ? { phaseTimeoutMs: (number(values['phase-timeout']) ?? 300) * 1000 } : {}),
        ...(values['log-level'] !== undefined ? { logLevel: values['log-level'] } : {}),
        tenK: values['no-10k'] !== true,
        profile: values.profile === true,
        keep: values.keep === true,
        signal: abort.signal,
        store,
        ...(etcd !== undefined ? { etcdUrl: etcd.url } : {}),
      }));
    }
  } finally {
    await etcd?.stop();
  }
  const [file, onEtcd] = [results.find((r) => r.store === 'file'), results.find((r) => r.store === 'etcd')];
  if (file !== undefined && onEtcd !== undefined) {
    process.stdout.write(`\netcd store vs file store: placed -> RUNNING ${onEtcd.full.perSecond.toFixed(0)}/s vs ${file.full.perSecond.toFixed(0)}/s `
      + `(${((100 * onEtcd.full.perSecond) / file.full.perSecond).toFixed(0)}%, target >= 50%); POST p50 / p99 on an empty cluster `
      + `${onEtcd.postEmpty.p50Ms.toFixed(1)} / ${onEtcd.postEmpty.p99Ms.toFixed(1)} ms vs ${file.postEmpty.p50Ms.toFixed(1)} / ${file.postEmpty.p99Ms.toFixed(1)} ms\n`);
  }
}
