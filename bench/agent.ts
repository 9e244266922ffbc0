/**
 * `node --import tsx bench/agent.ts [--tasks N] [--short-seconds S] [--no-reference] [--keep] [--profile]`:
 * one real scheduler and ONE real agent (child processes, cgroups when the machine has them).
 *
 * 1. Long-running: one app of N (default 1000, or BENCH_AGENT_TASKS) `sleep 100000` tasks —
 *    time from the POST until the N-th TASK_RUNNING event, the agent's and the scheduler's RSS
 *    at that point, then the time from DELETE until the scheduler lists no task, the agent's
 *    /state lists none and no task process is left.
 * 2. Short-lived: one app of N `true` tasks with backoffSeconds 0, so every exit is replaced
 *    at once — time to the first TASK_FINISHED, then TASK_FINISHED events per second over the
 *    next S seconds (default 10), then DELETE and the time until the agent is back to zero tasks.
 *
 * Reference (the floor of what is possible here): a tiny Node script spawning the same N
 * `sh -c 'sleep 100000'` process groups, killing them, and relaunching `sh -c true` N at a time,
 * with no sandboxes, checkpoints, cgroups, HTTP or scheduler. It runs first, alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, realpathSync, rmSync, rmdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import type { TaskState } from '../src/events/types.ts';
import { spawnPart, stopParts, type PartProcess } from '../src/cli/child-process.ts';
import { startPart, tempDir } from '../test/support/parts.ts';
import { followStatusUpdates, type ArrivedStatus, type StatusFollower } from './support-events.ts';
import { mib, pidsCarrying, procUsage, type ProcUsage } from './support-proc.ts';

export interface AgentBenchOptions {
  log: (line: string) => void;
  /** Tasks per phase; default BENCH_AGENT_TASKS or 1000. */
  tasks?: number;
  /** Length of the short-lived window (from the first TASK_FINISHED); default 10 s. */
  shortSeconds?: number;
  /** Run the plain-Node reference first (default true). */
  reference?: boolean;
  /** Keep the temp dir (logs, sandboxes) even when everything went well. */
  keep?: boolean;
  signal?: AbortSignal;
  /** Run the scheduler and the agent under --cpu-prof; the profiles land in <logDir>/profiles. */
  profile?: boolean;
  /** Where the results table goes; default `log`. */
  table?: (line: string) => void;
}

export interface ReferenceResult {
  spawnMs: number;
  killMs: number;
  rssMiB: number;
  shortExitsPerSecond: number;
}

export interface AgentBenchResult {
  tasks: number;
  isolation: string;
  long: {
    /** How many reached TASK_RUNNING (the target is `tasks`). */
    running: number;
    /** POST → N-th TASK_RUNNING event; NaN when not all got there. */
    toAllRunningMs: number;
    /** POST → first TASK_RUNNING event. */
    toFirstRunningMs: number;
    agentRssMiB: number;
    agentPeakRssMiB: number;
    schedulerRssMiB: number;
    schedulerPeakRssMiB: number;
    /** CPU time each process spent from POST to all running. */
    agentCpuMs: number;
    schedulerCpuMs: number;
    /** DELETE → scheduler, agent and process table empty; NaN on timeout. */
    killMs: number;
    /** DELETE → last TASK_KILLED event. */
    killEventsMs: number;
    killAgentCpuMs: number;
    killSchedulerCpuMs: number;
  };
  short: {
    /** POST → first TASK_FINISHED event: the first burst of launches has to get through first. */
    toFirstFinishedMs: number;
    windowMs: number;
    finished: number;
    launched: number;
    /** TASK_FINISHED events per second over the window that opens at the first one. */
    finishedPerSecond: number;
    /** The same window by the agent's own counters: processes started, and tasks that finished. */
    agentLaunchesPerSecond: number;
    agentExitsPerSecond: number;
    agentCpuMs: number;
    schedulerCpuMs: number;
    /** DELETE → agent back to zero tasks and no task process left; NaN on timeout. */
    drainMs: number;
  };
  reference: ReferenceResult | undefined;
  /** Processes or cgroups of this run found (and removed) after everything was stopped. */
  leftovers: { processes: number; cgroups: number };
  logDir: string;
}

const CLI = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

