/** How far one affected app is: instances of its current configuration ready, of how many wanted. */
export interface AppReadiness {
  id: string;
  target: number;
  ready: number;
  /** Instances of an older configuration (or not yet ready) still there. */
  others: number;
}

export type DeploymentOutcome = { ok: true } | { ok: false; reason: string };

/** What a watcher knows of one deployment, folded from events and polled state. */
export interface DeploymentProgress {
  id: string;
  /** 1-based, as Marathon's `currentStep`; 0 until known. */
  step: number;
  totalSteps: number;
  apps: readonly string[];
  readiness: readonly AppReadiness[];
  started: ReadonlySet<string>;
  healthy: ReadonlySet<string>;
  killed: ReadonlySet<string>;
  failed: ReadonlySet<string>;
  outcome?: DeploymentOutcome;
}

type Json = Record<string, unknown>;

export function startProgress(id: string): DeploymentProgress {
  return { id, step: 0, totalSteps: 0, apps: [], readiness: [], started: new Set(), healthy: new Set(), killed: new Set(), failed: new Set() };
}

const added = (set: ReadonlySet<string>, value: string): ReadonlySet<string> => (set.has(value) ? set : new Set([...set, value]));

function planApps(plan: unknown): string[] {
  const steps = (plan as { steps?: Array<{ actions?: Array<{ app?: unknown }> }> } | undefined)?.steps ?? [];
  return [...new Set(steps.flatMap((s) => (s.actions ?? []).map((a) => a.app)).filter((a): a is string => typeof a === 'string'))];
}

/** Steps, step and apps from a `GET /v2/deployments` entry. */
export function applyDeploymentJson(progress: DeploymentProgress, deployment: Json): DeploymentProgress {
  const apps = Array.isArray(deployment.affectedApps) ? deployment.affectedApps.filter((a): a is string => typeof a === 'string') : progress.apps;
  return {
    ...progress,
    apps,
    step: typeof deployment.currentStep === 'number' ? deployment.currentStep : progress.step,
    totalSteps: typeof deployment.totalSteps === 'number' ? deployment.totalSteps : progress.totalSteps,
  };
}

/** Folds one event of the stream; events of other deployments and apps leave it as it was. */
export function applyDeploymentEvent(progress: DeploymentProgress, type: string, data: Json): DeploymentProgress {
  if (progress.outcome !== undefined) return progress;
  const plan = data.plan as { id?: unknown; steps?: unknown[] } | undefined;
  switch (type) {
    case 'deployment_info':
    case 'deployment_step_success': {
      if (plan?.id !== progress.id) return progress;
      const steps = plan.steps ?? [];
      const current = JSON.stringify(data.currentStep);
      const index = steps.findIndex((s) => JSON.stringify(s) === current);
      const step = index < 0 ? progress.step : Math.min(steps.length, index + (type === 'deployment_info' ? 1 : 2));
      return { ...progress, apps: planApps(plan), totalSteps: steps.length, step: Math.max(progress.step, step) };
    }
    case 'deployment_success':
      return data.id === progress.id ? { ...progress, step: progress.totalSteps, outcome: { ok: true } } : progress;
    case 'deployment_failed':
      return data.id === progress.id ? { ...progress, outcome: { ok: false, reason: typeof data.reason === 'string' ? data.reason : 'no reason given' } } : progress;
    case 'status_update_event': {
      if (!progress.apps.includes(String(data.appId)) || typeof data.taskId !== 'string') return progress;
      const task = data.taskId;
      if (data.taskStatus === 'TASK_RUNNING') return { ...progress, started: added(progress.started, task) };
      if (data.taskStatus === 'TASK_KILLED') return { ...progress, killed: added(progress.killed, task) };
      if (data.taskStatus === 'TASK_FAILED') return { ...progress, failed: added(progress.failed, task) };
      return progress;
    }
    case 'instance_health_changed_event':
      if (!progress.apps.includes(String(data.runSpecId)) || data.healthy !== true || typeof data.instanceId !== 'string') return progress;
      return { ...progress, healthy: added(progress.healthy, data.instanceId) };
    default:
      return progress;
  }
}

/**
 * Readiness of an app from Marathon's app JSON with its tasks: running, of the current
 * configuration, and alive on every health check (when it has checks).
 */
export function appReadiness(app: Json): AppReadiness {
  const tasks = Array.isArray(app.tasks) ? (app.tasks as Json[]) : [];
  const configAt = Date.parse(String((app.versionInfo as Json | undefined)?.lastConfigChangeAt ?? app.version ?? ''));
  const checked = Array.isArray(app.healthChecks) && app.healthChecks.length > 0;
  const ready = tasks.filter((t) => {
    const current = !(Date.parse(String(t.version)) < configAt);
    const results = Array.isArray(t.healthCheckResults) ? (t.healthCheckResults as Json[]) : [];
    const alive = !checked || (results.length > 0 && results.every((r) => r.alive === true));
    return current && t.state === 'TASK_RUNNING' && alive;
  }).length;
  return { id: String(app.id), target: typeof app.instances === 'number' ? app.instances : 0, ready, others: tasks.length - ready };
}

/** 0..1: the mean over affected apps of ready/target (an app going to 0 is done when nothing is left). */
export function progressFraction(progress: DeploymentProgress): number {
  if (progress.outcome?.ok === true) return 1;
  if (progress.readiness.length === 0) return 0;
  const parts = progress.readiness.map((r) => (r.target > 0 ? Math.min(1, r.ready / r.target) : r.others === 0 ? 1 : 0));
  return parts.reduce((a, b) => a + b, 0) / parts.length;
}

export interface ProgressStyle {
  /** Unicode bar and marks (a terminal) or plain ASCII (a pipe or a file). */
  unicode: boolean;
  barWidth: number;
}

function counts(progress: DeploymentProgress): string {
  const parts = [`started ${progress.started.size}`, `healthy ${progress.healthy.size}`, `killed ${progress.killed.size}`];
  if (progress.failed.size > 0) parts.push(`failed ${progress.failed.size}`);
  return parts.join(' · ');
}

/** The live progress line: step n/m, a bar, instances ready of wanted, and what happened to instances. */
export function describeProgress(progress: DeploymentProgress, style: ProgressStyle): string {
  const filled = Math.round(progressFraction(progress) * style.barWidth);
  const [on, off] = style.unicode ? ['█', '░'] : ['#', '-'];
  const bar = `[${on.repeat(filled)}${off.repeat(style.barWidth - filled)}]`;
  const ready = progress.readiness.reduce((a, r) => a + r.ready, 0);
  const target = progress.readiness.reduce((a, r) => a + r.target, 0);
  const step = progress.totalSteps > 0 ? `step ${progress.step}/${progress.totalSteps}` : 'step ?/?';
  return `${step} ${bar} ${ready}/${target} ready · ${counts(progress)}`;
}

/** The closing line: success (with a mark), or the failure and its reason (printed as an error). */
export function describeOutcome(progress: DeploymentProgress, elapsedMs: number, style: Pick<ProgressStyle, 'unicode'>): string {
  const seconds = (elapsedMs / 1000).toFixed(1);
  if (progress.outcome?.ok === false) return `deployment ${progress.id} failed after ${seconds}s: ${progress.outcome.reason}`;
  return `${style.unicode ? '✔' : 'OK:'} deployment ${progress.id} succeeded in ${seconds}s (${counts(progress)})`;
}
