/**
 * Event fan-out: 200 SSE subscribers on a real `corral scheduler` while it commits 10,000
 * changes (PUT /v2/apps/{id} toggling a label on apps with instances 0, several at a time), run
 * twice: without and with one stalled subscriber (a socket that sends its request and never
 * reads). Prints events/s delivered (frames received by all subscribers / time from the first
 * commit to the last delivery), p50/p99 commit→delivery latency (the event's `timestamp` is set
 * by the scheduler when it commits, compared with the receive time on the same clock, so it
 * includes the fsync), and the scheduler's CPU time (/proc/<pid>/stat utime + stime).
 *
 * Subscribers live in child processes (bench/support-events-subscribers.ts): one Node process
 * parsing 200 streams competes with the scheduler for the same cores and becomes the bottleneck.
 *
 * `node --import tsx bench/events.ts [--subscribers 200] [--changes 10000] [--children 2] [--concurrency 8]`
 *
 * The latency runs from the moment the scheduler handles the PUT (it stamps the event then), so
 * with 8 PUTs in flight it includes waiting in the scheduler's one-at-a-time commit queue.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../src/cli/child-process.ts';
import { startPart, tempDir } from '../test/support/parts.ts';
import { procUsage } from './support-proc.ts';

export interface EventsBenchOptions {
  log: (line: string) => void;
  table?: (line: string) => void;
  subscribers?: number;
  changes?: number;
  /** Child processes the subscribers are spread over. */
  children?: number;
  /** Concurrent PUTs. */
  concurrency?: number;
  /** Each run gives up after this long. */
  runTimeoutMs?: number;
  keep?: boolean;
}

export interface EventsRunResult {
  stalled: boolean;
  changes: number;
  events: number;
  framesDelivered: number;
  mibDelivered: number;
  seconds: number;
  eventsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  schedulerCpuMs: number;
  /** Stalled subscribers the scheduler cut off ("event subscriber too slow"). */
  cuts: number;
  complete: boolean;
}

const SUBSCRIBER_SCRIPT = join(import.meta.dirname, 'support-events-subscribers.ts');
const APPS = 10;

interface ChildReport {
  type: string;
  frames: number;
  bytes: number;
  errors: number;
  minLastId: number;
  lastAt: number;
  buckets?: Array<[number, number]>;
}

class SubscriberChild {
  readonly child: ChildProcess;
  #waiters: Array<{ type: string; resolve: (m: ChildReport) => void }> = [];

