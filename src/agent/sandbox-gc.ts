import { lstat, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../shared/log.ts';
import { planSandboxGc, type SandboxListing } from './core/gc-plan.ts';

export interface SandboxGcOptions {
  /** `<workDir>/sandboxes`: one directory per task id. */
  root: string;
  maxAgeMs: number;
  /** True for every task the agent still runs, adopted ones included. */
  isActive: (taskId: string) => boolean;
}

/** The files whose mtimes say a sandbox is still in use, besides the directory itself. */
const ACTIVITY_FILES = ['stdout', 'stderr'] as const;

/**
 * Removes the sandboxes of tasks that are not active and have been quiet for longer than
 * `maxAgeMs`; returns the removed task ids. A root that does not exist yet holds nothing.
 * Sandboxes that cannot be removed are skipped and reported together in an AggregateError
 * once the others are gone.
 */
export async function collectSandboxes(options: SandboxGcOptions & { now: number }): Promise<string[]> {
  const listing = await listSandboxes(options.root);
  const plan = planSandboxGc(listing, options);
  const removed: string[] = [];
  const failures: Error[] = [];
  for (const taskId of plan.remove) {
    // A launch may have reused the id since the listing (a restarted agent re-running a task): look again.
    if (options.isActive(taskId)) continue;
    try {
      await rm(join(options.root, taskId), { recursive: true, force: true });
      removed.push(taskId);
    } catch (error) {
      // One sandbox that cannot go (a file the task made read-only as root) must not pin the rest.
      failures.push(new Error(`cannot remove sandbox ${taskId}: ${(error as Error).message}`, { cause: error }));
    }
  }
  if (failures.length > 0) throw new AggregateError(failures, `removed ${removed.length} sandboxes; ${failures.length} could not be removed`);
  return removed;
}

async function listSandboxes(root: string): Promise<SandboxListing[]> {
  let names: string[];
  try {
    names = await readdir(root);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const listing: SandboxListing[] = [];
  for (const taskId of names.sort()) {
    const dir = join(root, taskId);
    try {
      // Only real directories: a symlink in the root is not ours to follow or delete through.
      const dirStats = await lstat(dir);
      if (!dirStats.isDirectory()) continue;
      let newest = dirStats.mtimeMs;
      for (const file of ACTIVITY_FILES) {
        const fileStats = await stat(join(dir, file)).catch((error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw error;
        });
        if (fileStats !== undefined) newest = Math.max(newest, fileStats.mtimeMs);
      }
      listing.push({ taskId, newestMtimeMs: newest });
    } catch (error) {
      // Gone between readdir and lstat: someone else removed it.
      if (!isNotFound(error)) throw error;
    }
  }
  return listing;
}

export interface SandboxGcSchedule extends SandboxGcOptions {
  intervalMs: number;
  logger: Logger;
  /** The clock; tests pass their own. */
  now?: () => number;
}

export interface SandboxGcHandle {
  /** Stops the schedule and waits for a collection in progress to finish. */
  stop(): Promise<void>;
}

/**
 * Collects every `intervalMs`. The first pass waits one interval on purpose: right after a
 * restart the agent has not adopted its surviving tasks yet, and `isActive` would call a
 * quiet, long-running task's sandbox garbage.
 */
export function startSandboxGc(options: SandboxGcSchedule): SandboxGcHandle {
  const logger = options.logger.child({ part: 'sandbox-gc' });
  const now = options.now ?? Date.now;
  let running: Promise<void> | undefined;
  let stopped = false;
  const pass = async (): Promise<void> => {
    try {
      const removed = await collectSandboxes({ root: options.root, maxAgeMs: options.maxAgeMs, isActive: options.isActive, now: now() });
      if (removed.length > 0) logger.info({ removed }, 'removed old sandboxes');
    } catch (error) {
      logger.warn({ err: error }, 'sandbox collection failed; trying again next interval');
    }
  };
  const timer = setInterval(() => {
    if (running !== undefined || stopped) return;
    running = pass().finally(() => {
      running = undefined;
    });
  }, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT';
}
