import { randomUUID } from 'node:crypto';
import type { ClusterEvent } from '../events/types.ts';
import type { HeartbeatReport, RegisterRequest, RegisterResponse, TaskLaunch, TaskStatusUpdate, VolumesDestroyed } from '../shared/agent-protocol.ts';
import { containerLaunch } from './core/app-container.ts';
import { taskNetwork } from './core/app-networks.ts';
import type { Logger } from '../shared/log.ts';
import type { AgentLinks } from './agent-links.ts';
import { taskIdPrefix } from './core/app-id.ts';
import type { Authorization } from '../auth/core/tokens.ts';
import { admitRegistration } from './core/agent-admission.ts';
import { applyStatus, hasEnded, expiredAgents, markAgentUnreachable, orphanedTasks, registerAgent, removeAgent, revokeCredential, setDraining, silentAgents, type Change } from './core/agent-status.ts';
import { describeProgress, overdueDeployments, rollsBackOnFailure } from './core/deployments.ts';
import { failDeployment } from './core/deployment-changes.ts';
import { instancesOnAgent, StateDraft, type CommitChanges } from './core/state-ops.ts';
import { evaluationChanges, reconcile } from './core/reconcile.ts';
import { backOff, type Backoff, type LaunchDelay } from './core/launch-delay.ts';
import type { Unplaced } from './core/placement.ts';
import type { SchedulerMetrics } from './scheduler-metrics.ts';
import type { SchedulerState } from './state.ts';
import type { AgentCredential, AppDefinition, ClusterState, Instance, StateOp } from './types.ts';
import { runKey, runTaskLaunch } from './jobs/core/runs.ts';
import { newRunId } from './jobs/run-ids.ts';

/** With admission on (--join-token-file): what a registration is judged by. */
export interface RegistrationCheck {
  authorization: Authorization;
  /** sha256 hex of the join token. */
  joinHash: string;
  /** Drawn before the transaction (chance stays out of it); stored only if the join token admits the agent. */
  fresh: { token: string; credential: AgentCredential };
}

const EVALUATION_DELAY_MS = 5;
const MAX_EVALUATION_DELAY_MS = 500;

/** Every this many seconds an evaluation looks at every app, whatever changed. */
const FULL_EVALUATION_EVERY = 10;

/**
 * Each evaluation's commit triggers the next one, so a large scale-out proceeds in batches: of
 * 500 while evaluations are quick, larger when they are spaced out, to launch about
 * LAUNCH_PACE_PER_SECOND. The pace counts only the wait and the evaluation, not the status
 * updates answered in between, so the rate reached is lower (measured rates: docs/scheduler.md).
 */
const MIN_LAUNCHES_PER_EVALUATION = 500;
const MAX_LAUNCHES_PER_EVALUATION = 4000;
const LAUNCH_PACE_PER_SECOND = 8000;

export interface OrchestratorOptions {
  /** Counters for /metrics (made after the orchestrator, hence a getter). */
  metrics: () => SchedulerMetrics;
  agentTimeoutMs: number;
  /** Agents known from before a restart get this long from the start to register again (Mesos' --agent_reregister_timeout). */
  agentReregisterTimeoutMs: number;
  /** Agents unreachable this long leave the registry (Mesos' --registry_max_agent_age). */
  registryMaxAgentAgeMs: number;
  /** Deployments still running after this long fail (0 = never); apps may set their own. */
  deploymentTimeoutMs: number;
  heartbeatIntervalMs: number;
  /** How often kills not yet confirmed are sent again. */
  killRetryMs?: number;
}

/**
 * Drives the cluster toward what the apps ask for: runs the reconciler after every commit,
 * stores its decisions, then sends launches and kills to agents. Also the entry point for
 * everything agents report. Decisions are made by the pure cores; this class only does I/O.
 */