  constructor(api: string, count: number) {
    this.child = fork(SUBSCRIBER_SCRIPT, [api, String(count)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (message: ChildReport) => {
      const index = this.#waiters.findIndex((w) => w.type === message.type);
      if (index >= 0) this.#waiters.splice(index, 1)[0]?.resolve(message);
    });
  }

  next(type: string, timeoutMs = 30_000): Promise<ChildReport> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`subscriber child: no '${type}' within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({ type, resolve: (m) => { clearTimeout(timer); resolve(m); } });
      this.child.once('exit', () => reject(new Error(`subscriber child exited before '${type}'`)));
    });
  }

  poll(): Promise<ChildReport> {
    const reply = this.next('progress', 10_000);
    this.child.send({ type: 'poll' });
    return reply;
  }

  async stop(): Promise<ChildReport> {
    const reply = this.next('done', 30_000);
    this.child.send({ type: 'stop' });
    return reply;
  }
}

async function call(api: string, method: string, path: string, body?: unknown): Promise<number> {
  const response = await request(`${api}${path}`, {
    method: method as 'PUT',
    headersTimeout: 30_000,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  await response.body.dump();
  return response.statusCode;
}

async function lastEventId(api: string): Promise<number> {
  const response = await request(`${api}/corral/v1/discovery`);
  return ((await response.body.json()) as { eventId: number }).eventId;
}

function openStalled(api: string): Socket {
  const { hostname, port } = new URL(api);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.pause();
  socket.on('error', () => undefined);
  socket.write(`GET /v2/events HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n\r\n`);
  return socket;
}

function percentile(buckets: ReadonlyArray<[number, number]>, p: number): number {
  const total = buckets.reduce((sum, [, n]) => sum + n, 0);
  let seen = 0;
  for (const [ms, n] of buckets) {
    seen += n;
    if (seen >= (p / 100) * total) return ms;
  }
  return NaN;
}

async function runOnce(options: Required<Omit<EventsBenchOptions, 'table' | 'keep'>>, stalled: boolean, dir: string): Promise<EventsRunResult> {
  const { log } = options;
  const name = stalled ? 'scheduler-stalled' : 'scheduler';
  const scheduler: PartProcess = await startPart(name, ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', join(dir, name)], dir);
  const api = String(scheduler.ready.api);
  const pid = scheduler.child.pid ?? 0;
  const children: SubscriberChild[] = [];
  const sockets: Socket[] = [];
  // One cut can log several lines (one per event still in that commit), all with the same
  // `buffered` figure: count distinct figures.
  const tooSlow = (): number => new Set(readFileSync(join(dir, `${name}.log`), 'utf8').split('\n')
    .filter((l) => l.includes('event subscriber too slow')).map((l) => /"buffered":(\d+)/.exec(l)?.[1])).size;
  try {
    for (let i = 0; i < APPS; i += 1) {
      const status = await call(api, 'POST', '/v2/apps', { id: `/bench/app-${i}`, cmd: 'sleep 1000', instances: 0 });
      if (status !== 201) throw new Error(`POST /bench/app-${i}: HTTP ${status}`);
    }
    const perChild = Math.ceil(options.subscribers / options.children);
    for (let left = options.subscribers; left > 0; left -= perChild) children.push(new SubscriberChild(api, Math.min(perChild, left)));
    await Promise.all(children.map((c) => c.next('ready')));
    if (stalled) sockets.push(openStalled(api));
    const firstId = await lastEventId(api);
    log(`${stalled ? 'with' : 'without'} a stalled subscriber: ${options.subscribers} subscribers in ${children.length} child process(es); committing ${options.changes} changes`);

    const cpuBefore = procUsage(pid)?.cpuMs ?? NaN;
    const startedEpoch = Date.now();
    const started = performance.now();
    const deadline = started + options.runTimeoutMs;
    let issued = 0;
    let done = 0;
    let failed = 0;
    let lastCuts = 0;
    const workers = Array.from({ length: options.concurrency }, async () => {
      while (issued < options.changes && performance.now() < deadline) {
        const n = issued++;
        const status = await call(api, 'PUT', `/v2/apps/bench/app-${n % APPS}?force=true`, { labels: { toggle: String(n % 2), n: String(n) } }).catch(() => 0);
        if (status === 200) done += 1;
        else failed += 1;
      }
    });
    let committing = true;
    void Promise.all(workers).then(() => { committing = false; });
    let previousCpu = cpuBefore;
    let previousAt = started;
    let lastId = Infinity;
    let minLastId = 0;
    let frames = 0;
    // Progress every second until every subscriber has the last event (or the deadline).
    for (;;) {
      await sleep(1000);
      const reports = await Promise.all(children.map((c) => c.poll()));
      frames = reports.reduce((sum, r) => sum + r.frames, 0);
      minLastId = Math.min(...reports.map((r) => r.minLastId));
      const cpu = procUsage(pid)?.cpuMs ?? NaN;
      const now = performance.now();
      const cuts = stalled ? tooSlow() : 0;
      // Keep one stalled subscriber attached at all times: replace one the scheduler cut.
      if (stalled && cuts > lastCuts && committing) sockets.push(openStalled(api));
      lastCuts = cuts;
      log(`  ${((now - started) / 1000).toFixed(0).padStart(3)} s  changes ${done}/${options.changes}${failed > 0 ? ` (${failed} failed)` : ''}  frames ${frames}  slowest subscriber at id ${minLastId}  scheduler ${(((cpu - previousCpu) / (now - previousAt)) * 100).toFixed(0)}% cpu${stalled ? `  stalled cut ${cuts}x` : ''}`);
      previousCpu = cpu;
      previousAt = now;
      if (!committing && lastId === Infinity) lastId = await lastEventId(api);
      if (minLastId >= lastId || now > deadline + 30_000) break;
    }
    const finished = performance.now();
    const cpuAfter = procUsage(pid)?.cpuMs ?? NaN;
    const finals = await Promise.all(children.map((c) => c.stop()));
    const buckets = new Map<number, number>();
    for (const report of finals) for (const [ms, n] of report.buckets ?? []) buckets.set(ms, (buckets.get(ms) ?? 0) + n);
    const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
    const delivered = finals.reduce((sum, r) => sum + r.frames, 0);
    // From the first commit to the last frame received (not to the poll that noticed it).
    const lastAt = Math.max(...finals.map((r) => r.lastAt));
    const seconds = (lastAt > 0 ? lastAt - startedEpoch : finished - started) / 1000;
    return {
      stalled,
      changes: done,
      events: (lastId === Infinity ? minLastId : lastId) - firstId,
      framesDelivered: delivered,
      mibDelivered: finals.reduce((sum, r) => sum + r.bytes, 0) / 2 ** 20,
      seconds,
      eventsPerSecond: delivered / seconds,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted.at(-1)?.[0] ?? NaN,
      schedulerCpuMs: cpuAfter - cpuBefore,
      cuts: stalled ? tooSlow() : 0,
      complete: minLastId >= lastId && finals.every((r) => r.errors === 0),
    };
  } finally {
    for (const socket of sockets) socket.destroy();
    for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
    await stopParts([scheduler], 5000);
  }
}

export async function runEventsBench(options: EventsBenchOptions): Promise<EventsRunResult[]> {
  const settings = {
    log: options.log,
    subscribers: options.subscribers ?? Number(process.env.BENCH_EVENTS_SUBSCRIBERS ?? 200),
    changes: options.changes ?? Number(process.env.BENCH_EVENTS_CHANGES ?? 10_000),
    children: options.children ?? 2,
    concurrency: options.concurrency ?? 8,
    runTimeoutMs: options.runTimeoutMs ?? 240_000,
  };
  const dir = tempDir('corral-bench-events-');
  const results: EventsRunResult[] = [];
  try {
    for (const stalled of [false, true]) results.push(await runOnce(settings, stalled, dir));
  } finally {
    if (options.keep !== true) rmSync(dir, { recursive: true, force: true });
    else options.log(`logs kept in ${dir}`);
  }
  const table = options.table ?? options.log;
  const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  table(`${settings.subscribers} subscribers, ${settings.changes} PUTs (${settings.concurrency} in flight), subscribers in ${settings.children} child process(es)`);
  table(row(['run', 'changes', 'events', 'frames delivered', 'MiB delivered', 'time', 'events/s delivered', 'p50', 'p99', 'max', 'scheduler CPU', 'stalled cut', 'complete']));
  table(row(Array.from({ length: 13 }, () => '---')));
  for (const r of results) {
    table(row([
      r.stalled ? `${settings.subscribers} + 1 stalled` : `${settings.subscribers} subscribers`,
      String(r.changes), String(r.events), String(r.framesDelivered), r.mibDelivered.toFixed(0), `${r.seconds.toFixed(1)} s`,
      r.eventsPerSecond.toFixed(0), `${r.p50Ms.toFixed(1)} ms`, `${r.p99Ms.toFixed(1)} ms`, `${r.maxMs.toFixed(0)} ms`,
      `${(r.schedulerCpuMs / 1000).toFixed(1)} s`, r.stalled ? `${r.cuts}x` : '-', r.complete ? 'yes' : 'NO',
    ]));
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({
    options: {
      subscribers: { type: 'string' },
      changes: { type: 'string' },
      children: { type: 'string' },
      concurrency: { type: 'string' },
      keep: { type: 'boolean' },
    },
  });
  const started = Date.now();
  await runEventsBench({
    log: (line) => process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s ${line}\n`),
    table: (line) => process.stdout.write(`${line}\n`),
    ...(values.subscribers !== undefined ? { subscribers: Number(values.subscribers) } : {}),
    ...(values.changes !== undefined ? { changes: Number(values.changes) } : {}),
    ...(values.children !== undefined ? { children: Number(values.children) } : {}),
    ...(values.concurrency !== undefined ? { concurrency: Number(values.concurrency) } : {}),
    keep: values.keep === true,
  });
}
