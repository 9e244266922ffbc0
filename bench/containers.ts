/**
 * `npm run bench -- containers` (or `node --import tsx bench/containers.ts [--tasks N] [--keep]`):
 * one real scheduler and ONE real agent, an image built from the static busybox and served by
 * Debian's docker-registry on loopback (as in test/integration/containers.test.ts).
 *
 * 1. Cold: one container whose image the agent does not have — POST → TASK_RUNNING (pull, unpack, run).
 * 2. Cached: N containers (default 100, or BENCH_CONTAINER_TASKS) of that image — POST → each
 *    TASK_RUNNING (p50, p99, all), then DELETE → none left.
 * 3. Beside them, N plain process tasks on the same agent, the same way.
 * Target (#18): a cached container start at most 2× a process start.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../src/cli/child-process.ts';
import { LoopbackRegistry, writeBusyboxImage } from '../test/support/oci-image.ts';
import { startPart, tempDir } from '../test/support/parts.ts';
import { followStatusUpdates, type ArrivedStatus } from './support-events.ts';

export interface ContainerBenchOptions {
  log: (line: string) => void;
  table?: (line: string) => void;
  tasks?: number;
  keep?: boolean;
}

interface Launches {
  count: number;
  p50Ms: number;
  p99Ms: number;
  allMs: number;
  killMs: number;
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

export async function runContainerBench(options: ContainerBenchOptions): Promise<{ coldMs: number; containers: Launches; processes: Launches }> {
  const { log } = options;
  const table = options.table ?? log;
  const tasks = options.tasks ?? Number(process.env.BENCH_CONTAINER_TASKS ?? 100);
  const dir = tempDir('corral-bench-containers-');
  const marker = `corral-bench-containers-${Date.now()}`;
  const parts: PartProcess[] = [];
  const registry = await LoopbackRegistry.start(join(dir, 'registry'));
  try {
    writeBusyboxImage(join(dir, 'image'), 'v1', { entrypoint: ['/bin/busybox'], cmd: ['sh', '-c', `sleep 100000; : ${marker}`], env: ['PATH=/bin'] });
    await registry.push(join(dir, 'image', 'layout'), 'v1', 'bench/busybox:v1');
    const image = `${registry.host}/bench/busybox:v1`;
    const scheduler = await startPart('scheduler', ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler')], dir);
    parts.push(scheduler);
    const api = String(scheduler.ready.api);
    parts.push(await startPart('agent', ['agent', '--master', api, '--ip', '127.0.0.11', '--work-dir', join(dir, 'agent'), '--cgroups-parent', `corral-bench-${process.pid}`,
      '--resources', `cpus:${tasks};mem:${64 * tasks + 1024};disk:1000;ports:[31000-31010]`], dir));
    const running = new Map<string, number>();
    const ended = new Map<string, number>();
    const follower = await followStatusUpdates(api, ({ event, at }: ArrivedStatus) => {
      if (event.taskStatus === 'TASK_RUNNING' && !running.has(event.taskId)) running.set(event.taskId, at);
      if (['TASK_KILLED', 'TASK_FAILED', 'TASK_FINISHED'].includes(event.taskStatus)) ended.set(event.taskId, at);
    });
    const call = async (method: string, path: string, body?: unknown): Promise<void> => {
      const response = await request(`${api}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      const text = await response.body.text();
      if (response.statusCode >= 300) throw new Error(`${method} ${path}: ${response.statusCode} ${text}`);
    };
    const runningOf = (appId: string): number[] => [...running].filter(([id]) => id.startsWith(`${appId.slice(1)}.`)).map(([, at]) => at);
    const until = async (what: string, done: () => boolean, timeoutMs: number): Promise<void> => {
      const deadline = performance.now() + timeoutMs;
      while (!done()) {
        if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        if (follower.error !== undefined) throw follower.error;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const launch = async (appId: string, app: Record<string, unknown>, count: number): Promise<Launches> => {
      const posted = performance.now();
      await call('POST', '/v2/apps', { id: appId, instances: count, cpus: 0.01, mem: 16, portDefinitions: [], ...app });
      await until(`${count} running of ${appId}`, () => runningOf(appId).length >= count, 300_000);
      const latencies = runningOf(appId).map((at) => at - posted).sort((a, b) => a - b);
      const ids = [...running.keys()].filter((id) => id.startsWith(`${appId.slice(1)}.`));
      const deleted = performance.now();
      await call('DELETE', `/v2/apps${appId}`);
      await until(`${appId} killed`, () => ids.every((id) => ended.has(id)), 300_000);
      return { count, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), allMs: latencies.at(-1) ?? NaN, killMs: Math.max(...ids.map((id) => ended.get(id) ?? NaN)) - deleted };
    };

    log('cold pull: one container');
    const cold = await launch('/cold', { container: { type: 'DOCKER', docker: { image } } }, 1);
    log(`cached: ${tasks} containers`);
    const containers = await launch('/containers', { container: { type: 'DOCKER', docker: { image } } }, tasks);
    log(`processes: ${tasks} process tasks`);
    const processes = await launch('/processes', { cmd: `sleep 100000; : ${marker}` }, tasks);
    follower.close();

    const row = (name: string, l: Launches): string => `| ${name} | ${l.count} | ${l.p50Ms.toFixed(0)} | ${l.p99Ms.toFixed(0)} | ${l.allMs.toFixed(0)} | ${l.killMs.toFixed(0)} |`;
    table('| launch | tasks | POST→RUNNING p50 ms | p99 ms | all ms | DELETE→all ended ms |');
    table('| --- | --- | --- | --- | --- | --- |');
    table(row('container, cold pull', cold));
    table(row('container, cached image', containers));
    table(row('process', processes));
    table(`cached container / process, p50: ${(containers.p50Ms / processes.p50Ms).toFixed(2)}× (target ≤ 2×)`);
    return { coldMs: cold.allMs, containers, processes };
  } finally {
    await stopParts([...parts].reverse(), 10_000);
    await registry.stop();
    if (options.keep !== true) rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { tasks: { type: 'string' }, keep: { type: 'boolean' } } });
  await runContainerBench({ log: (line) => process.stderr.write(`${line}\n`), table: (line) => console.log(line), ...(values.tasks !== undefined ? { tasks: Number(values.tasks) } : {}), keep: values.keep === true });
}
