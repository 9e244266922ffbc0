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
}

const NO_CHANGE: Change = { ops: [], events: [], kill: [] };

/** Moves an instance to a new state: terminal instances are forgotten (the reconciler replaces them if wanted). */
function transition(instance: Instance, state: TaskState, message: string, now: string, lastUpdate?: string): Omit<Change, 'kill'> {
  const next: Instance = {
    ...instance,
    state,
    message,
    ...(state === 'TASK_RUNNING' && instance.startedAt === undefined ? { startedAt: now } : {}),
    ...(lastUpdate !== undefined ? { lastUpdate } : {}),
  };
  const op: StateOp = TERMINAL_TASK_STATES.has(state)
    ? { op: 'del', coll: 'instances', key: instance.taskId }
    : { op: 'put', coll: 'instances', key: instance.taskId, value: next };
  return { ops: [op], events: [statusUpdateEvent(next, now)] };
}

/** Applies one status update from an agent; retried and stale updates change nothing. */
export function applyStatus(state: ClusterState, agentId: string, update: TaskStatusUpdate, now: string): Change {
  const instance = state.instances.get(update.taskId);
  if (instance === undefined || instance.agentId !== agentId) {
    // A task the scheduler does not know must not keep running unaccounted for.
    return TERMINAL_TASK_STATES.has(update.state) ? NO_CHANGE : { ...NO_CHANGE, kill: [update.taskId] };
  }
  if (instance.lastUpdate === update.uuid) return NO_CHANGE;
  // A late RUNNING from before the kill must not bring a stopping instance back into DNS and LB.
  if (instance.goal === 'stopped' && !TERMINAL_TASK_STATES.has(update.state)) return NO_CHANGE;
  if (instance.state === update.state && instance.message === update.message) {
    return { ops: [{ op: 'put', coll: 'instances', key: instance.taskId, value: { ...instance, lastUpdate: update.uuid } }], events: [], kill: [] };
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
  const change: Change = { ops: [{ op: 'put', coll: 'agents', key: agentId, value: agent }], events: [], kill: [] };
  const reported = new Map(request.tasks.map((t) => [t.taskId, t.state]));
  for (const [taskId, reportedState] of reported) {
    const instance = state.instances.get(taskId);
    if (instance === undefined || instance.agentId !== agentId || instance.goal === 'stopped') {
      change.kill.push(taskId);
    } else if (instance.state !== reportedState) {
      const moved = transition(instance, reportedState, 'reconciled on agent registration', now);
      change.ops.push(...moved.ops);
      change.events.push(...moved.events);
    }
  }
  for (const instance of state.instances.values()) {
    if (instance.agentId !== agentId || reported.has(instance.taskId)) continue;
    const lost = transition(instance, 'TASK_LOST', 'task not known to the agent on re-registration', now);
    change.ops.push(...lost.ops);
    change.events.push(...lost.events);
  }
  return change;
}

/** An agent silent for longer than the agent timeout: its tasks become unreachable. */
export function markAgentUnreachable(state: ClusterState, agentId: string, now: string): Change {
  const change: Change = { ops: [], events: [], kill: [] };
  for (const instance of state.instances.values()) {
    if (instance.agentId !== agentId || instance.state === 'TASK_UNREACHABLE') continue;
    const moved = transition(instance, 'TASK_UNREACHABLE', 'agent did not reconnect within the agent timeout', now);
    change.ops.push(...moved.ops);
    change.events.push(...moved.events);
  }
  return change;
}
