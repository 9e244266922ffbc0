import type { ClusterEvent, DiscoveryAgent, DiscoveryApp, DiscoverySnapshot, DiscoveryTask } from '../types.ts';
import { LayeredMap } from '../../shared/layered-map.ts';
import { TERMINAL_TASK_STATES } from '../types.ts';

/**
 * A follower's picture of the cluster: apps and their live tasks, as of `eventId`.
 * Immutable: `applyEvent` returns a new view (or the same one when nothing changed), so a
 * consumer can compare references to skip rebuilding its table.
 */
export interface ClusterView {
  readonly eventId: number;
  readonly apps: ReadonlyMap<string, DiscoveryApp>;
  readonly tasks: ReadonlyMap<string, DiscoveryTask>;
  /** From the snapshot only: `host:port` of the leading scheduler. */
  readonly leader?: string;
  /** From the snapshot only: every scheduler as `host:port`, leader first. */
  readonly masters?: readonly string[];
  /** The reachable registered agents: from the snapshot, then `agent_added_event` / `agent_removed_event`. */
  readonly agents?: readonly DiscoveryAgent[];
  /**
   * What the event that made this view touched, relative to the view with id `after`; absent on
   * views read from a snapshot. Lets a consumer that saw every view patch instead of diffing.
   */
  readonly changed?: ViewChange;
}

export interface ViewChange {
  readonly after: number;
  readonly taskIds: readonly string[];
  readonly appIds: readonly string[];
}

export const EMPTY_VIEW: ClusterView = Object.freeze({ eventId: 0, apps: new Map(), tasks: new Map() });

export function viewFromSnapshot(snapshot: DiscoverySnapshot): ClusterView {
  return {
    eventId: snapshot.eventId,
    apps: new Map(snapshot.apps.map((app) => [app.id, app])),
    tasks: new Map(snapshot.tasks.map((task) => [task.id, task])),
    ...(snapshot.leader === undefined ? {} : { leader: snapshot.leader }),
    ...(snapshot.masters === undefined ? {} : { masters: snapshot.masters }),
    ...(snapshot.agents === undefined ? {} : { agents: snapshot.agents }),
  };
}

/**
 * The view with `hostPort` as the leader (named by `X-Marathon-Leader` on the stream after a
 * failover: no snapshot says so then), first of the masters; the same view when nothing changes
 * or the view names no leader. Without `changed`: a consumer rebuilds rather than patches.
 */
export function withLeader(view: ClusterView, hostPort: string): ClusterView {
  if (view.leader === undefined || view.leader === hostPort) return view;
  const { changed: _changed, ...rest } = view;
  const masters = view.masters === undefined ? {} : { masters: [hostPort, ...view.masters.filter((master) => master !== hostPort)] };
  return { ...rest, leader: hostPort, ...masters };
}

/** Folds one committed event into the view. Events at or below the view's id are ignored. */
export function applyEvent(view: ClusterView, eventId: number, event: ClusterEvent): ClusterView {
  if (eventId <= view.eventId) return view;
  const changed = (taskIds: readonly string[], appIds: readonly string[]): ViewChange => ({ after: view.eventId, taskIds, appIds });
  switch (event.eventType) {
    case 'api_post_event': {
      const apps = new Map(view.apps);
      apps.set(event.appDefinition.id, discoveryApp(event.appDefinition));
      return { ...view, eventId, apps, changed: changed([], [event.appDefinition.id]) };
    }
    case 'app_terminated_event': {
      const apps = new Map(view.apps);
      apps.delete(event.appId);
      const tasks = new Map([...view.tasks].filter(([, task]) => task.appId !== event.appId));
      const gone = [...view.tasks.values()].filter((task) => task.appId === event.appId).map((task) => task.id);
      return { ...view, eventId, apps, tasks, changed: changed(gone, [event.appId]) };
    }
    case 'status_update_event': {
      const tasks = editable(view.tasks);
      if (TERMINAL_TASK_STATES.has(event.taskStatus)) {
        tasks.remove(event.taskId);
      } else {
        const previous = view.tasks.get(event.taskId);
        tasks.put(event.taskId, {
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
      return { ...view, eventId, tasks: settled(tasks), changed: changed([event.taskId], [event.appId]) };
    }
    case 'instance_health_changed_event': {
      const task = view.tasks.get(event.instanceId);
      if (task === undefined) return { ...view, eventId, changed: changed([], []) };
      const tasks = editable(view.tasks);
      tasks.put(task.id, { ...task, healthy: event.healthy });
      return { ...view, eventId, tasks: settled(tasks), changed: changed([task.id], [task.appId]) };
    }
    case 'agent_added_event': {
      // A re-registration may bring a new address: the agent's entry is replaced, not merged.
      const agents = [...(view.agents ?? []).filter((agent) => agent.id !== event.agent.id), event.agent];
      return { ...view, eventId, agents, changed: changed([], []) };
    }
    case 'agent_removed_event': {
      const agents = view.agents?.filter((agent) => agent.id !== event.agentId);
      if (agents === undefined || agents.length === view.agents?.length) return { ...view, eventId, changed: changed([], []) };
      return { ...view, eventId, agents, changed: changed([], []) };
    }
    default:
      return { ...view, eventId, changed: changed([], []) };
  }
}

/**
 * The discovery fields of Marathon's app JSON: of `container`, only the port mappings (the
 * networking fields only when the app has them, so host-network apps look as they always did).
 */
function discoveryApp(definition: DiscoveryApp): DiscoveryApp {
  const { id, version, labels, portDefinitions, healthChecks, networks } = definition;
  const portMappings = definition.container?.portMappings;
  return {
    id,
    version,
    labels,
    portDefinitions,
    healthChecks,
    // As the discovery snapshot has it: Marathon 1.5's app JSON writes out the host network too.
    ...(networks?.some((network) => network.mode !== 'host') === true ? { networks, container: { portMappings: portMappings ?? [] } } : {}),
  };
}

/**
 * Tasks are held in a layered map: a view copies only the changes since its base, not all
 * 100,000 tasks per event; the base is never written (old views stay as they were), and is
 * rebuilt once the changes grow large.
 */
const REBASE_AFTER = 1024;

function editable(tasks: ReadonlyMap<string, DiscoveryTask>): LayeredMap<DiscoveryTask> {
  return tasks instanceof LayeredMap ? (tasks as LayeredMap<DiscoveryTask>).fork() : LayeredMap.over(new Map(tasks));
}

function settled(tasks: LayeredMap<DiscoveryTask>): ReadonlyMap<string, DiscoveryTask> {
  return tasks.uncommitted > REBASE_AFTER ? LayeredMap.over(new Map(tasks)) : tasks;
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
