import { foldJobEvent, jobOf, type Job } from './jobs.ts';
import { TERMINAL_STATES, type App, type Deployment, type QueueEntry, type Task } from './marathon.ts';

/** What the UI knows of the cluster: apps with their tasks, deployments, the launch queue, jobs. */
export interface ClusterView {
  apps: ReadonlyMap<string, App>;
  deployments: ReadonlyMap<string, Deployment>;
  queue: ReadonlyMap<string, QueueEntry>;
  jobs: ReadonlyMap<string, Job>;
}

export const EMPTY_VIEW: ClusterView = { apps: new Map(), deployments: new Map(), queue: new Map(), jobs: new Map() };

/** The view from the API's listings (`/v2/apps?embed=apps.tasks…`, `/v2/deployments`, `/v2/queue`, core/jobs.ts' JOBS_LISTING). */
export function viewOf(apps: readonly App[], deployments: readonly Deployment[], queue: readonly QueueEntry[], jobs: ReadonlyArray<Record<string, unknown>> = []): ClusterView {
  return {
    apps: new Map(apps.map((app) => [app.id, app])),
    deployments: new Map(deployments.map((d) => [d.id, d])),
    queue: new Map(queue.map((entry) => [entry.app.id, entry])),
    jobs: new Map(jobs.map((raw) => { const job = jobOf(raw); return [job.id, job]; })),
  };
}

/** What a folded event asks the UI to read again: things no event carries in full. */
export type Refresh = 'queue' | 'agents' | 'jobs' | 'deployments' | 'all';

/** A stream event, loosely: the fields the fold reads, checked where they are read. */
export type StreamEvent = { eventType: string; timestamp?: string } & Record<string, unknown>;

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function withApp(view: ClusterView, app: App): ClusterView {
  const apps = new Map(view.apps);
  apps.set(app.id, app);
  return { ...view, apps };
}

function withTask(view: ClusterView, appId: string, taskId: string, change: (task: Task | undefined) => Task | undefined): ClusterView {
  const app = view.apps.get(appId);
  if (app === undefined) return view;
  const tasks = app.tasks ?? [];
  const index = tasks.findIndex((t) => t.id === taskId);
  const next = change(index < 0 ? undefined : tasks[index]);
  const updated = index < 0 ? (next === undefined ? tasks : [...tasks, next])
    : next === undefined ? tasks.filter((_, i) => i !== index) : tasks.map((t, i) => (i === index ? next : t));
  return updated === tasks ? view : withApp(view, { ...app, tasks: updated });
}

function deploymentOf(plan: Record<string, unknown>, current: unknown): Deployment | undefined {
  const id = str(plan.id);
  if (id === undefined || !Array.isArray(plan.steps)) return undefined;
  const steps = plan.steps as Deployment['steps'];
  const currentActions = (current as { actions?: Deployment['currentActions'] } | undefined)?.actions ?? [];
  const index = steps.findIndex((s) => JSON.stringify(s.actions) === JSON.stringify(currentActions));
  return {
    id,
    version: str(plan.version) ?? '',
    affectedApps: [...new Set(steps.flatMap((s) => s.actions.map((a) => a.app)))],
    steps,
    currentActions,
    currentStep: index + 1,
    totalSteps: steps.length,
  };
}

/** One copy of the apps for the whole plan: a deployment of a thousand apps is one event. */
function setAppDeployments(view: ClusterView, appIds: readonly string[], id: string, present: boolean): ClusterView {
  const apps = new Map(view.apps);
  for (const appId of appIds) {
    const app = apps.get(appId);
    if (app === undefined) continue;
    const others = (app.deployments ?? []).filter((d) => d.id !== id);
    apps.set(appId, { ...app, deployments: present ? [...others, { id }] : others });
  }
  return { ...view, apps };
}

/**
 * Folds one stream event into the view. Pure: the same view and event give the same answer, so
 * a replay (Last-Event-ID) over a newer snapshot converges on the same state as the cluster.
 */
