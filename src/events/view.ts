import type { ClusterEvent, DiscoveryApp, DiscoverySnapshot, DiscoveryTask } from './types.ts';
import { TERMINAL_TASK_STATES } from './types.ts';

/**
 * A follower's picture of the cluster: apps and their live tasks, as of `eventId`.
 * Immutable: `applyEvent` returns a new view (or the same one when nothing changed), so a
 * consumer can compare references to skip rebuilding its table.
 */
export interface ClusterView {
  readonly eventId: number;
  readonly apps: ReadonlyMap<string, DiscoveryApp>;
  readonly tasks: ReadonlyMap<string, DiscoveryTask>;
}

export const EMPTY_VIEW: ClusterView = Object.freeze({ eventId: 0, apps: new Map(), tasks: new Map() });

export function viewFromSnapshot(snapshot: DiscoverySnapshot): ClusterView {
  return {
    eventId: snapshot.eventId,
    apps: new Map(snapshot.apps.map((app) => [app.id, app])),
    tasks: new Map(snapshot.tasks.map((task) => [task.id, task])),
  };
}

/** Folds one committed event into the view. Events at or below the view's id are ignored. */
export function applyEvent(view: ClusterView, eventId: number, event: ClusterEvent): ClusterView {
  if (eventId <= view.eventId) return view;
  switch (event.eventType) {
    case 'api_post_event': {
      const apps = new Map(view.apps);
      const { id, version, labels, portDefinitions, healthChecks } = event.appDefinition;
      apps.set(id, { id, version, labels, portDefinitions, healthChecks });
      return { eventId, apps, tasks: view.tasks };
    }
    case 'app_terminated_event': {
      const apps = new Map(view.apps);
      apps.delete(event.appId);
      const tasks = new Map([...view.tasks].filter(([, task]) => task.appId !== event.appId));
      return { eventId, apps, tasks };
    }
    case 'status_update_event': {
      const tasks = new Map(view.tasks);
      if (TERMINAL_TASK_STATES.has(event.taskStatus)) {
        tasks.delete(event.taskId);
      } else {
        const previous = view.tasks.get(event.taskId);
        tasks.set(event.taskId, {
          id: event.taskId,
          appId: event.appId,
          slaveId: event.slaveId,
          host: event.host,
          ipAddresses: event.ipAddresses,
          ports: event.ports,
          state: event.taskStatus,
          healthy: previous?.healthy,
          version: event.version,
          startedAt: previous?.startedAt ?? (event.taskStatus === 'TASK_RUNNING' ? event.timestamp : undefined),
        });
      }
      return { eventId, apps: view.apps, tasks };
    }
    case 'instance_health_changed_event': {
      const task = view.tasks.get(event.instanceId);
      if (task === undefined) return { ...view, eventId };
      const tasks = new Map(view.tasks);
      tasks.set(task.id, { ...task, healthy: event.healthy });
      return { eventId, apps: view.apps, tasks };
    }
    default:
      return { ...view, eventId };
  }
}

/**
 * The rule DNS and LB share for which instances receive traffic: running, not being killed,
 * and healthy (every check passing, or none defined).
 */
export function isServing(task: DiscoveryTask, app: DiscoveryApp | undefined): boolean {
  if (task.state !== 'TASK_RUNNING') return false;
  if (app === undefined) return false;
  if (app.healthChecks.length === 0) return true;
  return task.healthy === true;
}
