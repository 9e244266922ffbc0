/** One sandbox directory as the collector saw it on disk. */
export interface SandboxListing {
  readonly taskId: string;
  /** The newest mtime (ms) of the directory and its stdout/stderr: when the task last showed life. */
  readonly newestMtimeMs: number;
}

export type SandboxKeepReason = 'active' | 'recent';

export interface SandboxGcPlan {
  /** Task ids whose sandboxes go, in listing order. */
  readonly remove: readonly string[];
  readonly keep: ReadonlyArray<{ readonly taskId: string; readonly reason: SandboxKeepReason }>;
}

export interface SandboxGcPolicy {
  readonly now: number;
  readonly maxAgeMs: number;
  readonly isActive: (taskId: string) => boolean;
}

/**
 * Which sandboxes to delete: those of tasks the agent no longer runs that have been quiet for
 * longer than `maxAgeMs`. A running task's sandbox is never collected, however old, and a
 * sandbox with an mtime in the future (clock stepped back) counts as recent.
 */
export function planSandboxGc(listing: readonly SandboxListing[], policy: SandboxGcPolicy): SandboxGcPlan {
  const remove: string[] = [];
  const keep: Array<{ taskId: string; reason: SandboxKeepReason }> = [];
  for (const sandbox of listing) {
    if (policy.isActive(sandbox.taskId)) keep.push({ taskId: sandbox.taskId, reason: 'active' });
    else if (policy.now - sandbox.newestMtimeMs > policy.maxAgeMs) remove.push(sandbox.taskId);
    else keep.push({ taskId: sandbox.taskId, reason: 'recent' });
  }
  return { remove, keep };
}
