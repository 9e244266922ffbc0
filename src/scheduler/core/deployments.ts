import type { DeploymentAction, DeploymentActionType } from '../../events/types.ts';
import type { AppDefinition, ClusterState, Deployment } from '../types.ts';
import { isReady } from './health.ts';

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
  };
}

/** Done when every affected app has exactly its target of running (and healthy, where checked), current instances and nothing else. */
export function isDeploymentDone(deployment: Deployment, state: ClusterState): boolean {
  for (const [appId, target] of Object.entries(deployment.targets)) {
    const app = state.apps.get(appId);
    let running = 0;
    for (const instance of state.instances.values()) {
      if (instance.appId !== appId) continue;
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