export class Orchestrator {
  readonly #state: SchedulerState;
  readonly #links: AgentLinks;
  readonly #logger: Logger;
  readonly #options: OrchestratorOptions;
  readonly #killsSent = new Map<string, number>();
  /** Kills decided at registration, sent once the agent's command stream is open. */
  readonly #pendingKills = new Map<string, string[]>();
  readonly #launchDelays = new Map<string, LaunchDelay>();
  readonly #timer: NodeJS.Timeout;
  #pending = false;
  #lastEvaluationMs = 0;
  #delayMs = EVALUATION_DELAY_MS;
  #unplaced: Unplaced[] = [];
  /** Apps changed since the last evaluation; the next evaluation looks at only these... */
  #dirty = new Set<string>();
  /** ...unless something that concerns every app changed (agents, time passing). */
  #evaluateAll = true;
  /** Instances the scheduler wants stopped, kept from commits so that kills need no scan. */
  readonly #stopping = new Set<string>();
  /** Unreachable instances and their apps: time alone moves them on (unreachableStrategy). */
  readonly #unreachable = new Map<string, string>();

  readonly #startedAtMs = Date.now();

  constructor(state: SchedulerState, links: AgentLinks, logger: Logger, options: OrchestratorOptions) {
    this.#state = state;
    this.#links = links;
    this.#logger = logger;
    this.#options = options;
    for (const instance of state.current.instances.values()) if (isStopping(instance)) this.#stopping.add(instance.taskId);
    state.onCommit((changes) => this.#noteCommit(changes));
    for (const instance of state.current.instances.values()) if (instance.state === 'TASK_UNREACHABLE') this.#unreachable.set(instance.taskId, instance.appId);
    // The periodic pass catches what no commit announces: agents timing out, unreachable
    // instances due for replacement, kills to resend; and, now and then, everything.
    let ticks = 0;
    this.#timer = setInterval(() => {
      this.#expireAgents();
      this.#removeExpiredAgents();
      this.#expireDeployments();
      if (++ticks % FULL_EVALUATION_EVERY === 0) this.#evaluateAll = true;
      for (const appId of this.#unreachable.values()) this.#dirty.add(appId);
      this.trigger();
    }, 1000);
    this.#timer.unref();
  }

  /** Instances that could not be placed at the last evaluation, and why. */
  get unplaced(): readonly Unplaced[] {
    return this.#unplaced;
  }

  /** Launch backoff per app (Marathon's queue delay). */
  get launchDelays(): ReadonlyMap<string, LaunchDelay> {
    return this.#launchDelays;
  }

  /** `DELETE /v2/queue/{app}/delay`: launch again now; false when the app has no delay. */
  resetDelay(appId: string): boolean {
    const had = this.#launchDelays.delete(appId);
    if (had) this.#appChanged(appId);
    return had;
  }

  /** Agents came, went or changed: every app is evaluated again. */
  agentsChanged(): void {
    this.#evaluateAll = true;
    this.trigger();
  }

