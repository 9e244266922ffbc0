import type { ClusterEvent } from '../../events/types.ts';
import type { AgentRecord, AppDefinition, ClusterState, Instance, StateOp } from '../types.ts';
import { expungeInstance, relaunchInstance, stopInstance } from './agent-status.ts';
import { newReservation, residentPlan } from './resident.ts';
import { launchedInstance, reservedDisk } from './launched-instance.ts';
import { networkNeed, requestedHostPorts } from './app-networks.ts';
import { violations } from './constraints.ts';
import { heldApps, progressDeployments } from './deployments.ts';
import { isReady } from './health.ts';
import { upgradeStep } from './rolling-upgrade.ts';
import { isDelayed, type LaunchDelay } from './launch-delay.ts';
import { instanceChangedEvent, statusUpdateEvent } from './marathon-json.ts';
import { place, type LaunchRequest, type Placement, type Unplaced } from './placement.ts';
import { countInstances, instancesOfApp, instancesOfJob, instancesOnAgent } from './state-ops.ts';
import { advanceRuns, runLaunched, runOfRequest, runWaits, RunSteps, type RunChange } from '../jobs/core/runs.ts';
import { jobPath } from '../../auth/core/paths.ts';
import { heldAfterLaunch, heldByGroup, launchRoom, type HeldApp } from '../../auth/core/quota.ts';
import type { Quotas, Usage } from '../../auth/types.ts';
import { heldAppsUnderQuota, heldJobKey, quotasOf } from './quotas.ts';
import { covers } from '../../auth/core/paths.ts';

export interface ReconcileContext {
  now: string;
  /** Agents with an open command stream; only they receive launches. */
  connectedAgents: ReadonlySet<string>;
  newTaskId: (appId: string) => string;
  /** A new job run id (a run that succeeds may start its dependents' runs). */
  newRunId: () => string;
  /** Launch backoff per app (Marathon's backoffSeconds/backoffFactor), and the time to judge it at. */
  launchDelays: ReadonlyMap<string, LaunchDelay>;
  nowMs: number;
  /** At most this many launches per evaluation: a huge scale-out goes out in batches, not one giant transaction. */
  maxLaunches: number;
  /** Evaluate only these apps (those whose definition or instances changed); every app when absent. */
  apps?: ReadonlySet<string>;
}

/** What one evaluation decided, as named buckets (Nomad's reconciler style). */
export interface Evaluation {
  /** New instances to store as TASK_STAGING and launch. */
  launch: Instance[];
  /** Running-goal instances to switch to goal `stopped` and kill. */
  stop: Instance[];
  /** Unreachable instances past their app's expungeAfterSeconds: forgotten. */
  expunge: Instance[];
  /** Resident instances whose task is killed to be relaunched on their reservation (core/resident.ts). */
  replace: Instance[];
  /** Ended resident instances relaunched (their new instance is in `launch`): forgotten. */
  relaunched: Instance[];
  unplaced: Unplaced[];
  /** Apps still short of instances after this evaluation (launch budget, no room, backoff): evaluate them again. */
  waiting: string[];
  /** Job runs moved on (jobs/core/runs.ts), their launches included (the instances are in `launch`). */
  runs: RunChange;
}

/**
 * Compares what every app asks for with the instances that exist and decides what to start and
 * stop. Pure: evaluating again after applying the result gives an empty evaluation.
 */