/** Per app: each task's last state and how many updates of each state arrived. */
class AppTally {
  readonly last = new Map<string, TaskState>();
  readonly seen = new Map<TaskState, number>();
  running = 0;
  firstRunningAt = NaN;
  allRunningAt = NaN;
  firstFinishedAt = NaN;
  lastKilledAt = NaN;
  readonly #target: number;

  constructor(target: number) {
    this.#target = target;
  }

  apply({ event, at }: ArrivedStatus): void {
    const state = event.taskStatus;
    const previous = this.last.get(event.taskId);
    this.last.set(event.taskId, state);
    this.seen.set(state, this.count(state) + 1);
    if (previous === 'TASK_RUNNING') this.running -= 1;
    if (state === 'TASK_RUNNING') {
      this.running += 1;
      if (Number.isNaN(this.firstRunningAt)) this.firstRunningAt = at;
      if (this.running >= this.#target && Number.isNaN(this.allRunningAt)) this.allRunningAt = at;
    }
    if (state === 'TASK_FINISHED' && Number.isNaN(this.firstFinishedAt)) this.firstFinishedAt = at;
    if (state === 'TASK_KILLED') this.lastKilledAt = at;
  }

  count(state: TaskState): number {
    return this.seen.get(state) ?? 0;
  }
}

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const response = await request(url, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await response.body.text();
  return { status: response.statusCode, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

async function expectStatus(method: 'POST' | 'DELETE', url: string, body: unknown, wanted: number[]): Promise<void> {
  const { status, json } = await call(method, url, body);
  if (!wanted.includes(status)) throw new Error(`${method} ${url} answered ${status}: ${JSON.stringify(json)}`);
}

/** Tasks the scheduler still lists, and tasks the agent still runs. */
async function taskCounts(api: string, agentEndpoint: string): Promise<{ scheduler: number; agent: number }> {
  const [tasks, state] = await Promise.all([call('GET', `${api}/v2/tasks`), call('GET', `${agentEndpoint}/state`)]);
  return {
    scheduler: (tasks.json as { tasks: unknown[] }).tasks.length,
    agent: (state.json as { tasks: unknown[] }).tasks.length,
  };
}

/** The agent's own launch and exit counters (Prometheus text from its /metrics). */
async function agentCounters(endpoint: string): Promise<{ at: number; launches: number; finished: number }> {
  const { body } = await request(`${endpoint}/metrics`, { headersTimeout: 30_000, bodyTimeout: 30_000 });
  const text = await body.text();
  const value = (pattern: RegExp): number => Number(pattern.exec(text)?.[1] ?? NaN);
  return {
    at: performance.now(),
    launches: value(/^corral_agent_task_launches_total (\S+)$/m),
    finished: value(/^corral_agent_task_exits_total\{state="TASK_FINISHED"\} (\S+)$/m),
  };
}

const seconds = (ms: number): string => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');

/** Samples the two parts once a second for progress lines: RSS and CPU share since the last sample. */
class PartSampler {
  readonly #pids: { agent: number; scheduler: number };
  #previous: { at: number; agent: ProcUsage | undefined; scheduler: ProcUsage | undefined };

  constructor(pids: { agent: number; scheduler: number }) {
    this.#pids = pids;
    this.#previous = this.#read();
  }

  #read(): { at: number; agent: ProcUsage | undefined; scheduler: ProcUsage | undefined } {
    return { at: performance.now(), agent: procUsage(this.#pids.agent), scheduler: procUsage(this.#pids.scheduler) };
  }

  now(): { agent: ProcUsage | undefined; scheduler: ProcUsage | undefined } {
    const { agent, scheduler } = this.#read();
    return { agent, scheduler };
  }

  /** "agent 210 MiB 85% cpu, scheduler 130 MiB 40% cpu" since the previous line. */
  line(): string {
    const next = this.#read();
    const elapsed = next.at - this.#previous.at;
    const part = (name: string, before: ProcUsage | undefined, after: ProcUsage | undefined): string =>
      after === undefined ? `${name} gone` : `${name} ${mib(after.rssKiB).toFixed(0)} MiB ${before === undefined ? '?' : (((after.cpuMs - before.cpuMs) / elapsed) * 100).toFixed(0)}% cpu`;
    const text = `${part('agent', this.#previous.agent, next.agent)}, ${part('scheduler', this.#previous.scheduler, next.scheduler)}`;
    this.#previous = next;
    return text;
  }
}

/**
 * Polls `done` every `pollMs` until it holds or `timeoutMs` passes, logging `progress()` about
 * once a second. Resolves with the ms from `since` until `done` first held, NaN on timeout.
 */
async function until(options: {
  done: () => boolean | Promise<boolean>;
  since: number;
  timeoutMs: number;
  pollMs: number;
  progress: () => string;
  log: (line: string) => void;
  signal: AbortSignal | undefined;
}): Promise<number> {
  const deadline = options.since + options.timeoutMs;
  let nextProgress = performance.now() + 1000;
  while (performance.now() < deadline) {
    options.signal?.throwIfAborted();
    if (await options.done()) return performance.now() - options.since;
    if (performance.now() >= nextProgress) {
      options.log(options.progress());
      nextProgress += 1000;
    }
    await sleep(options.pollMs);
  }
  options.log(`${options.progress()}  -- gave up after ${seconds(options.timeoutMs)}`);
  return NaN;
}

/** The plain-Node floor: see the file comment. Prints one JSON line. */
const REFERENCE_SCRIPT = `
const { spawn } = require('node:child_process');
const { readFileSync } = require('node:fs');
const n = Number(process.argv[1]);
const shortMs = Number(process.argv[2]);
const env = { PATH: process.env.PATH, BENCH_MARKER: process.argv[3] };
const rssKiB = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))[1]);
const start = (cmd) => spawn('/bin/sh', ['-c', cmd], { detached: true, stdio: 'ignore', env });
(async () => {
  const t0 = performance.now();
  const children = [];
  await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const child = start('sleep 100000');
    children.push(child);
    child.once('spawn', resolve);
    child.once('error', reject);
  })));
  const spawnMs = performance.now() - t0;
  const rss = rssKiB();
  const t1 = performance.now();
  await Promise.all(children.map((child) => new Promise((resolve) => {
    child.once('exit', resolve);
    process.kill(-child.pid, 'SIGTERM');
  })));
  const killMs = performance.now() - t1;
  let finished = 0;
  let live = 0;
  let stopping = false;
  const t2 = performance.now();
  await new Promise((resolve) => {
    const launch = () => {
      live += 1;
      start('true').once('exit', () => {
        live -= 1;
        finished += 1;
        // Relaunched on the next turn: spawning from inside an exit callback can keep libuv's
        // child-reaping loop busy forever when the new child exits at once.
        if (!stopping) setImmediate(launch);
        else if (live === 0) resolve();
      });
    };
    for (let i = 0; i < n; i += 1) launch();
    setTimeout(() => (stopping = true), shortMs);
  });
  const shortElapsed = performance.now() - t2;
  process.stdout.write(JSON.stringify({ spawnMs, killMs, rssMiB: rss / 1024, shortExitsPerSecond: finished / (shortElapsed / 1000) }) + '\\n');
})();
`;

async function runReference(tasks: number, shortMs: number, marker: string, track: (child: ChildProcess) => void): Promise<ReferenceResult> {
  const child = spawn(process.execPath, ['-e', REFERENCE_SCRIPT, String(tasks), String(shortMs), marker], { stdio: ['ignore', 'pipe', 'inherit'] });
  track(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000 + tasks * 50);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`the reference script exited with ${String(code)}`);
  return JSON.parse(output) as ReferenceResult;
}

/** Where the agent makes its task cgroups under `parent`, for each hierarchy this machine may have. */
function cgroupParents(parent: string): string[] {
  const root = '/sys/fs/cgroup';
  const candidates = [join(root, parent)];
  for (const hierarchy of ['memory', 'cpu']) {
    try {
      candidates.push(join(realpathSync(join(root, hierarchy)), parent));
    } catch {
      // no such v1 hierarchy
    }
  }
  return [...new Set(candidates)].filter((dir) => existsSync(dir));
}

/** Removes the bench's cgroup parents; returns how many task cgroups were still in them. */
function removeCgroups(parent: string): number {
  let left = 0;
  for (const dir of cgroupParents(parent)) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      left += 1;
      try {
        rmdirSync(join(dir, entry.name));
      } catch {
        // still has processes: reported as a leftover
      }
    }
    try {
      rmdirSync(dir);
    } catch {
      // idem
    }
  }
  return left;
}

export async function runAgentBench(options: AgentBenchOptions): Promise<AgentBenchResult> {
  const { log, signal } = options;
  const tasks = options.tasks ?? Number(process.env.BENCH_AGENT_TASKS ?? 1000);
  if (!Number.isInteger(tasks) || tasks < 1) throw new Error(`--tasks must be a positive integer, not ${tasks}`);
  const shortMs = (options.shortSeconds ?? 10) * 1000;
  const dir = tempDir('corral-bench-agent-');
  const marker = basename(dir);
  const workDir = join(dir, 'agent');
  const cgroupsParent = marker;
  const parts: PartProcess[] = [];
  const others: ChildProcess[] = [];
  let follower: StatusFollower | undefined;
  let failed = true;
  let cleaned = false;

  let reference: ReferenceResult | undefined;
  try {
    if (options.reference ?? true) {
      log(`reference: plain node spawning ${tasks} 'sh -c "sleep 100000"' process groups, killing them, then relaunching 'sh -c true' ${tasks} at a time for ${seconds(shortMs / 2)}`);
      reference = await runReference(tasks, shortMs / 2, marker, (child) => others.push(child));
      log(`reference: ${tasks} spawned in ${seconds(reference.spawnMs)}, killed in ${seconds(reference.killMs)}, rss ${reference.rssMiB.toFixed(0)} MiB, ${reference.shortExitsPerSecond.toFixed(0)} short-lived exits/s`);
    }

    log(`starting a scheduler and one agent (logs and work dirs in ${dir})`);
    const start = (name: string, args: string[]): Promise<PartProcess> => options.profile !== true ? startPart(name, args, dir)
      : spawnPart({ name, args, logFile: join(dir, `${name}.log`), entry: ['--import', 'tsx', '--cpu-prof', '--cpu-prof-dir', join(dir, 'profiles'), CLI] });
    const scheduler = await start('scheduler', ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler')]);
    parts.push(scheduler);
    const api = String(scheduler.ready.api);
    const agent = await start('agent', ['agent', '--master', api, '--ip', '127.0.0.11', '--work-dir', workDir,
      '--resources', 'cpus:64;mem:262144;disk:10000;ports:[40000-40999]', '--cgroups-parent', cgroupsParent]);
    parts.unshift(agent); // stopped first: it kills its tasks and reports them while the scheduler still listens
    const endpoint = String(agent.ready.endpoint);
    const isolation = String(agent.ready.isolation ?? 'unknown');
    const pids = { agent: agent.child.pid ?? 0, scheduler: scheduler.child.pid ?? 0 };
    log(`scheduler ${api} (pid ${pids.scheduler}), agent ${endpoint} (pid ${pids.agent}, isolation ${isolation})`);
    // The agent registers after its ready line: wait until the scheduler knows it.
    const registeredMs = await until({
      done: async () => ((await call('GET', `${api}/corral/v1/agents`)).json as { agents?: Array<{ connected: boolean }> } | undefined)?.agents?.some((a) => a.connected) === true,
      since: performance.now(), timeoutMs: 10_000, pollMs: 50, progress: () => 'waiting for the agent to register', log, signal,
    });
    if (Number.isNaN(registeredMs)) throw new Error(`the agent did not register; see ${join(dir, 'agent.log')}`);

    const tallies = new Map<string, AppTally>();
    follower = await followStatusUpdates(api, (status) => tallies.get(status.event.appId)?.apply(status));
    const sampler = new PartSampler(pids);
    const taskProcessMarker = join(workDir, 'sandboxes');
    const allGone = async (): Promise<boolean> => {
      const counts = await taskCounts(api, endpoint);
      return counts.scheduler === 0 && counts.agent === 0 && pidsCarrying(taskProcessMarker).length === 0;
    };

    // 1. Long-running.
    const long = new AppTally(tasks);
    tallies.set('/bench-long', long);
    log(`long-running: POST /bench-long, ${tasks} x 'sleep 100000'`);
    const longStart = sampler.now();
    const t0 = performance.now();
    await expectStatus('POST', `${api}/v2/apps`, { id: '/bench-long', instances: tasks, cmd: 'sleep 100000', cpus: 0.01, mem: 1, portDefinitions: [] }, [201]);
    await until({
      done: () => long.running >= tasks || follower?.error !== undefined,
      since: t0, timeoutMs: 60_000 + tasks * 150, pollMs: 20, log, signal,
      progress: () => `long-running: ${seconds(performance.now() - t0)}  running ${long.running}/${tasks}, starting ${long.count('TASK_STARTING') - long.count('TASK_RUNNING')}, failed ${long.count('TASK_FAILED')}; ${sampler.line()}`,
    });
    if (follower.error !== undefined) throw follower.error;
    const atRunning = sampler.now();
    const longResult: AgentBenchResult['long'] = {
      running: long.running,
      toAllRunningMs: long.allRunningAt - t0,
      toFirstRunningMs: long.firstRunningAt - t0,
      agentRssMiB: mib(atRunning.agent?.rssKiB ?? NaN),
      agentPeakRssMiB: mib(atRunning.agent?.peakRssKiB ?? NaN),
      schedulerRssMiB: mib(atRunning.scheduler?.rssKiB ?? NaN),
      schedulerPeakRssMiB: mib(atRunning.scheduler?.peakRssKiB ?? NaN),
      agentCpuMs: (atRunning.agent?.cpuMs ?? NaN) - (longStart.agent?.cpuMs ?? NaN),
      schedulerCpuMs: (atRunning.scheduler?.cpuMs ?? NaN) - (longStart.scheduler?.cpuMs ?? NaN),
      killMs: NaN,
      killEventsMs: NaN,
      killAgentCpuMs: NaN,
      killSchedulerCpuMs: NaN,
    };
    log(`long-running: ${long.running}/${tasks} running after ${seconds(longResult.toAllRunningMs)}; agent rss ${longResult.agentRssMiB.toFixed(0)} MiB, scheduler rss ${longResult.schedulerRssMiB.toFixed(0)} MiB`);

    log('long-running: DELETE /v2/apps/bench-long');
    const t1 = performance.now();
    await expectStatus('DELETE', `${api}/v2/apps/bench-long?force=true`, undefined, [200]);
    longResult.killMs = await until({
      done: allGone, since: t1, timeoutMs: 60_000 + tasks * 100, pollMs: 100, log, signal,
      progress: () => `kill: ${seconds(performance.now() - t1)}  killing ${long.count('TASK_KILLING')}, killed ${long.count('TASK_KILLED')}/${tasks}; ${sampler.line()}`,
    });
    const afterKill = sampler.now();
    longResult.killEventsMs = long.lastKilledAt - t1;
    longResult.killAgentCpuMs = (afterKill.agent?.cpuMs ?? NaN) - (atRunning.agent?.cpuMs ?? NaN);
    longResult.killSchedulerCpuMs = (afterKill.scheduler?.cpuMs ?? NaN) - (atRunning.scheduler?.cpuMs ?? NaN);
    log(`kill: all gone after ${seconds(longResult.killMs)} (last TASK_KILLED event after ${seconds(longResult.killEventsMs)})`);

    // 2. Short-lived. The first launches come as one burst, and exits are only seen once it is
    // through, so the rate is measured over a window that opens at the first TASK_FINISHED.
    const short = new AppTally(tasks);
    tallies.set('/bench-short', short);
    log(`short-lived: POST /bench-short, ${tasks} x 'true', backoffSeconds 0; then ${seconds(shortMs)} from the first TASK_FINISHED`);
    const t2 = performance.now();
    await expectStatus('POST', `${api}/v2/apps`, { id: '/bench-short', instances: tasks, cmd: 'true', cpus: 0.01, mem: 1, portDefinitions: [], backoffSeconds: 0 }, [201]);
    let lastFinished = 0;
    const shortProgress = (since: number) => (): string => {
      const finished = short.count('TASK_FINISHED');
      const line = `short-lived: ${seconds(performance.now() - since)}  finished ${finished} (+${finished - lastFinished}), STARTING events ${short.count('TASK_STARTING')}, running now ${short.running}; ${sampler.line()}`;
      lastFinished = finished;
      return line;
    };
    const toFirstFinishedMs = await until({
      done: () => short.count('TASK_FINISHED') > 0 || follower?.error !== undefined,
      since: t2, timeoutMs: 60_000 + tasks * 100, pollMs: 20, log, signal, progress: shortProgress(t2),
    });
    if (follower.error !== undefined) throw follower.error;
    const countersAtStart = await agentCounters(endpoint);
    const windowStart = performance.now();
    const shortStart = sampler.now();
    const before = { finished: short.count('TASK_FINISHED'), launched: short.count('TASK_STARTING') };
    if (Number.isFinite(toFirstFinishedMs)) {
      await until({
        done: () => follower?.error !== undefined,
        since: windowStart, timeoutMs: shortMs, pollMs: 50, log, signal, progress: shortProgress(windowStart),
      });
    }
    if (follower.error !== undefined) throw follower.error;
    const windowMs = performance.now() - windowStart;
    const shortEnd = sampler.now();
    const countersAtEnd = await agentCounters(endpoint);
    const countersSeconds = (countersAtEnd.at - countersAtStart.at) / 1000;
    const finished = short.count('TASK_FINISHED') - before.finished;
    const shortResult: AgentBenchResult['short'] = {
      toFirstFinishedMs,
      windowMs,
      finished,
      launched: short.count('TASK_STARTING') - before.launched,
      finishedPerSecond: finished / (windowMs / 1000),
      agentLaunchesPerSecond: (countersAtEnd.launches - countersAtStart.launches) / countersSeconds,
      agentExitsPerSecond: (countersAtEnd.finished - countersAtStart.finished) / countersSeconds,
      agentCpuMs: (shortEnd.agent?.cpuMs ?? NaN) - (shortStart.agent?.cpuMs ?? NaN),
      schedulerCpuMs: (shortEnd.scheduler?.cpuMs ?? NaN) - (shortStart.scheduler?.cpuMs ?? NaN),
      drainMs: NaN,
    };
    log(`short-lived: ${finished} finished in ${seconds(shortResult.windowMs)} = ${shortResult.finishedPerSecond.toFixed(1)}/s; DELETE /v2/apps/bench-short`);
    const t3 = performance.now();
    // COMPAT(marathon): its deployment never finishes (tasks keep ending), so the delete must be forced.
    await expectStatus('DELETE', `${api}/v2/apps/bench-short?force=true`, undefined, [200]);
    shortResult.drainMs = await until({
      done: allGone, since: t3, timeoutMs: 60_000 + tasks * 100, pollMs: 100, log, signal,
      progress: () => `short-lived drain: ${seconds(performance.now() - t3)}  running now ${short.running}; ${sampler.line()}`,
    });
    log(`short-lived: agent back to zero tasks after ${seconds(shortResult.drainMs)}`);

    follower.close();
    follower = undefined;
    await stopParts(parts.splice(0), 10_000);
    const leftovers = cleanUp(marker, cgroupsParent, log);
    cleaned = true;
    const result: AgentBenchResult = { tasks, isolation, long: longResult, short: shortResult, reference, leftovers, logDir: dir };
    failed = !(Number.isFinite(longResult.toAllRunningMs) && Number.isFinite(longResult.killMs) && Number.isFinite(shortResult.drainMs)) || leftovers.processes + leftovers.cgroups > 0;
    for (const line of formatAgentBench(result)) (options.table ?? log)(line);
    return result;
  } finally {
    follower?.close();
    for (const child of others) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await stopParts(parts, 10_000);
    // The reference's process groups and the agent's tasks carry the marker too.
    if (!cleaned) cleanUp(marker, cgroupsParent, log);
    if (failed || options.keep === true) log(`kept ${dir} (scheduler.log, agent.log, work dirs)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** SIGKILLs whatever of this run is still alive and removes its cgroups; says what it found. */
function cleanUp(marker: string, cgroupsParent: string, log: (line: string) => void): { processes: number; cgroups: number } {
  const pids = pidsCarrying(marker);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  const cgroups = removeCgroups(cgroupsParent);
  if (pids.length + cgroups > 0) log(`LEFTOVERS: ${pids.length} processes [${pids.join(', ')}] killed, ${cgroups} task cgroups left`);
  else log(`clean: no process carries ${marker}, no task cgroup left`);
  return { processes: pids.length, cgroups };
}

/** The results table, one line per string. */
export function formatAgentBench(result: AgentBenchResult): string[] {
  const { long, short, reference: ref, tasks } = result;
  const ratio = (ours: number, floor: number | undefined, higherIsBetter = false): string =>
    floor === undefined || !Number.isFinite(ours) || !Number.isFinite(floor) || floor === 0 ? '' : `${(higherIsBetter ? floor / ours : ours / floor).toFixed(1)}x slower`;
  const row = (label: string, ours: string, floor = '', versus = ''): string => `${label.padEnd(44)} ${ours.padStart(14)}  ${floor.padStart(12)}  ${versus}`;
  const perSecond = (count: number, ms: number): number => (count * 1000) / ms;
  return [
    '',
    `agent bench: ${tasks} tasks on one agent (isolation ${result.isolation}), 1 scheduler, ${process.platform} ${process.arch}`,
    row('', 'corral', 'plain node', 'ratio'),
    row(`long-running: POST -> ${tasks} TASK_RUNNING`, seconds(long.toAllRunningMs), ref === undefined ? '' : seconds(ref.spawnMs), ratio(long.toAllRunningMs, ref?.spawnMs)),
    row('  launches per second', perSecond(tasks, long.toAllRunningMs).toFixed(0), ref === undefined ? '' : perSecond(tasks, ref.spawnMs).toFixed(0)),
    row('  POST -> first TASK_RUNNING', seconds(long.toFirstRunningMs)),
    row(`  agent RSS at ${tasks} running (peak)`, `${long.agentRssMiB.toFixed(0)} (${long.agentPeakRssMiB.toFixed(0)}) MiB`, ref === undefined ? '' : `${ref.rssMiB.toFixed(0)} MiB`),
    row(`  scheduler RSS at ${tasks} running (peak)`, `${long.schedulerRssMiB.toFixed(0)} (${long.schedulerPeakRssMiB.toFixed(0)}) MiB`),
    row('  CPU time: agent / scheduler', `${seconds(long.agentCpuMs)} / ${seconds(long.schedulerCpuMs)}`),
    row(`kill: DELETE -> 0 tasks, 0 processes`, seconds(long.killMs), ref === undefined ? '' : seconds(ref.killMs), ratio(long.killMs, ref?.killMs)),
    row('  DELETE -> last TASK_KILLED event', seconds(long.killEventsMs)),
    row('  CPU time: agent / scheduler', `${seconds(long.killAgentCpuMs)} / ${seconds(long.killSchedulerCpuMs)}`),
    row('short-lived: POST -> first TASK_FINISHED', seconds(short.toFirstFinishedMs)),
    row(`  TASK_FINISHED per second after that`, short.finishedPerSecond.toFixed(1), ref === undefined ? '' : ref.shortExitsPerSecond.toFixed(0), ratio(short.finishedPerSecond, ref?.shortExitsPerSecond, true)),
    row('  agent: launches / exits per second', `${short.agentLaunchesPerSecond.toFixed(1)} / ${short.agentExitsPerSecond.toFixed(1)}`),
    row(`  FINISHED / STARTING events in ${seconds(short.windowMs)}`, `${short.finished} / ${short.launched}`),
    row('  CPU time: agent / scheduler', `${seconds(short.agentCpuMs)} / ${seconds(short.schedulerCpuMs)}`),
    row('  DELETE -> agent at 0 tasks', seconds(short.drainMs)),
    row('leftover processes / cgroups', `${result.leftovers.processes} / ${result.leftovers.cgroups}`),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string' },
      'short-seconds': { type: 'string' },
      'no-reference': { type: 'boolean' },
      keep: { type: 'boolean' },
      profile: { type: 'boolean' },
    },
  });
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort(new Error('interrupted')));
  const started = Date.now();
  await runAgentBench({
    log: (line) => process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s ${line}\n`),
    ...(values.tasks !== undefined ? { tasks: Number(values.tasks) } : {}),
    ...(values['short-seconds'] !== undefined ? { shortSeconds: Number(values['short-seconds']) } : {}),
    reference: values['no-reference'] !== true,
    keep: values.keep === true || values.profile === true,
    profile: values.profile === true,
    signal: abort.signal,
    table: (line) => process.stdout.write(`${line}\n`),
  });
}
