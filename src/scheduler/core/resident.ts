import { TERMINAL_TASK_STATES } from '../../events/types.ts';
import type { AgentRecord, AppDefinition, Instance, Reservation } from '../types.ts';
import type { Allocation, Unplaced } from './placement.ts';
import { upgradeStep } from './rolling-upgrade.ts';
import { launchedInstance } from './launched-instance.ts';

/**
 * Resident instances (Marathon's local persistent volumes): an instance of an app with
 * persistentVolumes holds a reservation on its agent (its volumes, and its cpus, mem, disk and
 * ports) whether its task runs or not. When the task ends it is kept, ended, and relaunched on
 * the same agent with the same volumes, never elsewhere; an upgrade kills the old task first
 * and relaunches the new configuration on the same reservation. Only a scale-down, the app's
 * removal or a kill with wipe releases it, and the agent is then told to destroy the data.
 */

/**
 * A new instance's reservation. Its persistence ids are Marathon's form
 * `<task id prefix>#<containerPath>#<uuid of the first task>`: unique, and the agent's directory names.
 */
export function newReservation(app: AppDefinition, taskId: string): Reservation {
  const dot = taskId.lastIndexOf('.');
  return { volumes: (app.persistentVolumes ?? []).map((v) => ({ containerPath: v.containerPath, persistenceId: `${taskId.slice(0, dot)}#${v.containerPath}#${taskId.slice(dot + 1)}`, size: v.size })) };
}

/** The reservation's task has ended (it is kept until relaunched or released). */
export const isReserved = (instance: Instance): boolean => TERMINAL_TASK_STATES.has(instance.state);

export interface ResidentContext {
  now: string;
  connectedAgents: ReadonlySet<string>;
  agents: ReadonlyMap<string, AgentRecord>;
  newTaskId: (appId: string) => string;
  /** Why relaunches wait (the app's backoff), or undefined when they may go now. */
  delayed?: string;
  ready: (instance: Instance) => boolean;
  /** Marathon's kill order (killSelection, constraints). */
  order: (instances: Instance[]) => Instance[];
  /**
   * Where the app's current configuration fits on an ended instance's agent, in place of that
   * instance (its ports kept when their number is unchanged), or why it does not.
   */
  fit: (from: Instance) => { ports: number[]; allocation: Allocation[] } | string;
}

/** One resident app's part of an evaluation. */
export interface ResidentPlan {
  /** Released (scale-down): running tasks are killed, and every one's volumes destroyed. */
  release: Instance[];
  /** Killed to come back on their reservation with the current configuration (an upgrade step). */
  replace: Instance[];
  /** Ended reservations launched again on their agent: the new instance replaces `from`. */
  relaunch: Array<{ from: Instance; to: Instance }>;
  /** Reservations that cannot be relaunched now, and why (their agent is away, the backoff). */
  waiting: Unplaced[];
  /** New reservations to place (the app has fewer than it asks for). */
  missing: number;
}

/** Decides what a resident app's reservations do now; `instances` are the app's. Pure. */
export function residentPlan(app: AppDefinition, instances: readonly Instance[], context: ResidentContext): ResidentPlan {
  const reservations = instances.filter((i) => i.goal === 'running');
  const excess = reservations.length - app.instances;
  // Ended reservations go first: releasing them kills nothing.
  const release = excess <= 0 ? [] : [...reservations.filter(isReserved), ...context.order(reservations.filter((i) => !isReserved(i)))].slice(0, excess);
  const kept = reservations.filter((i) => !release.includes(i));
  const current = app.versionInfo.lastConfigChangeAt;
  const old = kept.filter((i) => !isReserved(i) && i.reservation?.relaunch !== true && i.configVersion !== current);
  // COMPAT(marathon): never over capacity: the new task takes the old one's place (maximumOverCapacity 0).
  const replace = upgradeStep(app, kept.filter((i) => !old.includes(i)), old, context.ready, context.order).stop;
  const relaunch: ResidentPlan['relaunch'] = [];
  const waitingFor = new Map<string, number>();
  const wait = (reason: string): void => void waitingFor.set(reason, (waitingFor.get(reason) ?? 0) + 1);
  for (const instance of kept) {
    const away = !context.connectedAgents.has(instance.agentId);
    if (away && (isReserved(instance) || instance.state === 'TASK_UNREACHABLE')) {
      const agent = context.agents.get(instance.agentId);
      wait(agent === undefined
        ? `waiting for agent ${instance.agentId}, removed from the registry (kill with wipe=true to start over elsewhere)`
        : `waiting for agent ${instance.agentId} since ${agent.unreachableSince ?? instance.unreachableSince ?? instance.stagedAt}`);
      continue;
    }
    if (!isReserved(instance)) continue;
    if (context.delayed !== undefined) {
      wait(context.delayed);
      continue;
    }
    const fit = context.fit(instance);
    if (typeof fit === 'string') wait(`waiting for room on agent ${instance.agentId} (its reservation): ${fit}`);
    else relaunch.push({ from: instance, to: relaunched(instance, app, fit, context) });
  }
  return {
    release,
    replace,
    relaunch,
    waiting: [...waitingFor].map(([reason, count]) => ({ appId: app.id, count, reason })),
    missing: Math.max(0, app.instances - reservations.length),
  };
}

/** A new task on an ended instance's reservation: same agent and volumes; the app's current configuration. */
function relaunched(from: Instance, app: AppDefinition, fit: { ports: number[]; allocation: Allocation[] }, context: ResidentContext): Instance {
  const { relaunch: _relaunch, ...reservation } = from.reservation ?? { volumes: [] };
  const host = context.agents.get(from.agentId)?.ip ?? from.host;
  return launchedInstance(app, { agentId: from.agentId, host, ...fit }, context.newTaskId(app.id), context.now, {
    message: `relaunched on its reservation (was ${from.taskId})`,
    reservation,
  });
}
