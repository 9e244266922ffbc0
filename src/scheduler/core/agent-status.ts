import type { ClusterEvent, TaskState } from '../../events/types.ts';
import { TERMINAL_TASK_STATES } from '../../events/types.ts';
import type { RegisterRequest, TaskStatusUpdate } from '../../shared/agent-protocol.ts';
import type { AgentRecord, ClusterState, Instance, StateOp } from '../types.ts';
import { statusUpdateEvent } from './marathon-json.ts';

/** State changes plus the events they emit, and tasks an agent must kill as a consequence. */
export interface Change {
  ops: StateOp[];
  events: ClusterEvent[];
  kill: string[];
  /** Apps with an instance that ended while it was wanted running (they back off). */
  failedApps: string[];
}

const noChange = (): Change => ({ ops: [], events: [], kill: [], failedApps: [] });

/** Moves an instance to a new state: terminal instances are forgotten (the reconciler replaces them if wanted). */
function transition(instance: Instance, state: TaskState, message: string, now: string, lastUpdate?: string): Omit<Change, 'kill'> {
  const ended = TERMINAL_TASK_STATES.has(state);
  const next: Instance = {
    ...instance,
    state,
    message,
    ...(state === 'TASK_RUNNING' && instance.startedAt === undefined ? { startedAt: now } : {}),
    ...(lastUpdate !== undefined ? { lastUpdate } : {}),
  };
  const op: StateOp = ended
    ? { op: 'del', coll: 'instances', key: instance.taskId }
    : { op: 'put', coll: 'instances', key: instance.taskId, value: next };
  return { ops: [op], events: [statusUpdateEvent(next, now)], failedApps: ended && instance.goal === 'running' ? [instance.appId] : [] };
}

/** Applies one status update from an agent; retried and stale updates change nothing. */
export function applyStatus(state: ClusterState, agentId: string, update: TaskStatusUpdate, now: string): Change {
  const instance = state.instances.get(update.taskId);
  if (instance === undefined || instance.agentId !== agentId) {
    // A task the scheduler does not know must not keep running unaccounted for.
    return TERMINAL_TASK_STATES.has(update.state) ? noChange() : { ...noChange(), kill: [update.taskId] };
  }
  if (instance.lastUpdate === update.uuid) return noChange();
  // A late RUNNING from before the kill must not bring a stopping instance back into DNS and LB.
  if (instance.goal === 'stopped' && !TERMINAL_TASK_STATES.has(update.state)) return noChange();
  if (instance.state === update.state && instance.message === update.message) {
    return { ...noChange(), ops: [{ op: 'put', coll: 'instances', key: instance.taskId, value: { ...instance, lastUpdate: update.uuid } }] };
  }
  return { ...transition(instance, update.state, update.message, now, update.uuid), kill: [] };
}

/**
 * Registers (or re-registers) an agent and reconciles the tasks it reports: tasks the scheduler
 * no longer wants are killed, wanted ones adopted with their reported state, and instances the
 * agent does not report any more are lost (the reconciler then replaces them).
 */
export function registerAgent(state: ClusterState, agentId: string, request: RegisterRequest, now: string): Change {
  const agent: AgentRecord = {
    id: agentId,
    hostname: request.hostname,
    ip: request.ip,
    endpoint: request.endpoint,
    resources: request.resources,
    attributes: request.attributes,
    registeredAt: state.agents.get(agentId)?.registeredAt ?? now,
  };
  const change: Change = { ...noChange(), ops: [{ op: 'put', coll: 'agents', key: agentId, value: agent }] };
  const reported = new Map(request.tasks.map((t) => [t.taskId, t.state]));
  for (const [taskId, reportedState] of reported) {
    const instance = state.instances.get(taskId);
    if (instance === undefined || instance.agentId !== agentId || instance.goal === 'stopped') {
      change.kill.push(taskId);
    } else if (instance.state !== reportedState) {
      merge(change, transition(instance, reportedState, 'reconciled on agent registration', now));
    }
  }
  for (const instance of state.instances.values()) {
    if (instance.agentId !== agentId || reported.has(instance.taskId)) continue;
    merge(change, transition(instance, 'TASK_LOST', 'task not known to the agent on re-registration', now));
  }
  return change;
}

/**
 * An agent silent for longer than the agent timeout: its tasks become unreachable, and those
 * already being stopped are forgotten (nobody can confirm their end; a returning agent is told
 * to kill them at registration).
 */
export function markAgentUnreachable(state: ClusterState, agentId: string, now: string): Change {
  const change = noChange();
  for (const instance of state.instances.values()) {
    if (instance.agentId !== agentId || instance.state === 'TASK_UNREACHABLE') continue;
    merge(change, instance.goal === 'stopped'
      ? transition(instance, 'TASK_KILLED', 'expunged: its agent is unreachable', now)
      : transition(instance, 'TASK_UNREACHABLE', 'agent did not reconnect within the agent timeout', now));
  }
  return change;
}

/**
 * The scheduler decided to stop an instance: it shows as TASK_KILLING at once, so DNS and LB
 * drop it before the kill lands. An unreachable one cannot be killed and is expunged (Marathon).
 */
export function stopInstance(instance: Instance, now: string): Omit<Change, 'kill'> {
  const stopping: Instance = { ...instance, goal: 'stopped' };
  return instance.state === 'TASK_UNREACHABLE'
    ? transition(stopping, 'TASK_KILLED', 'expunged: killed while unreachable', now)
    : transition(stopping, 'TASK_KILLING', 'killed by the scheduler', now);
}

function merge(into: Change, part: Omit<Change, 'kill'>): void {
  into.ops.push(...part.ops);
  into.events.push(...part.events);
  into.failedApps.push(...part.failedApps);
}