export function foldEvent(view: ClusterView, event: StreamEvent): { view: ClusterView; refresh?: Refresh } {
  switch (event.eventType) {
    case 'api_post_event': {
      const definition = event.appDefinition as App | undefined;
      if (definition === undefined || typeof definition.id !== 'string') return { view };
      const old = view.apps.get(definition.id);
      const app: App = { ...definition, tasks: old?.tasks ?? [], deployments: old?.deployments ?? [], ...(old?.lastTaskFailure ? { lastTaskFailure: old.lastTaskFailure } : {}) };
      return { view: withApp(view, app), refresh: 'queue' };
    }
    case 'app_terminated_event': {
      const appId = str(event.appId);
      if (appId === undefined || !view.apps.has(appId)) return { view };
      const apps = new Map(view.apps);
      apps.delete(appId);
      const queue = new Map(view.queue);
      queue.delete(appId);
      return { view: { ...view, apps, queue } };
    }
    case 'job_created':
    case 'job_updated':
    case 'job_deleted':
    case 'job_run_started':
    case 'job_run_finished':
    case 'job_run_failed':
    {
      const { jobs } = foldJobEvent(view.jobs, event);
      return { view: jobs === view.jobs ? view : { ...view, jobs } };
    }
    case 'status_update_event': {
      const [appId, taskId, state] = [str(event.appId), str(event.taskId), str(event.taskStatus)];
      if (appId === undefined || taskId === undefined || state === undefined) return { view };
      // A job run's task: the run's status and tasks are read again (no event carries them).
      if (foldJobEvent(view.jobs, event).reread === true) return { view, refresh: 'jobs' };
      const next = withTask(view, appId, taskId, (task) => {
        if (TERMINAL_STATES.has(state)) return undefined;
        const base: Task = task ?? { id: taskId, appId, host: '', ports: [], state, version: '', stagedAt: event.timestamp };
        return {
          ...base,
          state,
          host: str(event.host) ?? base.host,
          slaveId: str(event.slaveId) ?? base.slaveId,
          ports: Array.isArray(event.ports) ? (event.ports as number[]) : base.ports,
          version: str(event.version) ?? base.version,
          ...(state === 'TASK_RUNNING' && base.startedAt === undefined ? { startedAt: event.timestamp } : {}),
        };
      });
      // A failure starts a backoff and changes the last task failure; a start may empty the queue.
      return { view: next, refresh: 'queue' };
    }
    case 'instance_health_changed_event': {
      const [appId, taskId] = [str(event.runSpecId), str(event.instanceId)];
      if (appId === undefined || taskId === undefined || typeof event.healthy !== 'boolean') return { view };
      const healthy = event.healthy;
      return { view: withTask(view, appId, taskId, (task) => (task === undefined ? undefined : { ...task, healthy })) };
    }
    case 'deployment_info':
    case 'deployment_step_success': {
      const deployment = deploymentOf((event.plan ?? {}) as Record<string, unknown>, event.currentStep);
      if (deployment === undefined) return { view };
      const deployments = new Map(view.deployments);
      deployments.set(deployment.id, deployment);
      return { view: setAppDeployments({ ...view, deployments }, deployment.affectedApps, deployment.id, true) };
    }
    case 'deployment_success':
    case 'deployment_failed': {
      const id = str(event.id) ?? str((event.plan as { id?: unknown } | undefined)?.id);
      if (id === undefined) return { view };
      const gone = view.deployments.get(id);
      const deployments = new Map(view.deployments);
      deployments.delete(id);
      const plan = deploymentOf((event.plan ?? {}) as Record<string, unknown>, undefined);
      const apps = [...new Set([...(gone?.affectedApps ?? []), ...(plan?.affectedApps ?? [])])];
      return { view: setAppDeployments({ ...view, deployments }, apps, id, false), refresh: 'queue' };
    }
    case 'agent_added_event':
    case 'agent_removed_event':
      return { view, refresh: 'agents' };
    case 'resync_required':
      return { view, refresh: 'all' };
    default:
      return { view };
  }
}