export function reconcile(state: ClusterState, context: ReconcileContext): Evaluation {
  const stop: Instance[] = [];
  let appIds: Iterable<string> = context.apps ?? state.apps.keys();
  if (context.apps === undefined) {
    // Instances of deleted apps: the full pass finds them all, a partial pass through its app ids.
    const orphans = new Set<string>();
    for (const instance of state.instances.values()) if (instance.run === undefined && !state.apps.has(instance.appId)) orphans.add(instance.appId);
    appIds = [...appIds, ...orphans];
  }
  const requests: LaunchRequest[] = [];
  const delayed: Unplaced[] = [];
  const expunge: Instance[] = [];
  const waiting: string[] = [];
  const replace: Instance[] = [];
  const relaunch: Instance[] = [];
  const relaunched: Instance[] = [];
  const held = heldApps(state);
  // Instances on a draining agent move: every app is then looked at instance by instance.
  let draining = false;
  for (const agent of state.agents.values()) draining ||= agent.draining === true;
  let budget = context.maxLaunches;
  // Apps under a quota start only as many instances as it has room for (launchRoom). What the
  // groups hold is counted once per evaluation, and only if an app under a quota is looked at.
  let view: QuotaView | undefined;
  const quotaGroups = [...state.quotas.keys()];
  const quotaFor = (appId: string): QuotaView | undefined => (quotaGroups.some((g) => covers(g, appId)) ? (view ??= quotaView(state)) : undefined);
  const quotaWaits: Unplaced[] = [];
  for (const appId of appIds) {
    if (held.has(appId)) continue;
    const app = state.apps.get(appId);
    if (app === undefined) {
      stop.push(...instancesOfApp(state, appId).filter((i) => i.goal === 'running'));
      continue;
    }
    const quota = quotaFor(app.id);
    const mine = quota?.apps.get(app.id);
    const room = quota === undefined || mine === undefined ? undefined : launchRoom(quota.quotas, quota.held, mine, Number.POSITIVE_INFINITY);
    if (app.persistentVolumes !== undefined) {
      const delay = context.launchDelays.get(app.id);
      const delayReason = isDelayed(delay, app, context.nowMs) ? `launch delayed ${Math.ceil(((delay?.until ?? 0) - context.nowMs) / 1000)} s more (backoff after task failures)` : undefined;
      const plan = residentPlan(app, instancesOfApp(state, app.id), {
        now: context.now, connectedAgents: context.connectedAgents, agents: state.agents, newTaskId: context.newTaskId,
        ...(delayReason !== undefined ? { delayed: delayReason } : {}),
        ready: (i) => isReady(i, app),
        order: (instances) => pickForKill(instances, instances.length, app, state.agents),
        fit: (from) => fitOnItsAgent(state, app, from),
      });
      stop.push(...plan.release);
      replace.push(...plan.replace);
      for (const { from, to } of plan.relaunch) {
        relaunched.push(from);
        relaunch.push(to);
      }
      delayed.push(...plan.waiting);
      const missing = Math.min(plan.missing, room?.count ?? Number.POSITIVE_INFINITY);
      if (plan.missing > missing && room?.waiting !== undefined) {
        quotaWaits.push({ appId: app.id, count: plan.missing - Math.max(0, missing), reason: room.waiting.reason });
        waiting.push(app.id);
      }
      if (missing > 0) {
        waiting.push(app.id);
        if (delayReason !== undefined) delayed.push({ appId: app.id, count: missing, reason: delayReason });
        else if (budget > 0) {
          const count = Math.min(budget, missing);
          budget -= count;
          requests.push(launchRequest(app, count));
          if (quota !== undefined && mine !== undefined) ({ held: quota.held } = heldAfterLaunch(quota.quotas, quota.held, mine, count));
        }
      }
      continue;
    }
    const plan = (draining ? undefined : settledPlan(state, app)) ?? walkPlan(state, app, context.nowMs, expunge, room?.count);
    stop.push(...plan.stop);
    const wanted = Math.min(app.instances - plan.active, plan.strategyLaunch);
    const missing = Math.min(wanted, plan.maxLaunch, room?.count ?? Number.POSITIVE_INFINITY);
    if (wanted > missing && room?.waiting !== undefined) {
      // Waits with the reason in /v2/queue; looked at again at every evaluation, as room may come from any app of the group.
      quotaWaits.push({ appId: app.id, count: wanted - Math.max(0, missing), reason: room.waiting.reason });
      waiting.push(app.id);
    }
    if (missing > 0) {
      waiting.push(app.id);
      const delay = context.launchDelays.get(app.id);
      if (isDelayed(delay, app, context.nowMs)) {
        delayed.push({ appId: app.id, count: missing, reason: `launch delayed ${Math.ceil(((delay?.until ?? 0) - context.nowMs) / 1000)} s more (backoff after task failures)` });
      } else if (budget > 0) {
        const count = Math.min(budget, missing);
        budget -= count;
        requests.push(launchRequest(app, count));
        // The next app of the same group sees these as started (they may not all be placed: a conservative count).
        if (quota !== undefined && mine !== undefined) ({ held: quota.held } = heldAfterLaunch(quota.quotas, quota.held, mine, count));
      }
    }
  }
  // Job runs share the agents with the apps: their launches are placed in the same pass.
  const runs = advanceRuns(state, { now: context.now, nowMs: context.nowMs, newRunId: context.newRunId });
  const runSteps = new RunSteps(state);
  runSteps.add(runs);
  const waitingRuns = new Map(runs.launches.map((l) => [l.request.appId, l.run]));
  for (const { run, request } of runs.launches) {
    const quota = quotaFor(jobPath(run.jobId));
    const mine = quota?.apps.get(heldJobKey(run.jobId));
    if (quota !== undefined && mine !== undefined) {
      const room = launchRoom(quota.quotas, quota.held, mine, 1);
      if (room.count === 0) {
        runSteps.add(runWaits(run, room.waiting?.reason ?? 'waiting for room in its quota'));
        continue;
      }
      // Several runs of a job may start in one evaluation: each sees the ones before.
      const launched = heldAfterLaunch(quota.quotas, quota.held, mine, 1);
      quota.held = launched.held;
      quota.apps.set(heldJobKey(run.jobId), launched.app);
    }
    requests.push(request);
  }
  // Draining agents take nothing, but placement names them when they are why an instance waits.
  const agents = [...state.agents.values()].filter((a) => context.connectedAgents.has(a.id));
  const index = { ofApp: (id: string) => ofRequest(state, id), onAgent: (agentId: string) => instancesOnAgent(state, agentId) };
  const { placements, unplaced } = place(requests, agents, index, state.agents);
  const launch: Instance[] = [];
  for (const p of placements) {
    const run = waitingRuns.get(p.appId);
    const job = run === undefined ? undefined : state.jobs.get(run.jobId);
    if (run === undefined || job === undefined) continue;
    const launched = runLaunched(run, job, { taskId: context.newTaskId(jobPath(job.id)), agentId: p.agentId, host: p.host }, context.now);
    launch.push(launched.instance);
    runSteps.add(launched.change);
  }
  for (const u of unplaced) {
    const run = waitingRuns.get(u.appId);
    if (run !== undefined) runSteps.add(runWaits(run, u.reason));
  }
  const appUnplaced = unplaced.filter((u) => runOfRequest(u.appId) === undefined);
  launch.push(...placements.filter((p) => runOfRequest(p.appId) === undefined).map((p): Instance => {
    const app = state.apps.get(p.appId) as AppDefinition;
    const taskId = context.newTaskId(app.id);
    return launchedInstance(app, p, taskId, context.now, app.persistentVolumes !== undefined ? { reservation: newReservation(app, taskId) } : {});
  }), ...relaunch);
  return {
    launch, stop, expunge, replace, relaunched, unplaced: [...quotaWaits, ...delayed, ...appUnplaced], waiting: [...new Set(waiting)],
    runs: { ops: runSteps.ops, events: runSteps.events },
  };
}

