import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import type { Logger } from '../shared/log.ts';
import type { RunningProcess } from './child-process.ts';
import { restartDelay, SCHEDULER_RESTART } from './core/restart-backoff.ts';

/** The schedulers of `corral up --ha`: one leads, the others stand by on the same etcd prefix. */
export const HA_SCHEDULERS = 3;
const ETCD_READY_MS = 20_000;

/** A TCP port free right now on 127.0.0.1: etcd advertises the URL it listens on, so port 0 cannot be passed through. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

export interface LocalEtcd {
  part: RunningProcess;
  /** The client URL, `http://127.0.0.1:<port>`. */
  url: string;
}

/**
 * A single-member etcd (the `etcd` binary of Debian's `etcd-server`) on loopback, data in `dataDir`,
 * log in `logFile`; resolves once it reports itself healthy. `onSpawn` as for the parts.
 */
export async function startLocalEtcd(options: { dataDir: string; clientPort: number; peerPort: number; logFile: string; onSpawn: (part: RunningProcess) => void }): Promise<LocalEtcd> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const url = `http://127.0.0.1:${options.clientPort}`;
  const peerUrl = `http://127.0.0.1:${options.peerPort}`;
  const child = spawn('etcd', [
    '--name', 'corral-up', '--data-dir', options.dataDir,
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', `corral-up=${peerUrl}`, '--initial-cluster-state', 'new',
    '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  child.stderr?.pipe(log);
  let missing = false;
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    // A binary that is not there emits 'error' and no 'exit'.
    child.on('error', (err) => {
      missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      resolve(err.message);
    });
  });
  const part = { name: 'etcd', child, exited };
  options.onSpawn(part);
  let ended: string | undefined;
  void exited.then((status) => {
    ended = String(status);
  });
  const deadline = Date.now() + ETCD_READY_MS;
  for (;;) {
    if (ended !== undefined) {
      throw new Error(missing
        ? 'corral up --ha runs etcd, and no etcd binary is on the PATH: install it (apt-get install etcd-server) and try again'
        : `etcd exited (${ended}) before it was healthy; see ${options.logFile}`);
    }
    const response = await request(`${url}/health`, { headersTimeout: 1000, bodyTimeout: 1000 }).catch(() => undefined);
    const body = (await response?.body.json().catch(() => undefined)) as { health?: string } | undefined;
    if (body?.health === 'true') return { part, url };
    if (Date.now() > deadline) throw new Error(`etcd on ${url} was not healthy within ${ETCD_READY_MS} ms; see ${options.logFile}`);
    await sleep(50);
  }
}

/**
 * The leader's URL as the first scheduler that answers names it (`GET /v2/leader`). `headers` is asked
 * on every try: with auth the leader wants the admin token, which its bootstrap may still be writing.
 * `dispatcher` trusts the stack's CA under `corral up --tls`.
 */
export async function waitForLeader(urls: readonly string[], headers: () => Record<string, string>, dispatcher?: Dispatcher, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const url of urls) {
      const response = await request(new URL('/v2/leader', url), { headers: headers(), headersTimeout: 2000, bodyTimeout: 2000, ...(dispatcher === undefined ? {} : { dispatcher }) }).catch(() => undefined);
      const body = (await response?.body.json().catch(() => undefined)) as { leader?: string } | undefined;
      if (response?.statusCode === 200 && typeof body?.leader === 'string') return `${new URL(url).protocol}//${body.leader}`;
    }
    if (Date.now() > deadline) throw new Error(`no scheduler named a leader within ${timeoutMs} ms; see the scheduler logs`);
    await sleep(50);
  }
}

/** One of the HA schedulers: the process running now, and how to start it again. */
export interface SchedulerSlot {
  name: string;
  part: RunningProcess;
  startedAt: number;
  /** Spawns it again where it was; calls `onSpawn` at once, resolves when it is ready. */
  respawn: (onSpawn: (part: RunningProcess) => void) => Promise<unknown>;
  /** The wait before its last restart, for the backoff. */
  lastDelayMs?: number;
}

export interface KeepUpOptions {
  logger: Logger;
  /** Told of each process that replaces a dead one (it is dead: drop it). */
  replaced: (dead: RunningProcess, fresh: RunningProcess) => void;
}

/**
 * Restarts each scheduler that ends while the stack runs, with a logged backoff: the others carry
 * on (one of them leads), so a dead scheduler is a degraded stack, not a stopped one.
 * `stop()` ends the watching (before the stack stops its parts).
 */
export function keepSchedulersUp(slots: readonly SchedulerSlot[], options: KeepUpOptions): { stop(): void } {
  const stopped = new AbortController();
  const watch = async (slot: SchedulerSlot): Promise<void> => {
    for (;;) {
      await slot.part.exited;
      if (stopped.signal.aborted) return;
      const { pid, exitCode, signalCode } = slot.part.child;
      const how = signalCode !== null ? `signal ${signalCode}` : `exit code ${String(exitCode)}`;
      const delayMs = restartDelay(SCHEDULER_RESTART, slot.lastDelayMs, Date.now() - slot.startedAt);
      slot.lastDelayMs = delayMs;
      options.logger.error({ part: slot.name, pid, exitCode, signal: signalCode, restartInMs: delayMs }, `${slot.name} (pid ${String(pid)}) ended on its own (${how}): restarting it in ${delayMs} ms`);
      try {
        await sleep(delayMs, undefined, { signal: stopped.signal });
      } catch {
        return;
      }
      if (stopped.signal.aborted) return;
      const dead = slot.part;
      slot.startedAt = Date.now();
      await slot.respawn((fresh) => {
        slot.part = fresh;
        options.replaced(dead, fresh);
      }).then(
        () => options.logger.info({ part: slot.name, pid: slot.part.child.pid }, `${slot.name} restarted`),
        // It ended (or was killed for being late): the loop sees it end and backs off further.
        (err: unknown) => options.logger.error({ part: slot.name, err: (err as Error).message }, `${slot.name} failed to restart`),
      );
    }
  };
  for (const slot of slots) void watch(slot);
  return { stop: () => stopped.abort() };
}

/** Where scheduler `n` (1-based) of `corral up --ha` keeps its own files. */
export function haSchedulerDir(dataDir: string, n: number): string {
  return join(dataDir, `scheduler-${n}`);
}
