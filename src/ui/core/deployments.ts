import type { App, Deployment, ReadinessResult } from './marathon.ts';
import { TERMINAL_STATES } from './marathon.ts';

/** One current action as the Deployments page shows it: how far its app is, and its readiness. */
export interface ActionProgress {
  action: string;
  app: string;
  /** Instances asked of the new configuration. */
  target: number;
  /** Running instances of the app's current version, and of them the healthy ones (where checked). */
  updated: number;
  healthy: number;
  /** Of those, the ones whose readiness checks all passed (the healthy ones when the app has none). */
  ready: number;
  /** Instances of older versions still there (being replaced or stopped). */
  old: number;
  /** One line per instance and check: `ready`, or why not (the last response's status and body's start). */
  readiness: Array<{ taskId: string; name: string; ready: boolean; text: string }>;
  words: string;
}

export interface DeploymentProgress {
  /** 0..1 over the steps: the steps done and the current one's share. */
  fraction: number;
  actions: ActionProgress[];
}

const BODY_SHOWN = 120;

function readinessLine(r: ReadinessResult): { taskId: string; name: string; ready: boolean; text: string } {
  if (r.ready) return { taskId: r.taskId, name: r.name, ready: true, text: 'ready' };
  const response = r.lastResponse;
  if (response === undefined) return { taskId: r.taskId, name: r.name, ready: false, text: 'not ready: no answer yet' };
  const body = (response.body ?? '').replace(/\s+/g, ' ').trim();
  const shown = body.length > BODY_SHOWN ? `${body.slice(0, BODY_SHOWN)}…` : body;
  return { taskId: r.taskId, name: r.name, ready: false, text: `not ready: HTTP ${response.status}${shown === '' ? '' : ` "${shown}"`}` };
}

/** How a deployment is getting on, from its plan and the apps' live instances. */
export function deploymentProgress(deployment: Deployment, apps: ReadonlyMap<string, App>): DeploymentProgress {
  const actions = deployment.currentActions.map((a): ActionProgress => {
    const app = apps.get(a.app);
    const live = (app?.tasks ?? []).filter((t) => !TERMINAL_STATES.has(t.state));
    const current = live.filter((t) => t.version === app?.version);
    const updated = current.filter((t) => t.state === 'TASK_RUNNING').length;
    const checked = (app?.healthChecks ?? []).length > 0;
    const healthy = checked ? current.filter((t) => t.healthy === true || (t.healthy === undefined && (t.healthCheckResults ?? []).length > 0 && (t.healthCheckResults ?? []).every((r) => r.alive))).length : updated;
    const target = a.action === 'StopApplication' ? 0 : app?.instances ?? 0;
    const old = live.length - current.length;
    const readiness = (a.readinessCheckResults ?? []).map(readinessLine);
    // With readiness checks an instance counts once every check of it has passed.
    const asked = Array.isArray(app?.readinessChecks) && app.readinessChecks.length > 0;
    const ready = asked ? current.filter((t) => readiness.some((r) => r.taskId === t.id) && readiness.every((r) => r.taskId !== t.id || r.ready)).length : healthy;
    const words = a.action === 'StopApplication' ? `${live.length} instance(s) left to stop`
      : `${updated} of ${target} running the new version${checked ? `, ${healthy} healthy` : ''}${asked ? `, ${ready} of ${target} ready` : ''}${old > 0 ? `; ${old} old instance(s) still there` : ''}`;
    return { action: a.action, app: a.app, target, updated, healthy, ready, old, readiness, words };
  });
  // The current step's share: the least advanced of its actions (a step ends when all have).
  const shares = actions.map((a) => (a.action === 'StopApplication' ? (a.old + a.updated === 0 ? 1 : 0) : a.target === 0 ? (a.old === 0 ? 1 : 0) : Math.min(1, Math.min(a.healthy, a.ready) / a.target)));
  const share = shares.length === 0 ? 0 : Math.min(...shares);
  const done = Math.max(0, deployment.currentStep - 1);
  return { fraction: deployment.totalSteps === 0 ? 0 : Math.min(1, (done + share) / deployment.totalSteps), actions };
}

/**
 * Readiness results come in no event: the deployments read again (while their page is shown)
 * give them to the deployments the events keep, action by action; a deployment or step the
 * answer does not know yet (or no longer) is left as it is.
 */
export function mergeReadiness(deployments: ReadonlyMap<string, Deployment>, listed: readonly Deployment[]): Map<string, Deployment> {
  const next = new Map(deployments);
  for (const read of listed) {
    const known = next.get(read.id);
    if (known === undefined || known.currentStep !== read.currentStep) continue;
    const results = new Map(read.currentActions.map((a) => [`${a.action} ${a.app}`, a.readinessCheckResults ?? []]));
    next.set(read.id, { ...known, currentActions: known.currentActions.map((a) => ({ ...a, readinessCheckResults: results.get(`${a.action} ${a.app}`) ?? a.readinessCheckResults ?? [] })) });
  }
  return next;
}