/** Placement's view of the instances a request is placed beside: an app's, or all runs' of a run's job. */
function ofRequest(state: ClusterState, requestId: string): Instance[] {
  const run = runOfRequest(requestId);
  return run === undefined ? instancesOfApp(state, requestId) : instancesOfJob(state, run.split(' ')[0] ?? '');
}

/**
 * What an evaluation writes, on the state it was made from: its launches (announced as
 * TASK_STAGING, so snapshot and events always agree), stops and expunges, and the deployments
 * it moves on. `looked` is the apps it was limited to (every app when absent).
 */
export function evaluationChanges(state: ClusterState, evaluation: Evaluation, looked: ReadonlySet<string> | undefined, now: string): { ops: StateOp[]; events: ClusterEvent[] } {
  const ops = [
    ...evaluation.runs.ops,
    ...evaluation.relaunched.map((i): StateOp => ({ op: 'del', coll: 'instances', key: i.taskId })),
    ...evaluation.launch.map((i): StateOp => ({ op: 'put', coll: 'instances', key: i.taskId, value: i })),
  ];
  const events: ClusterEvent[] = [...evaluation.runs.events, ...evaluation.launch.flatMap((i) => [statusUpdateEvent(i, now), instanceChangedEvent(i, now)])];
  const replaced = evaluation.replace.map((i) => relaunchInstance(i, now, 'killed to relaunch on its reservation with the new configuration'));
  for (const change of [...evaluation.stop.map((i) => stopInstance(i, now, undefined, state.agents)), ...evaluation.expunge.map((i) => expungeInstance(i, now)), ...replaced]) {
    ops.push(...change.ops);
    events.push(...change.events);
  }
  const acted = new Set([...evaluation.launch, ...evaluation.stop, ...evaluation.expunge, ...evaluation.replace].map((i) => i.appId).concat(evaluation.waiting));
  const deployments = progressDeployments(state, { acted, ...(looked !== undefined ? { looked } : {}) }, now);
  return { ops: [...ops, ...deployments.ops], events: [...events, ...deployments.events] };
}

