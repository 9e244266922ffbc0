import type { ClusterEvent, TaskState, UnhealthyInstanceKillEvent } from '../../events/types.ts';
import { TERMINAL_TASK_STATES } from '../../events/types.ts';
import type { RegisterRequest, TaskStatusUpdate } from '../../shared/agent-protocol.ts';
import type { AgentCredential, AgentRecord, ClusterState, Instance, StateOp } from '../types.ts';
import { applyHealthResults } from './health.ts';
import { instanceOp, instancesOnAgent } from './state-ops.ts';
import { discoveryAgent, instanceChangedEvent, statusUpdateEvent } from './marathon-json.ts';

/** State changes plus the events they emit, and tasks an agent must kill as a consequence. */
export interface Change {
  ops: StateOp[];
  events: ClusterEvent[];
  kill: string[];
  /** Apps with an instance that ended while it was wanted running (they back off). */
  failedApps: string[];
}

const noChange = (): Change => ({ ops: [], events: [], kill: [], failedApps: [] });

/**
 * Moves an instance to a new state: terminal instances are forgotten (the reconciler replaces
 * them if wanted). `instance` is `stored` (the instance in the state) with any other changes.
 */
function transition(stored: Instance, instance: Instance, state: TaskState, message: string, now: string, lastUpdate?: string): Omit<Change, 'kill'> {
  const ended = TERMINAL_TASK_STATES.has(state);
  const next: Instance = {
    ...instance,
    state,
    message,
    ...(state === 'TASK_RUNNING' && instance.startedAt === undefined ? { startedAt: now } : {}),
    ...(lastUpdate !== undefined ? { lastUpdate } : {}),
  };
  // A run's task wanted running stays until its run has taken note of how it ended
  // (jobs/core/runs.ts; one stopped on purpose was noted when stopped), and a run's failure is
  // the run's business, not an app's lastTaskFailure or backoff.
  // A resident instance stays too: wanted, it is relaunched on its reservation (core/resident.ts);
  // released, until its agent says its volumes are destroyed.
  const kept = ended && ((instance.run !== undefined && instance.goal === 'running') || residentKept(instance));
  const op: StateOp = ended && !kept ? { op: 'del', coll: 'instances', key: instance.taskId } : instanceOp(stored, next);
  const unasked = ended && instance.goal === 'running' && instance.run === undefined && instance.reservation?.relaunch !== true;
  // COMPAT(marathon): lastTaskFailure remembers the latest unasked end other than a clean exit.
  const failure: StateOp[] = unasked && state !== 'TASK_FINISHED'
    ? [{ op: 'put', coll: 'taskFailures', key: instance.appId, value: { appId: instance.appId, taskId: instance.taskId, host: instance.host, slaveId: instance.agentId, state, message, timestamp: now, version: instance.version } }]
    : [];
  return { ops: [op, ...failure], events: [statusUpdateEvent(next, now), instanceChangedEvent(next, now)], failedApps: unasked ? [instance.appId] : [] };
}

function residentKept(instance: Instance): boolean {
  return instance.reservation !== undefined && (instance.goal === 'running' || instance.reservation.destroy === true);
}

/** Only a job run's task and a resident instance are kept in a terminal state (until its run took note): nothing moves it on. */
export function hasEnded(instance: Instance): boolean {
  return TERMINAL_TASK_STATES.has(instance.state);
}

