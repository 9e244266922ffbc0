/**
 * What a job does when a slot is due while runs are active (concurrencyPolicy), when a run's
 * task fails (restart policy ON_FAILURE, with backoff) and when a run outlives
 * activeDeadlineSeconds. Pure: time comes in as `now`; runs are timed from their `createdAt`.
 */
import type { ConcurrencyPolicy, JobRun, JobRunSpec, JobRunStatus } from '../types.ts';

const ACTIVE: readonly JobRunStatus[] = ['INITIAL', 'STARTING', 'ACTIVE'];

export type SlotStart =
  | { action: 'start' }
  | { action: 'skip'; reason: 'forbidden-concurrent' }
  /** Stop these runs first, then start the slot's run. */
  | { action: 'replace'; stop: string[] };

export function isActive(run: JobRun): boolean {
  return ACTIVE.includes(run.status);
}

/** ALLOW starts beside active runs; FORBID skips the slot while one is active; REPLACE stops them first. */
export function decideSlotStart(policy: ConcurrencyPolicy, runs: readonly JobRun[]): SlotStart {
  const active = runs.filter(isActive);
  if (active.length === 0 || policy === 'ALLOW') return { action: 'start' };
  if (policy === 'FORBID') return { action: 'skip', reason: 'forbidden-concurrent' };
  return { action: 'replace', stop: active.map((run) => run.id) };
}

export interface Backoff {
  initialMs: number;
  factor: number;
  maxMs: number;
}

export const DEFAULT_RESTART_BACKOFF: Backoff = { initialMs: 1_000, factor: 2, maxMs: 60_000 };

export type RestartDecision =
  | { action: 'restart'; at: Date }
  | { action: 'fail'; reason: 'restart-never' | 'active-deadline' };

/**
 * After the run's `failures`-th failed task (1 for the first): ON_FAILURE restarts after
 * initial × factor^(failures−1), capped at maxMs; the run fails instead when the restart would
 * come at or after its active deadline (it would be killed on arrival).
 */
export function restartDecision(run: JobRun, restart: JobRunSpec['restart'], failures: number, now: Date, backoff: Backoff = DEFAULT_RESTART_BACKOFF): RestartDecision {
  if (restart.policy === 'NEVER') return { action: 'fail', reason: 'restart-never' };
  const delayMs = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, failures - 1));
  const at = new Date(now.getTime() + delayMs);
  const deadline = activeDeadline(run, restart.activeDeadlineSeconds);
  if (deadline !== undefined && at.getTime() >= deadline) return { action: 'fail', reason: 'active-deadline' };
  return { action: 'restart', at };
}

/** True when an active run has lived past activeDeadlineSeconds (none set: never). */
export function overran(run: JobRun, activeDeadlineSeconds: number | undefined, now: Date): boolean {
  const deadline = activeDeadline(run, activeDeadlineSeconds);
  return isActive(run) && deadline !== undefined && now.getTime() > deadline;
}

function activeDeadline(run: JobRun, activeDeadlineSeconds: number | undefined): number | undefined {
  return activeDeadlineSeconds === undefined ? undefined : Date.parse(run.createdAt) + activeDeadlineSeconds * 1000;
}
