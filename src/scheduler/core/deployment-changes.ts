import type { ClusterEvent } from '../../events/types.ts';
import type { Refused } from '../errors.ts';
import type { ClusterState, Deployment, StateOp } from '../types.ts';
import { removeApp, restoreApp, type ChangeContext } from './app-changes.ts';
import { applyOps } from './state-ops.ts';

export type DeploymentChange =
  | { ok: true; ops: StateOp[]; events: ClusterEvent[]; rollback: Deployment | undefined }
  | Refused;

/**
 * Ends a deployment with deployment_failed and, when asked, rolls it back: every affected app
 * returns to what it was before (a new deployment), or is removed if it did not exist.
 */
export function failDeployment(state: ClusterState, deploymentId: string, reason: string, rollBack: boolean, context: ChangeContext): DeploymentChange {
  const deployment = state.deployments.get(deploymentId);
  if (deployment === undefined) return { ok: false, error: { code: 'ERR_SCHED_DEPLOYMENT_NOT_FOUND', deploymentId } };
  const ops: StateOp[] = [{ op: 'del', coll: 'deployments', key: deploymentId }];
  const currentStep = deployment.plan.steps[deployment.currentStep] ?? { actions: [] };
  const failed = (why: string): ClusterEvent[] => [
    { eventType: 'deployment_step_failure', timestamp: context.now, plan: deployment.plan, currentStep },
    { eventType: 'deployment_failed', timestamp: context.now, id: deploymentId, plan: deployment.plan, reason: why },
  ];
  const events = failed(reason);
  if (!rollBack) return { ok: true, ops, events, rollback: undefined };
  let after = applyOps(state, ops);
  let rollback: Deployment | undefined;
  for (const appId of deployment.affectedApps) {
    const original = deployment.original[appId];
    const current = after.apps.get(appId);
    if (original === undefined) continue;
    const change = original === null
      ? current === undefined ? undefined : removeApp(after, appId, context)
      : restoreApp(after, original, context);
    if (change === undefined) continue;
    // The room the deployment freed may be taken meanwhile: a rollback that no longer fits a quota is not made.
    if (!change.ok && change.error.code === 'ERR_SCHED_QUOTA_EXCEEDED') {
      return { ok: true, ops: ops.slice(0, 1), events: failed(`${reason}; not rolled back: ${change.error.message}`), rollback: undefined };
    }
    if (!change.ok) return change;
    ops.push(...change.ops);
    events.push(...change.events);
    after = applyOps(after, change.ops);
    rollback = change.deployment;
  }
  return { ok: true, ops, events, rollback };
}