/** Applies one status update from an agent; retried and stale updates change nothing. */
export function applyStatus(state: ClusterState, agentId: string, update: TaskStatusUpdate, now: string): Change {
  const instance = state.instances.get(update.taskId);
  if (instance === undefined || instance.agentId !== agentId) {
    // A task the scheduler does not know must not keep running unaccounted for.
    return TERMINAL_TASK_STATES.has(update.state) ? noChange() : { ...noChange(), kill: [update.taskId] };
  }
  if (instance.lastUpdate === update.uuid || hasEnded(instance)) return noChange();
  // A late RUNNING from before the kill must not bring a stopping instance back into DNS and LB.
  if ((instance.goal === 'stopped' || instance.reservation?.relaunch === true) && !TERMINAL_TASK_STATES.has(update.state)) return noChange();
  const app = state.apps.get(instance.appId);
  const health = update.health !== undefined && app !== undefined && update.state === 'TASK_RUNNING'
    ? applyHealthResults(instance, app, update.health, now)
    : undefined;
  const healthChecked = health?.instance ?? instance;
  // The task's addresses on its own network, as the agent reports them (with TASK_RUNNING).
  const base = update.ipAddresses !== undefined && update.ipAddresses.length > 0 ? { ...healthChecked, ipAddresses: update.ipAddresses } : healthChecked;
  const healthEvents = health?.events ?? [];
  if (health?.killReason !== undefined) {
    // A resident task comes back on its reservation, with its data.
    const killed = base.reservation !== undefined ? relaunchInstance(base, now, `killed: ${health.killReason}`) : stopInstance(base, now, `killed: ${health.killReason}`);
    const event: UnhealthyInstanceKillEvent = {
      eventType: 'unhealthy_instance_kill_event', timestamp: now, appId: instance.appId, taskId: instance.taskId, instanceId: instance.taskId,
      version: instance.version, reason: health.killReason, host: instance.host, slaveId: instance.agentId,
    };
    return { ...killed, events: [...healthEvents, event, ...killed.events], kill: [instance.taskId] };
  }
  if (base.state === update.state && base.message === update.message) {
    return { ...noChange(), ops: [instanceOp(instance, { ...base, lastUpdate: update.uuid })], events: healthEvents };
  }
  const moved = transition(instance, base, update.state, update.message, now, update.uuid);
  return { ...moved, events: [...healthEvents, ...moved.events], kill: [] };
}

/**
 * The tasks an agent reports running that the scheduler has no instance of on that agent
 * (never known, forgotten, expunged, ended, or another agent's): they must be killed, as the
 * agent is the authority on what runs and the scheduler on what should. A task just launched
 * has its instance stored before the launch is sent, so it is never among them. Instances being
 * stopped are killed by the scheduler already, and an instance of a removed app is stopped by
 * the reconciler first, so neither is an orphan.
 */
export function orphanedTasks(state: ClusterState, agentId: string, reported: ReadonlyArray<{ taskId: string; state: TaskState }>): string[] {
  const orphans: string[] = [];
  for (const task of reported) {
    if (TERMINAL_TASK_STATES.has(task.state)) continue;
    const instance = state.instances.get(task.taskId);
    // An instance kept after its end (a resident one) does not own a task that still runs.
    if (instance?.agentId !== agentId || hasEnded(instance)) orphans.push(task.taskId);
  }
  return orphans;
}

/**
 * Registers (or re-registers) an agent and reconciles the tasks it reports: tasks the scheduler
 * no longer wants are killed, wanted ones adopted with their reported state, and instances the
 * agent does not report any more are lost (the reconciler then replaces them). A `credential`
 * issued now replaces the one kept (if any).
 */
