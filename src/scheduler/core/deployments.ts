import type { DeploymentAction, DeploymentActionType } from '../../events/types.ts';
import type { AppDefinition, ClusterState, Deployment } from '../types.ts';
import { isReady } from './health.ts';
import { instancesOfApp } from './state-ops.ts';

/** The deployment for one app change (create, scale, restart or stop). */
export function planDeployment(
  id: string,
  previous: AppDefinition | undefined,
  next: AppDefinition | undefined,
  version: string,
): Deployment {
  const appId = (next ?? previous)?.id ?? '';
  const action: DeploymentActionType =
    next === undefined ? 'StopApplication'
    : previous === undefined ? 'StartApplication'
    : previous.versionInfo.lastConfigChangeAt === next.versionInfo.lastConfigChangeAt ? 'ScaleApplication'
    : 'RestartApplication';
  const actions: DeploymentAction[] = [{ action, app: appId }];
  return {
    id,
    plan: { id, version, steps: [{ actions }] },
    affectedApps: [appId],
    currentStep: 0,
    targets: { [appId]: next?.instances ?? 0 },
    original: { [appId]: previous ?? null },
    startedAt: version,
  };
}

/**
 * Beyond Marathon (its most-requested missing feature): deployments running longer than their
 * timeout — the app's deploymentTimeoutSeconds, else the scheduler's --deployment-timeout (0 = none).
 */
export function overdueDeployments(state: ClusterState, nowMs: number, defaultTimeoutMs: number): Deployment[] {
  return [...state.deployments.values()].filter((d) => {
    const own = d.affectedApps.map((id) => state.apps.get(id)?.deploymentTimeoutSeconds).find((s) => s !== undefined);
    const timeoutMs = own !== undefined ? own * 1000 : defaultTimeoutMs;
    return timeoutMs > 0 && nowMs - Date.parse(d.startedAt) > timeoutMs;
  });
}

/** Whether a failing deployment rolls back: any affected app (as it is now, or was) asked for it. */
export function rollsBackOnFailure(deployment: Deployment, state: ClusterState): boolean {
  return deployment.affectedApps.some((id) => (state.apps.get(id) ?? deployment.original[id])?.rollbackOnDeploymentFailure === true);
}

/** What an unfinished deployment still waits for, in words, for its failure reason. */
export function describeProgress(deployment: Deployment, state: ClusterState): string {
  return Object.entries(deployment.targets)
    .map(([appId, target]) => {
      const app = state.apps.get(appId);
      const instances = instancesOfApp(state, appId);
      const ready = instances.filter((i) => i.goal === 'running' && app !== undefined && i.configVersion === app.versionInfo.lastConfigChangeAt && isReady(i, app)).length;
      return `${appId}: ${ready} of ${target} instances ready, ${instances.length - ready} others still there`;
    })
    .join('; ');
}

/** Done when every affected app has exactly its target of running (and healthy, where checked), current instances and nothing else. */
export function isDeploymentDone(deployment: Deployment, state: ClusterState): boolean {
  for (const [appId, target] of Object.entries(deployment.targets)) {
    const app = state.apps.get(appId);
    let running = 0;
    for (const instance of instancesOfApp(state, appId)) {
      const current = app !== undefined && instance.goal === 'running' && instance.configVersion === app.versionInfo.lastConfigChangeAt;
      if (!current) return false;
      if (isReady(instance, app)) running += 1;
    }
    if (running !== target) return false;
  }
  return true;
}

/** Running deployments that hold any of these apps. */
export function deploymentsHolding(state: ClusterState, appIds: readonly string[]): Deployment[] {
  return [...state.deployments.values()].filter((d) => d.affectedApps.some((id) => appIds.includes(id)));
}
