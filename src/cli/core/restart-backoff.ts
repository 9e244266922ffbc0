/** How `corral up --ha` spaces the restarts of a scheduler that keeps dying. */
export interface RestartPolicy {
  /** The wait before the first restart, and again after a run that lasted `stableMs`. */
  firstMs: number;
  maxMs: number;
  /** A run this long counts as healthy: the next death starts the backoff over. */
  stableMs: number;
}

export const SCHEDULER_RESTART: RestartPolicy = { firstMs: 500, maxMs: 30_000, stableMs: 60_000 };

/**
 * The wait before restarting a part that ended after running `ranMs`, given the wait before its
 * previous restart (undefined: none yet). Doubles while it keeps dying young, capped at `maxMs`.
 */
export function restartDelay(policy: RestartPolicy, previousMs: number | undefined, ranMs: number): number {
  if (previousMs === undefined || ranMs >= policy.stableMs) return policy.firstMs;
  return Math.min(previousMs * 2, policy.maxMs);
}
