import type { App, QueueEntry, Task } from './marathon.ts';

export type AppStatus = 'Running' | 'Deploying' | 'Waiting' | 'Delayed' | 'Suspended';
export const APP_STATUSES: readonly AppStatus[] = ['Running', 'Deploying', 'Waiting', 'Delayed', 'Suspended'];

export interface StatusView { status: AppStatus; reason?: string }

/**
 * An app's status, as Marathon's UI named them, from the app and its launch-queue entry:
 * a backoff in force is Delayed, instances the scheduler cannot place are Waiting (with the
 * queue's reason), a deployment under way is Deploying, no instances asked is Suspended.
 */
export function appStatus(app: Pick<App, 'instances' | 'deployments'>, queued: QueueEntry | undefined): StatusView {
  if (queued !== undefined && queued.count > 0) {
    if (!queued.delay.overdue && queued.delay.timeLeftSeconds > 0) {
      return { status: 'Delayed', reason: `launch delayed ${queued.delay.timeLeftSeconds}s after failures${queued.reason ? `; ${queued.reason}` : ''}` };
    }
    return { status: 'Waiting', reason: queued.reason || `${queued.count} instance(s) not placed yet` };
  }
  if ((app.deployments ?? []).length > 0) return { status: 'Deploying' };
  if (app.instances === 0) return { status: 'Suspended' };
  return { status: 'Running' };
}

export type Health = 'healthy' | 'unhealthy' | 'unknown' | 'staged';
export const HEALTHS: readonly Health[] = ['healthy', 'unhealthy', 'unknown', 'staged'];

/**
 * One task's place in the health bar: staged until it runs; then healthy or unhealthy by its
 * latest health event, else by its health check results (every one alive); unknown while no
 * check has answered or the app has none (Marathon's UI shows those grey too).
 */
export function taskHealth(task: Pick<Task, 'state' | 'healthy' | 'healthCheckResults'>): Health | undefined {
  if (task.state === 'TASK_STAGING' || task.state === 'TASK_STARTING') return 'staged';
  if (task.state !== 'TASK_RUNNING') return undefined;
  if (task.healthy !== undefined) return task.healthy ? 'healthy' : 'unhealthy';
  const results = task.healthCheckResults ?? [];
  if (results.length === 0) return 'unknown';
  return results.every((r) => r.alive) ? 'healthy' : 'unhealthy';
}

export interface HealthCounts { healthy: number; unhealthy: number; unknown: number; staged: number; asked: number }

/** The health bar of an app: its tasks by health, against the instances asked. */
export function healthCounts(app: Pick<App, 'instances' | 'tasks'>): HealthCounts {
  const counts: HealthCounts = { healthy: 0, unhealthy: 0, unknown: 0, staged: 0, asked: app.instances };
  for (const task of app.tasks ?? []) {
    const health = taskHealth(task);
    if (health !== undefined) counts[health] += 1;
  }
  return counts;
}

/** The bar's segments as fractions of the larger of asked and present (a scale-down shows more than asked). */
export function healthSegments(counts: HealthCounts): Array<{ health: Health; count: number; fraction: number }> {
  const present = HEALTHS.reduce((sum, h) => sum + counts[h], 0);
  const whole = Math.max(counts.asked, present, 1);
  return HEALTHS.filter((h) => counts[h] > 0).map((health) => ({ health, count: counts[health], fraction: counts[health] / whole }));
}