  #appChanged(appId: string): void {
    this.#dirty.add(appId);
    this.trigger();
  }

  #noteCommit(changes: CommitChanges): void {
    const current = this.#state.current;
    for (const appId of changes.instanceApps) this.#dirty.add(appId);
    for (const appId of changes.keys.get('apps') ?? []) this.#dirty.add(appId);
    // Agents change what can be placed anywhere; a deployment moving on releases the apps it held.
    if (changes.keys.has('agents') || changes.keys.has('deployments')) this.#evaluateAll = true;
    for (const taskId of changes.keys.get('instances') ?? []) {
      const instance = current.instances.get(taskId);
      if (instance !== undefined && isStopping(instance)) this.#stopping.add(taskId);
      else this.#stopping.delete(taskId);
      // The task of a released reservation ended: its destroy goes out now, not at the kill's retry.
      if (instance !== undefined && hasEnded(instance) && instance.reservation?.destroy === true) this.#killsSent.delete(taskId);
      if (instance?.state === 'TASK_UNREACHABLE') this.#unreachable.set(taskId, instance.appId);
      else this.#unreachable.delete(taskId);
    }
    this.trigger();
  }

  close(): void {
    clearInterval(this.#timer);
  }

  /** Runs an evaluation soon; many triggers in one tick make one evaluation. */
  trigger(): void {
    if (this.#pending) return;
    this.#pending = true;
    // A short delay folds a burst of commits (status batches from many agents) into one
    // evaluation; when evaluations grow long, the wait grows with them, so that they never take
    // more than about a third of the scheduler's time (the rest answers agents and the API).
    const delay = Math.min(MAX_EVALUATION_DELAY_MS, Math.max(EVALUATION_DELAY_MS, 2 * this.#lastEvaluationMs));
    this.#delayMs = delay;
    setTimeout(() => {
      this.#pending = false;
      this.#evaluate().catch((err: unknown) => this.#logger.error({ err }, 'evaluation failed'));
    }, delay);
  }

  /**
   * Registers an agent. With `check` (admission on), a refused registration stores nothing and
   * answers `{refused}`; an agent admitted by the join token gets its credential in the answer.
   */
  async register(request: RegisterRequest, check?: RegistrationCheck): Promise<RegisterResponse | { refused: string }> {
    const nowMs = Date.now();
    const now = new Date(nowMs).toISOString();
    type Registered = { refused: string } | { agentId: string; kill: string[]; backoff: Backoff; token: string | undefined };
    const registered = await this.#state.transact<Registered>((state) => {
      const asked = request.agentId !== undefined && request.agentId !== '' ? request.agentId : undefined;
      // Decided on the snapshot the registration is written from: a revocation cannot slip in between.
      const admission = check === undefined ? undefined : admitRegistration(asked === undefined ? undefined : state.agents.get(asked), check.authorization, check.joinHash);
      if (admission?.admitted === false) return { ops: [], events: [], result: { refused: admission.reason } };
      const issued = admission?.issue === true && check !== undefined ? check.fresh : undefined;
      const agentId = asked ?? newAgentId(state.meta);
      const change = registerAgent(state, agentId, request, now, issued?.credential);
      const ops: StateOp[] = [...change.ops];
      if (request.agentId === undefined || request.agentId === '') {
        ops.push({ op: 'put', coll: 'meta', key: 'agentCount', value: Number(state.meta.get('agentCount') ?? 0) + 1 });
      }
      // As in status(): before the write, so a batched evaluation sees the delay.
      const backoff = this.#setDelays(backOff(change.failedApps, state.apps, this.#launchDelays, nowMs));
      return { ops, events: change.events, result: { agentId, kill: change.kill, backoff, token: issued?.token } };
    });
    if ('refused' in registered) return registered;
    const { agentId, kill, backoff, token } = registered;
    this.#wakeUpAfterDelays(backoff, nowMs);
    this.#links.seen(agentId);
    this.#logger.info({ agentId, hostname: request.hostname, tasks: request.tasks.length, kill: kill.length }, 'agent registered');
    // Kills for unwanted tasks go out once the agent's command stream is open.
    for (const taskId of kill) this.#killsSent.delete(taskId);
    this.#pendingKills.set(agentId, kill);
    this.#noteOrphans(agentId, orphanedTasks(this.#state.current, agentId, request.tasks), 'registration');
    return { agentId, heartbeatIntervalMs: this.#options.heartbeatIntervalMs, ...(token !== undefined ? { credential: token } : {}) };
  }

  /** Revokes an agent's credential and cuts its command stream; false when the agent is unknown. */
  async revoke(agentId: string): Promise<boolean> {
    const now = new Date().toISOString();
    const known = await this.#state.transact((state) => {
      const change = revokeCredential(state, agentId, now);
      return { ops: change?.ops ?? [], events: [], result: change !== undefined };
    });
    if (!known) return false;
    this.#links.drop(agentId);
    this.#logger.warn({ agentId }, 'agent credential revoked: its calls are refused from now on');
    return true;
  }

  /** The agent's command stream is open: send what it must do that was decided before. */
  streamOpened(agentId: string): void {
    for (const taskId of this.#pendingKills.get(agentId) ?? []) this.#links.send(agentId, { type: 'kill', taskId });
    this.#pendingKills.delete(agentId);
    // A launch written to the stream this one replaces may never have arrived; the agent ignores repeats.
    const state = this.#state.current;
    for (const instance of instancesOnAgent(state, agentId)) {
      if (instance.goal === 'running' && instance.state === 'TASK_STAGING') this.#launch(instance, state);
    }
  }

  /** False when the agent is unknown. */
  async drain(agentId: string, draining: boolean): Promise<boolean> {
    const changed = await this.#state.transact((state) => {
      const change = setDraining(state, agentId, draining);
      return { ops: change?.ops ?? [], events: [], result: change !== undefined };
    });
    if (changed) this.#logger.info({ agentId, draining }, draining ? 'agent draining: its tasks move elsewhere' : 'agent back in service');
    return changed;
  }

  /** False when the agent is unknown. With the agent's tasks, those the scheduler does not want are killed. */
  heartbeat(agentId: string, tasks?: HeartbeatReport['tasks']): boolean {
    if (!this.#state.current.agents.has(agentId)) return false;
    this.#links.seen(agentId);
    if (tasks !== undefined) this.#killOrphans(agentId, orphanedTasks(this.#state.current, agentId, tasks), 'heartbeat report');
    return true;
  }

  /** Kills tasks an agent runs unwanted; a kill that cannot go out now waits for its command stream. */
  #killOrphans(agentId: string, taskIds: readonly string[], source: string): void {
    for (const taskId of taskIds) {
      if (this.#links.send(agentId, { type: 'kill', taskId })) continue;
      const pending = this.#pendingKills.get(agentId) ?? [];
      if (!pending.includes(taskId)) this.#pendingKills.set(agentId, [...pending, taskId]);
    }
    this.#noteOrphans(agentId, taskIds, source);
  }

  #noteOrphans(agentId: string, taskIds: readonly string[], source: string): void {
    if (taskIds.length === 0) return;
    this.#options.metrics().orphansKilled(taskIds.length);
    this.#logger.warn({ agentId, source, tasks: taskIds.slice(0, 20), count: taskIds.length }, 'killing tasks the scheduler does not want on this agent');
  }

  /** Applies an agent's status updates, in order, in one transaction. */
  async status(agentId: string, updates: readonly TaskStatusUpdate[]): Promise<void> {
    this.#links.seen(agentId);
    this.#options.metrics().statusUpdates(updates.length);
    const nowMs = Date.now();
    const now = new Date(nowMs).toISOString();
    const { changes, backoff } = await this.#state.transact((state) => {
      // One working copy for the whole batch, not one copy of all instances per update.
      const draft = new StateDraft(state, 'scratch');
      const ops: StateOp[] = [];
      const events: ClusterEvent[] = [];
      const changes: Change[] = [];
      for (const update of updates) {
        const change = applyStatus(draft.state, agentId, update, now);
        draft.apply(change.ops);
        ops.push(...change.ops);
        events.push(...change.events);
        changes.push(change);
      }
      // Set now, not after the write: an evaluation committed in the same group write must
      // already see the delay, or it relaunches the failed app at once.
      const backoff = this.#setDelays(backOff(changes.flatMap((c) => c.failedApps), state.apps, this.#launchDelays, nowMs));
      return { ops, events, result: { changes, backoff } };
    });
    this.#wakeUpAfterDelays(backoff, nowMs);
    for (const change of changes) {
      // Unknown tasks (orphans) are logged and kept for the stream if it is not open; the others are health kills, resent by #sendKills.
      const unknown = change.kill.filter((taskId) => this.#state.current.instances.get(taskId)?.agentId !== agentId);
      this.#killOrphans(agentId, unknown, 'status update');
      for (const taskId of change.kill) if (!unknown.includes(taskId)) this.#links.send(agentId, { type: 'kill', taskId });
    }
    for (const update of updates) {
      // Applied to nothing (applyStatus): an agent reports only its own tasks.
      const owner = this.#state.current.instances.get(update.taskId)?.agentId;
      if (owner !== undefined && owner !== agentId) {
        this.#logger.warn({ agentId, taskId: update.taskId, owner, state: update.state }, 'status update for another agent\'s task ignored');
        continue;
      }
      if (update.state === 'TASK_FAILED' || update.state === 'TASK_FINISHED') {
        this.#logger.info({ agentId, taskId: update.taskId, state: update.state, message: update.message }, 'task ended');
      }
    }
  }

  /** The agent destroyed a released reservation's volumes: the instance is forgotten. */
  async volumesDestroyed(agentId: string, destroyed: VolumesDestroyed): Promise<void> {
    this.#links.seen(agentId);
    const forgotten = await this.#state.transact((state) => {
      const instance = state.instances.get(destroyed.taskId);
      const done = instance !== undefined && instance.agentId === agentId && instance.reservation?.destroy === true
        && instance.reservation.volumes.every((v) => destroyed.persistenceIds.includes(v.persistenceId));
      return { ops: done ? [{ op: 'del', coll: 'instances', key: destroyed.taskId }] : [], events: [], result: done };
    });
    if (forgotten) this.#logger.info({ agentId, taskId: destroyed.taskId, persistenceIds: destroyed.persistenceIds }, 'reservation released: volumes destroyed');
  }

  async #evaluate(): Promise<void> {
    const started = performance.now();
    const now = new Date().toISOString();
    const connectedAgents = this.#links.connected();
    const apps = this.#evaluateAll ? undefined : this.#dirty;
    this.#evaluateAll = false;
    this.#dirty = new Set();
    const evaluation = await this.#state.transact((state) => {
      const evaluation = reconcile(state, {
        ...(apps !== undefined ? { apps } : {}),
        now,
        nowMs: Date.parse(now),
        connectedAgents,
        launchDelays: this.#launchDelays,
        // Fewer, longer evaluations launch more each, to keep the pace over a whole cycle (the wait plus the evaluation).
        maxLaunches: Math.min(MAX_LAUNCHES_PER_EVALUATION, Math.max(MIN_LAUNCHES_PER_EVALUATION, Math.ceil((LAUNCH_PACE_PER_SECOND * (this.#delayMs + this.#lastEvaluationMs)) / 1000))),
        newTaskId: (appId) => `${taskIdPrefix(appId)}.${randomUUID()}`,
        newRunId,
      });
      return { ...evaluationChanges(state, evaluation, apps, now), result: evaluation };
    });
    for (const appId of evaluation.waiting) this.#dirty.add(appId);
    // A partial evaluation knows only about the apps it looked at.
    const looked = apps ?? this.#state.current.apps;
    this.#unplaced = apps === undefined ? evaluation.unplaced : [...this.#unplaced.filter((u) => !looked.has(u.appId)), ...evaluation.unplaced];
    this.#lastEvaluationMs = performance.now() - started;
    this.#options.metrics().evaluation(this.#lastEvaluationMs / 1000, evaluation.launch.length, evaluation.stop.length + evaluation.expunge.length);
    const state = this.#state.current;
    for (const instance of evaluation.launch) this.#launch(instance, state);
    this.#sendKills(state);
  }

  /** Keeps the launch delays decided by backOff; returns them for #wakeUpAfterDelays. */
  #setDelays(backoff: Backoff): Backoff {
    for (const [appId, delay] of backoff.set) this.#launchDelays.set(appId, delay);
    for (const appId of backoff.drop) this.#launchDelays.delete(appId);
    return backoff;
  }

  /** Sets the timers backOff asked for; `nowMs` is the time it was given. */
  #wakeUpAfterDelays(backoff: Backoff, nowMs: number): void {
    for (const wakeUp of backoff.wakeUps) {
      setTimeout(() => this.#appChanged(wakeUp.appId), wakeUp.atMs - nowMs).unref();
      this.#logger.info({ appId: wakeUp.appId, delayMs: wakeUp.atMs - nowMs }, wakeUp.reason);
    }
  }

  #launch(instance: Instance, state: ClusterState): void {
    const task = instance.run === undefined ? appTaskLaunch(instance, state.apps.get(instance.appId)) : jobTaskLaunch(instance, instance.run, state);
    if (task === undefined) return;
    const sent = this.#links.send(instance.agentId, { type: 'launch', task });
    this.#logger.debug({ taskId: instance.taskId, agentId: instance.agentId, ports: instance.ports, sent }, 'launching task');
  }

  /**
   * Every instance the scheduler wants stopped gets a kill, again every few seconds until it
   * ends; a released resident instance whose task has ended gets destroy-volumes the same way,
   * until its agent says the data is gone (the instance is in the store until then: kill -9 proof).
   */
  #sendKills(state: ClusterState): void {
    const now = Date.now();
    for (const taskId of this.#stopping) {
      const instance = state.instances.get(taskId);
      if (instance === undefined) continue;
      const last = this.#killsSent.get(instance.taskId);
      if (last !== undefined && now - last < (this.#options.killRetryMs ?? 5000)) continue;
      const ended = hasEnded(instance);
      if (ended && instance.reservation?.destroy !== true) continue;
      const persistenceIds = instance.reservation?.volumes.map((v) => v.persistenceId) ?? [];
      const command = ended ? { type: 'destroy-volumes' as const, taskId, persistenceIds } : { type: 'kill' as const, taskId };
      if (this.#links.send(instance.agentId, command)) {
        this.#killsSent.set(instance.taskId, now);
        this.#logger.info({ taskId: instance.taskId, agentId: instance.agentId, ...(ended ? { persistenceIds } : {}) }, ended ? 'destroying the volumes of a released reservation' : 'killing task');
      }
    }
    for (const taskId of this.#killsSent.keys()) if (!this.#stopping.has(taskId)) this.#killsSent.delete(taskId);
  }

  #expireDeployments(): void {
    const now = new Date();
    for (const deployment of overdueDeployments(this.#state.current, now.getTime(), this.#options.deploymentTimeoutMs)) {
      this.#state
        .transact((state) => {
          // Judged again on the state of this transaction: it may have finished meanwhile.
          if (!state.deployments.has(deployment.id)) return { ops: [], events: [], result: undefined };
          const reason = `did not finish within its timeout: ${describeProgress(deployment, state)}`;
          const change = failDeployment(state, deployment.id, reason, rollsBackOnFailure(deployment, state), {
            now: now.toISOString(), deploymentId: randomUUID(), force: false, clientIp: '', uri: '',
          });
          return change.ok ? { ops: change.ops, events: change.events, result: { reason, rollback: change.rollback?.id } } : { ops: [], events: [], result: undefined };
        })
        .then((failed) => {
          if (failed !== undefined) this.#logger.warn({ deploymentId: deployment.id, ...failed }, 'deployment failed');
        })
        .catch((err: unknown) => this.#logger.error({ err, deploymentId: deployment.id }, 'cannot fail an overdue deployment'));
    }
  }

  #expireAgents(): void {
    const now = Date.now();
    const silence = { agentTimeoutMs: this.#options.agentTimeoutMs, reregisterTimeoutMs: this.#options.agentReregisterTimeoutMs, startedAtMs: this.#startedAtMs };
    for (const agentId of silentAgents(this.#state.current.agents.keys(), (id) => this.#links.lastSeen(id), now, silence)) {
      this.#links.drop(agentId);
      const iso = new Date(now).toISOString();
      this.#state
        .transact((state) => {
          const change: Change = markAgentUnreachable(state, agentId, iso);
          return { ops: change.ops, events: change.events, result: change.events.filter((event) => event.eventType === 'status_update_event').length };
        })
        .then((count) => {
          if (count > 0) this.#logger.warn({ agentId, tasks: count }, 'agent timed out: its tasks are unreachable');
        })
        .catch((err: unknown) => this.#logger.error({ err, agentId }, 'cannot mark agent unreachable'));
    }
  }

  #removeExpiredAgents(): void {
    const now = Date.now();
    for (const agentId of expiredAgents(this.#state.current.agents.values(), now, this.#options.registryMaxAgentAgeMs)) {
      this.#state
        .transact((state) => {
          const tasks = instancesOnAgent(state, agentId).length;
          const change = removeAgent(state, agentId, new Date(now).toISOString());
          return { ops: change.ops, events: change.events, result: { removed: change.ops.length > 0, tasks } };
        })
        .then(({ removed, tasks }) => {
          if (!removed) return;
          this.#links.forget(agentId);
          this.#pendingKills.delete(agentId);
          this.#logger.warn({ agentId, tasks, maxAgeMs: this.#options.registryMaxAgentAgeMs }, 'agent removed from the registry: unreachable for longer than --registry-max-agent-age');
        })
        .catch((err: unknown) => this.#logger.error({ err, agentId }, 'cannot remove an expired agent'));
    }
  }
}

/** What the agent runs for an app's instance (none when the app is gone). */
function appTaskLaunch(instance: Instance, app: AppDefinition | undefined): TaskLaunch | undefined {
  if (app === undefined) return undefined;
  return {
    taskId: instance.taskId,
    appId: app.id,
    version: app.version,
    ...(app.cmd !== undefined ? { cmd: app.cmd } : {}),
    ...(app.args !== undefined ? { args: app.args } : {}),
    env: app.env,
    labels: app.labels,
    ports: instance.ports,
    portNames: app.container?.portMappings !== undefined ? app.container.portMappings.filter((m) => m.hostPort !== undefined).map((m) => m.name ?? null) : app.portDefinitions.map((p) => p.name ?? null),
    cpus: app.cpus,
    mem: app.mem,
    disk: app.disk,
    killGracePeriodMs: (app.taskKillGracePeriodSeconds ?? 3) * 1000,
    fetch: app.fetch,
    healthChecks: app.healthChecks,
    ...(app.user !== undefined ? { user: app.user } : {}),
    ...(app.container !== undefined ? { container: { ...containerLaunch(app.container), ...(app.networks !== undefined ? { network: taskNetwork(app.networks, app.container.portMappings ?? [], instance.ports) } : {}) } } : {}),
    ...(instance.reservation !== undefined ? { persistentVolumes: instance.reservation.volumes } : {}),
  };
}

/** Kills go out (again) until the task ends; a released reservation's destroy until the agent confirms it. */
function isStopping(instance: Instance): boolean {
  if (instance.reservation?.destroy === true) return true;
  return !hasEnded(instance) && (instance.goal === 'stopped' || instance.reservation?.relaunch === true);
}

/** What the agent runs for a job run's task (none when the run or job is gone). */
function jobTaskLaunch(instance: Instance, ids: { jobId: string; runId: string }, state: ClusterState): TaskLaunch | undefined {
  const job = state.jobs.get(ids.jobId);
  const run = state.jobRuns.get(runKey(ids.jobId, ids.runId));
  return job === undefined || run === undefined ? undefined : runTaskLaunch(job, run, instance);
}

/** Mesos' agent id form `<cluster>-S<n>`: DNS uses the last field as the instance suffix. */
function newAgentId(meta: ReadonlyMap<string, unknown>): string {
  const cluster = String(meta.get('clusterId') ?? 'corral');
  return `${cluster}-S${Number(meta.get('agentCount') ?? 0)}`;
}
