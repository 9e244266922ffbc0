import type { ClusterEvent, DeploymentAction, DeploymentActionType, DeploymentStep } from '../../events/types.ts';
import type { AppDefinition, ClusterState, Deployment, StateOp } from '../types.ts';
import { isReady } from './health.ts';
import { countInstances, instancesOfApp } from './state-ops.ts';

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

/** Done when the app has exactly `target` running (and healthy, where checked), current instances and nothing else. */
function isAppDone(appId: string, target: number, state: ClusterState): boolean {
  const app = state.apps.get(appId);
  if (app !== undefined && app.healthChecks.length === 0 && (app.readinessChecks ?? []).length === 0) {
    // Without checks, ready is TASK_RUNNING: the counts tell, with no walk over the instances.
    const config = app.versionInfo.lastConfigChangeAt;
    return countInstances(state, appId, 'all') === countInstances(state, appId, `config:${config}`) && countInstances(state, appId, `config:${config}:TASK_RUNNING`) === target;
  }
  let running = 0;
  for (const instance of instancesOfApp(state, appId)) {
    const current = app !== undefined && instance.goal === 'running' && instance.configVersion === app.versionInfo.lastConfigChangeAt;
    if (!current) return false;
    if (isReady(instance, app)) running += 1;
  }
  return running === target;
}

/** Where a deployment stands on a state: the step it is at now, and the steps it has just finished. */
export interface DeploymentProgress {
  currentStep: number;
  finished: DeploymentStep[];
  done: boolean;
}

/** Moves a deployment past every step whose apps have reached their targets, in order. */
export function advanceDeployment(deployment: Deployment, state: ClusterState): DeploymentProgress {
  const steps = deployment.plan.steps;
  let currentStep = deployment.currentStep;
  const finished: DeploymentStep[] = [];
  for (; currentStep < steps.length; currentStep += 1) {
    const step = steps[currentStep] as DeploymentStep;
    if (!step.actions.every((a) => isAppDone(a.app, deployment.targets[a.app] ?? 0, state))) break;
    finished.push(step);
  }
  return { currentStep: Math.min(currentStep, Math.max(0, steps.length - 1)), finished, done: currentStep >= steps.length };
}

/** Which apps an evaluation touched, and which it looked at (every app when `looked` is absent). */
export interface EvaluatedApps {
  /** Apps it launched, stopped or expunged instances of, or left short of instances. */
  acted: ReadonlySet<string>;
  looked?: ReadonlySet<string>;
}

/**
 * What an evaluation's commit does to the running deployments. A deployment is judged on the
 * state the evaluation leaves behind, once the evaluation has looked at its apps and left them
 * alone (an app still short of instances is not done either: no need to count its instances).
 * Finished steps are announced; a finished deployment is removed; one that moved to a later step
 * is stored there, which releases that step's apps (the commit makes every app evaluated again).
 */
export function progressDeployments(state: ClusterState, apps: EvaluatedApps, now: string): { ops: StateOp[]; events: ClusterEvent[] } {
  const ops: StateOp[] = [];
  const events: ClusterEvent[] = [];
  for (const deployment of state.deployments.values()) {
    if (deployment.affectedApps.some((id) => apps.acted.has(id))) continue;
    if (apps.looked !== undefined && !deployment.affectedApps.some((id) => apps.looked?.has(id) === true)) continue;
    const progress = advanceDeployment(deployment, state);
    for (const currentStep of progress.finished) events.push({ eventType: 'deployment_step_success', timestamp: now, plan: deployment.plan, currentStep });
    if (progress.done) {
      ops.push({ op: 'del', coll: 'deployments', key: deployment.id });
      events.push({ eventType: 'deployment_success', timestamp: now, id: deployment.id, plan: deployment.plan });
    } else if (progress.currentStep !== deployment.currentStep) {
      ops.push({ op: 'put', coll: 'deployments', key: deployment.id, value: { ...deployment, currentStep: progress.currentStep } });
    }
  }
  return { ops, events };
}

/** Apps whose step in a running deployment has not come yet: reconcile leaves them as they are. */
export function heldApps(state: ClusterState): Set<string> {
  const held = new Set<string>();
  for (const deployment of state.deployments.values()) {
    for (const step of deployment.plan.steps.slice(deployment.currentStep + 1)) for (const action of step.actions) held.add(action.app);
  }
  return held;
}

/**
 * Orders a deployment's actions into steps, Marathon's way: removed apps are stopped first; the
 * others start, scale or restart only after every app of the same deployment they depend on (by
 * its id, or the id of a group holding it) is done. Returns the cycle when there is one.
 */
export function orderSteps(actions: readonly DeploymentAction[], dependenciesOf: (appId: string) => readonly string[]): { steps: DeploymentStep[] } | { cycle: string[] } {
  const stops = actions.filter((a) => a.action === 'StopApplication');
  const others = actions.filter((a) => a.action !== 'StopApplication');
  const ids = others.map((a) => a.app);
  const needs = new Map(ids.map((id) => [id, ids.filter((other) => other !== id && dependenciesOf(id).some((dep) => other === dep || other.startsWith(dep === '/' ? '/' : `${dep}/`)))]));
  const level = new Map<string, number>();
  const visiting: string[] = [];
  const visit = (id: string): number | string[] => {
    const known = level.get(id);
    if (known !== undefined) return known;
    const at = visiting.indexOf(id);
    if (at >= 0) return [...visiting.slice(at), id];
    visiting.push(id);
    let mine = 0;
    for (const dep of needs.get(id) ?? []) {
      const below = visit(dep);
      if (Array.isArray(below)) return below;
      mine = Math.max(mine, below + 1);
    }
    visiting.pop();
    level.set(id, mine);
    return mine;
  };
  for (const id of ids) {
    const result = visit(id);
    if (Array.isArray(result)) return { cycle: result };
  }
  const steps: DeploymentStep[] = stops.length > 0 ? [{ actions: stops }] : [];
  const byLevel = new Map<number, DeploymentAction[]>();
  for (const action of others) {
    const n = level.get(action.app) ?? 0;
    byLevel.set(n, [...(byLevel.get(n) ?? []), action]);
  }
  for (const n of [...byLevel.keys()].sort((a, b) => a - b)) steps.push({ actions: byLevel.get(n) ?? [] });
  return { steps };
}

/** Running deployments that hold any of these apps. */
export function deploymentsHolding(state: ClusterState, appIds: readonly string[]): Deployment[] {
  return [...state.deployments.values()].filter((d) => d.affectedApps.some((id) => appIds.includes(id)));
}