export function registerAgent(state: ClusterState, agentId: string, request: RegisterRequest, now: string, credential?: AgentCredential): Change {
  const kept = credential ?? state.agents.get(agentId)?.credential;
  const agent: AgentRecord = {
    id: agentId,
    hostname: request.hostname,
    ip: request.ip,
    endpoint: request.endpoint,
    resources: request.resources,
    attributes: request.attributes,
    ...(request.capabilities !== undefined ? { capabilities: request.capabilities } : {}),
    registeredAt: state.agents.get(agentId)?.registeredAt ?? now,
    ...(state.agents.get(agentId)?.draining === true ? { draining: true } : {}),
    ...(kept !== undefined ? { credential: kept } : {}),
  };
  const change: Change = {
    ...noChange(),
    ops: [{ op: 'put', coll: 'agents', key: agentId, value: agent }],
    // Every (re-)registration: the address may have changed, or the agent was unreachable until now.
    events: [{ eventType: 'agent_added_event', timestamp: now, agent: discoveryAgent(agent), reregistered: state.agents.has(agentId) }],
    kill: orphanedTasks(state, agentId, request.tasks),
  };
  const reported = new Map(request.tasks.map((t) => [t.taskId, t]));
  for (const [taskId, task] of reported) {
    const instance = state.instances.get(taskId);
    if (instance === undefined || instance.agentId !== agentId || hasEnded(instance)) continue;
    if (TERMINAL_TASK_STATES.has(task.state)) {
      // It ended while the agent was down: report how, with the agent's message.
      merge(change, transition(instance, instance, task.state, task.message ?? 'ended while the agent was down', now));
    } else if (instance.goal === 'stopped') {
      change.kill.push(taskId);
    } else if (instance.state !== task.state) {
      merge(change, transition(instance, { ...instance, unreachableSince: undefined }, task.state, 'reconciled on agent registration', now));
    }
  }
  for (const instance of instancesOnAgent(state, agentId)) {
    if (reported.has(instance.taskId) || hasEnded(instance)) continue;
    merge(change, transition(instance, instance, 'TASK_LOST', 'task not known to the agent on re-registration', now));
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
  const agent = state.agents.get(agentId);
  // The first time only: the registry's age of an agent counts from when it was first lost.
  if (agent !== undefined && agent.unreachableSince === undefined) {
    change.ops.push({ op: 'put', coll: 'agents', key: agentId, value: { ...agent, unreachableSince: now } });
    // As Mesos: an unreachable agent leaves the agents discovery serves until it registers again.
    change.events.push({ eventType: 'agent_removed_event', timestamp: now, agentId, reason: 'unreachable' });
  }
  for (const instance of instancesOnAgent(state, agentId)) {
    if (instance.state === 'TASK_UNREACHABLE' || hasEnded(instance)) continue;
    merge(change, instance.goal === 'stopped'
      ? transition(instance, instance, 'TASK_KILLED', 'expunged: its agent is unreachable', now)
      : transition(instance, { ...instance, unreachableSince: now }, 'TASK_UNREACHABLE', 'agent did not reconnect within the agent timeout', now));
  }
  return change;
}

/** How long an agent may stay silent before it is declared unreachable. */
export interface AgentSilence {
  agentTimeoutMs: number;
  /** When this scheduler started (epoch ms). */
  startedAtMs: number;
  /**
   * Agents known from before a restart and not heard from since get this long from the start to
   * come back (Mesos' --agent_reregister_timeout): their backoff may have grown while the
   * scheduler was down. Never less than the agent timeout.
   */
  reregisterTimeoutMs: number;
}

/**
 * Agents to declare unreachable now: silent for the agent timeout since last heard from, or,
 * never heard from since this scheduler started, past the re-registration timeout.
 */
export function silentAgents(agentIds: Iterable<string>, lastSeen: (agentId: string) => number | undefined, nowMs: number, silence: AgentSilence): string[] {
  const silent: string[] = [];
  for (const agentId of agentIds) {
    const seen = lastSeen(agentId);
    const since = seen ?? silence.startedAtMs;
    const allowed = seen === undefined ? Math.max(silence.agentTimeoutMs, silence.reregisterTimeoutMs) : silence.agentTimeoutMs;
    if (nowMs - since >= allowed) silent.push(agentId);
  }
  return silent;
}

/** Agents unreachable for at least `maxAgeMs` (Mesos' --registry_max_agent_age): they leave the registry. */
export function expiredAgents(agents: Iterable<AgentRecord>, nowMs: number, maxAgeMs: number): string[] {
  const expired: string[] = [];
  for (const agent of agents) {
    if (agent.unreachableSince === undefined) continue;
    const since = Date.parse(agent.unreachableSince);
    if (!Number.isNaN(since) && nowMs - since >= maxAgeMs) expired.push(agent.id);
  }
  return expired;
}

/**
 * Removes an agent from the registry. Instances still tied to it, whatever their
 * unreachableStrategy, are gone with it (and replaced if wanted): nothing could ever report on
 * them again. A returning agent registers as new and is told to kill what it still runs.
 */
export function removeAgent(state: ClusterState, agentId: string, now: string): Change {
  const change = noChange();
  if (!state.agents.has(agentId)) return change;
  change.ops.push({ op: 'del', coll: 'agents', key: agentId });
  change.events.push({ eventType: 'agent_removed_event', timestamp: now, agentId, reason: 'removed' });
  for (const instance of instancesOnAgent(state, agentId)) {
    if (instance.reservation !== undefined) {
      // Its data is on that agent: a wanted resident instance waits for it still (wipe starts it over elsewhere); a released one is forgotten.
      if (instance.goal === 'stopped') change.ops.push({ op: 'del', coll: 'instances', key: instance.taskId });
      else if (!hasEnded(instance)) merge(change, transition(instance, instance, 'TASK_GONE', 'its agent was removed from the registry: waiting for it (kill with wipe=true to start over elsewhere)', now));
      continue;
    }
    if (hasEnded(instance)) continue;
    merge(change, transition(instance, { ...instance, goal: 'stopped' }, 'TASK_GONE', 'expunged: its agent was removed from the registry', now));
  }
  return change;
}

/**
 * The scheduler decided to stop an instance: it shows as TASK_KILLING at once, so DNS and LB
 * drop it before the kill lands. An unreachable one cannot be killed and is expunged (Marathon).
 */
export function stopInstance(instance: Instance, now: string, message = 'killed by the scheduler', agents?: ReadonlyMap<string, AgentRecord>): Omit<Change, 'kill'> {
  // A resident instance stopped is released: its volumes are destroyed once the task has ended;
  // with its agent gone from the registry nothing can destroy them, and it is forgotten.
  if (instance.reservation !== undefined && agents !== undefined && !agents.has(instance.agentId)) {
    return { ops: [{ op: 'del', coll: 'instances', key: instance.taskId }], events: [], failedApps: [] };
  }
  const stopping: Instance = { ...instance, goal: 'stopped', ...(instance.reservation !== undefined ? { reservation: { ...instance.reservation, destroy: true } } : {}) };
  if (instance.reservation !== undefined && hasEnded(instance)) return { ops: [instanceOp(instance, stopping)], events: [], failedApps: [] };
  return instance.state === 'TASK_UNREACHABLE'
    ? transition(instance, stopping, 'TASK_KILLED', 'expunged: killed while unreachable', now)
    : transition(instance, stopping, 'TASK_KILLING', message, now);
}

/**
 * A resident instance's task is killed to be relaunched on its reservation (an upgrade, a kill
 * without wipe, a failed health check): it stays wanted, and its end is no failure (no backoff).
 */
export function relaunchInstance(instance: Instance, now: string, message: string): Omit<Change, 'kill'> {
  const reservation = { ...(instance.reservation ?? { volumes: [] }), relaunch: true as const };
  if (hasEnded(instance) || instance.state === 'TASK_UNREACHABLE') return { ops: [], events: [], failedApps: [] };
  return transition(instance, { ...instance, reservation }, 'TASK_KILLING', message, now);
}

function merge(into: Change, part: Omit<Change, 'kill'>): void {
  into.ops.push(...part.ops);
  into.events.push(...part.events);
  into.failedApps.push(...part.failedApps);
}

/** An unreachable instance past its app's expungeAfterSeconds is forgotten; if its agent returns, the task is killed as unknown. */
export function expungeInstance(instance: Instance, now: string): Omit<Change, 'kill'> {
  return transition(instance, { ...instance, goal: 'stopped' }, 'TASK_GONE', 'expunged: unreachable for longer than its unreachableStrategy allows', now);
}

/** Puts an agent in maintenance (or takes it out): the reconciler then moves its tasks away. */
export function setDraining(state: ClusterState, agentId: string, draining: boolean): Change | undefined {
  const agent = state.agents.get(agentId);
  if (agent === undefined) return undefined;
  const { draining: _was, ...rest } = agent;
  return { ...noChange(), ops: [{ op: 'put', coll: 'agents', key: agentId, value: draining ? { ...rest, draining: true } : rest }] };
}

/** Revokes an agent's credential (one without a credential gets a revoked, empty one: its id is refused from now on). */
export function revokeCredential(state: ClusterState, agentId: string, now: string): Change | undefined {
  const agent = state.agents.get(agentId);
  if (agent === undefined) return undefined;
  if (agent.credential?.revokedAt !== undefined) return noChange();
  const credential: AgentCredential = { ...(agent.credential ?? { id: '', hash: '', issuedAt: now }), revokedAt: now };
  return { ...noChange(), ops: [{ op: 'put', coll: 'agents', key: agentId, value: { ...agent, credential } }] };
}