/** One app's part of an evaluation: how many instances count, which to stop, how many may start. */
interface AppPlan {
  active: number;
  stop: Instance[];
  maxLaunch: number;
  /** maxLaunch without the quota's room (see upgradeStep). */
  strategyLaunch: number;
}

/** What the quotas hold during one evaluation: the groups' totals move as launches are decided. */
interface QuotaView {
  quotas: Quotas;
  apps: Map<string, HeldApp>;
  held: Record<string, Usage>;
}

function quotaView(state: ClusterState): QuotaView {
  const quotas = quotasOf(state);
  const apps = heldAppsUnderQuota(state);
  return { quotas, apps, held: heldByGroup(quotas, apps.values()) };
}

/**
 * The common case from the app's counts alone (no walk over its instances): every instance meant
 * to run has the current configuration and is reachable, and there are not too many.
 */
function settledPlan(state: ClusterState, app: AppDefinition): AppPlan | undefined {
  const running = countInstances(state, app.id, 'goal:running');
  if (running > app.instances) return undefined;
  if (countInstances(state, app.id, `config:${app.versionInfo.lastConfigChangeAt}`) !== running) return undefined;
  if (countInstances(state, app.id, 'goal:running:TASK_UNREACHABLE') !== 0) return undefined;
  return { active: running, stop: [], maxLaunch: Number.POSITIVE_INFINITY, strategyLaunch: Number.POSITIVE_INFINITY };
}

/** Instance by instance: rolling upgrades, moves off draining agents, unreachable instances, scale-down. */
function walkPlan(state: ClusterState, app: AppDefinition, nowMs: number, expunge: Instance[], room?: number): AppPlan {
  const unreachable = (i: Instance): UnreachableStage => unreachableStage(i, app, nowMs);
  const current = instancesOfApp(state, app.id).filter((i) => {
    if (i.goal !== 'running') return false;
    if (unreachable(i) !== 'expunged') return true;
    expunge.push(i);
    return false;
  });
  // Instances of an older configuration, or on a draining agent, are replaced: new ones first.
  const movable = (i: Instance): boolean => i.configVersion !== app.versionInfo.lastConfigChangeAt || state.agents.get(i.agentId)?.draining === true;
  const fresh = current.filter((i) => !movable(i));
  const outdated = current.filter(movable);
  // An unreachable instance still counts until its app's inactiveAfterSeconds have passed.
  const active = fresh.filter((i) => unreachable(i) === 'reachable' || unreachable(i) === 'unreachable');
  const upgrade = upgradeStep(app, active, outdated, (i) => isReady(i, app), (instances) => pickForKill(instances, instances.length, app, state.agents), room);
  const stop = [...upgrade.stop];
  if (active.length > app.instances) stop.push(...pickForKill(active.filter((i) => unreachable(i) === 'reachable'), active.length - app.instances, app, state.agents));
  return { active: active.length, stop, maxLaunch: upgrade.maxLaunch, strategyLaunch: upgrade.strategyLaunch };
}

type UnreachableStage = 'reachable' | 'unreachable' | 'inactive' | 'expunged';

