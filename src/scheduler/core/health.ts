import type { ClusterEvent } from '../../events/types.ts';
import type { HealthResult } from '../../shared/agent-protocol.ts';
import type { AppDefinition, Instance } from '../types.ts';

/** Overall health: undefined without checks (or before any result), true when every check is alive. */
export function instanceHealthy(instance: Instance, app: AppDefinition | undefined): boolean | undefined {
  if (app === undefined || app.healthChecks.length === 0) return undefined;
  const results = instance.healthResults;
  if (results === undefined || results.length < app.healthChecks.length) return false;
  return results.every((r) => r.alive);
}

/**
 * Running and, where checks exist, healthy and past its readiness checks: what deployments wait
 * for and replacements count on.
 */
export function isReady(instance: Instance, app: AppDefinition | undefined): boolean {
  return instance.state === 'TASK_RUNNING' && instanceHealthy(instance, app) !== false && passedReadiness(instance, app);
}

/** Every readiness check of the app has passed once for this instance (true without checks). */
export function passedReadiness(instance: Instance, app: AppDefinition | undefined): boolean {
  const checks = app?.readinessChecks ?? [];
  if (checks.length === 0) return true;
  const results = instance.readinessResults ?? [];
  return checks.every((_, index) => results[index]?.ready === true);
}

export interface HealthChange {
  instance: Instance;
  events: ClusterEvent[];
  /** Why the instance must be killed (a check reached maxConsecutiveFailures), if it must. */
  killReason?: string;
}

/** Folds new health results from the agent into an instance, with Marathon's events. */
export function applyHealthResults(instance: Instance, app: AppDefinition, results: HealthResult[], now: string): HealthChange {
  const previous = instance.healthResults ?? [];
  const next: Instance = { ...instance, healthResults: results };
  const ids = { appId: instance.appId, taskId: instance.taskId, instanceId: instance.taskId };
  const events: ClusterEvent[] = [];
  results.forEach((result, index) => {
    const before = previous[index];
    if (before?.alive !== result.alive) {
      events.push({ eventType: 'health_status_changed_event', timestamp: now, ...ids, version: instance.version, alive: result.alive });
    }
    if (!result.alive && result.consecutiveFailures > (before?.consecutiveFailures ?? 0)) {
      events.push({ eventType: 'failed_health_check_event', timestamp: now, ...ids, version: instance.version, healthCheck: app.healthChecks[index] ?? null });
    }
  });
  const wasHealthy = instanceHealthy(instance, app);
  const healthy = instanceHealthy(next, app);
  if (healthy !== undefined && healthy !== wasHealthy) {
    events.push({ eventType: 'instance_health_changed_event', timestamp: now, instanceId: instance.taskId, runSpecId: instance.appId, runSpecVersion: instance.version, healthy });
  }
  const failing = results.findIndex((r, index) => {
    const max = app.healthChecks[index]?.maxConsecutiveFailures ?? 0;
    return max > 0 && r.consecutiveFailures >= max;
  });
  const check = app.healthChecks[failing];
  return {
    instance: next,
    events,
    ...(check !== undefined
      ? { killReason: `${check.protocol} health check failed ${results[failing]?.consecutiveFailures ?? 0} times in a row (maxConsecutiveFailures ${check.maxConsecutiveFailures}): ${results[failing]?.lastFailureCause ?? 'no cause given'}` }
      : {}),
  };
}