/** Marathon's unreachableStrategy: replaced after inactiveAfterSeconds, forgotten after expungeAfterSeconds. */
function unreachableStage(instance: Instance, app: AppDefinition, nowMs: number): UnreachableStage {
  if (instance.state !== 'TASK_UNREACHABLE') return 'reachable';
  const strategy = app.unreachableStrategy;
  if (strategy === 'disabled') return 'unreachable';
  const since = Date.parse(instance.unreachableSince ?? '') || nowMs;
  if (nowMs - since >= strategy.expungeAfterSeconds * 1000) return 'expunged';
  if (nowMs - since >= strategy.inactiveAfterSeconds * 1000) return 'inactive';
  return 'unreachable';
}

/**
 * A resident instance's next task on its own agent, in its place: placement over that agent
 * alone, without the instance's own usage, the old ports asked for when their number is the
 * same, no constraints (its place is fixed), and not refused for a drain (it has nowhere else).
 */
function fitOnItsAgent(state: ClusterState, app: AppDefinition, from: Instance): Placement | string {
  const agent = state.agents.get(from.agentId);
  if (agent === undefined) return 'its agent left the registry';
  const samePorts = keepsItsPorts(app, from.ports);
  const request: LaunchRequest = { ...launchRequest(app, 1), constraints: [], ...(samePorts ? { fixedPorts: from.ports } : {}) };
  const index = { ofApp: () => [], onAgent: (agentId: string) => instancesOnAgent(state, agentId).filter((i) => i.taskId !== from.taskId) };
  const { placements, unplaced } = place([request], [{ ...agent, draining: false }], index);
  return placements[0] ?? unplaced[0]?.reason ?? 'no room';
}

/**
 * Whether a relaunch on its reservation can take the ports it had: as many as the app asks now
 * (port definitions, or the port mappings' host ports) and each fixed one unchanged.
 */
function keepsItsPorts(app: AppDefinition, ports: readonly number[]): boolean {
  const mappings = app.container?.portMappings;
  if (mappings === undefined) return !app.requirePorts && ports.length === app.portDefinitions.length;
  const wanted = requestedHostPorts(mappings);
  return wanted.length === ports.length && wanted.every((port, index) => port === 0 || port === ports[index]);
}

function launchRequest(app: AppDefinition, count: number): LaunchRequest {
  return {
    appId: app.id,
    count,
    cpus: app.cpus,
    mem: app.mem,
    disk: reservedDisk(app),
    portCount: app.portDefinitions.length,
    ...(app.requirePorts && app.container?.portMappings === undefined ? { fixedPorts: app.portDefinitions.map((p) => p.port) } : {}),
    ...(app.container?.portMappings !== undefined ? { hostPorts: requestedHostPorts(app.container.portMappings) } : {}),
    ...(app.networks !== undefined ? { network: networkNeed(app.networks) } : {}),
    roles: app.acceptedResourceRoles ?? ['*'],
    constraints: app.constraints,
    ...(app.container !== undefined ? { image: true } : {}),
    ...(app.container?.docker.privileged === true ? { privileged: true } : {}),
    ...(app.persistentVolumes !== undefined ? { persistentVolumes: true } : {}),
  };
}

/** Not-yet-running instances go first, then those violating a constraint, then by killSelection on stagedAt. */
function pickForKill(instances: Instance[], count: number, app: AppDefinition, agents: ReadonlyMap<string, AgentRecord>): Instance[] {
  const youngestFirst = app.killSelection === 'YOUNGEST_FIRST';
  const violating = app.constraints.length > 0 ? violations(app, instances, agents) : new Set<string>();
  return [...instances]
    .sort((a, b) => {
      const badA = violating.has(a.taskId) ? 0 : 1;
      const badB = violating.has(b.taskId) ? 0 : 1;
      if (badA !== badB) return badA - badB;
      const runningA = a.state === 'TASK_RUNNING' ? 1 : 0;
      const runningB = b.state === 'TASK_RUNNING' ? 1 : 0;
      if (runningA !== runningB) return runningA - runningB;
      const order = a.stagedAt.localeCompare(b.stagedAt) || a.taskId.localeCompare(b.taskId);
      return youngestFirst ? -order : order;
    })
    .slice(0, count);
}
