/**
 * A job run's life (issue #20), as changes to the state: created (by a schedule's slot, by hand,
 * or by its parents' success), launched through the apps' placement (reconcile.ts asks
 * `runsToLaunch`), followed by its task's states, restarted with backoff (ON_FAILURE), stopped
 * (by hand, REPLACE, activeDeadlineSeconds), and finished into the job's bounded history. Pure:
 * time and ids come in through `RunContext`.
 *
 * A run's task is an instance with `run` set and the job's path as its `appId`; when it ends it
 * stays in the state (agent-status.ts) until `advanceRuns` has read how it ended, so that the
 * end and the run's outcome are decided from durable state, whatever restarts in between.
 */
import type { ClusterEvent, EventJobRun } from '../../../events/types.ts';
import { jobPath } from '../../../auth/core/paths.ts';
import type { LaunchRequest } from '../../core/placement.ts';
import { containerLaunch } from '../../core/app-container.ts';
import type { TaskLaunch } from '../../../shared/agent-protocol.ts';
import { hasEnded, stopInstance } from '../../core/agent-status.ts';
import { StateDraft } from '../../core/state-ops.ts';
import type { ClusterState, Instance, StateOp } from '../../types.ts';
import type { FinishedRun, JobHistory, JobRun, JobRunTask, SkippedSlot, StoredJob } from '../types.ts';
import { isActive, overran, restartDecision } from './concurrency.ts';

/** Each of a job's history lists keeps this many entries, newest first (the counts go on). */
export const HISTORY_LIMIT = 50;

export interface RunContext {
  now: string;
  nowMs: number;
  /** A new run id (Metronome's form: the time and a few random characters). */
  newRunId: () => string;
}

export interface RunChange {
  ops: StateOp[];
  events: ClusterEvent[];
}

export const runKey = (jobId: string, runId: string): string => `${jobId} ${runId}`;

/** The prefix of a launch request for a run, so placement results find their run again. */
const RUN_REQUEST = 'run:';

export const runRequestId = (run: JobRun): string => `${RUN_REQUEST}${runKey(run.jobId, run.id)}`;

/** The run key a launch request id names, or undefined for an app's request. */
export function runOfRequest(requestId: string): string | undefined {
  return requestId.startsWith(RUN_REQUEST) ? requestId.slice(RUN_REQUEST.length) : undefined;
}

const EMPTY_HISTORY: JobHistory = { successCount: 0, failureCount: 0, successfulFinishedRuns: [], failedFinishedRuns: [], skippedSlots: [] };

export function historyOf(state: ClusterState, jobId: string): JobHistory {
  return state.jobHistory.get(jobId) ?? EMPTY_HISTORY;
}

/** The runs of a job that have not ended (they are few: the scan is over runs, not tasks). */
export function activeRunsOf(state: ClusterState, jobId: string): JobRun[] {
  return [...state.jobRuns.values()].filter((run) => run.jobId === jobId);
}

const eventRun = (run: JobRun & { completedAt?: string }): EventJobRun => run as unknown as EventJobRun;

/** Collects the changes of several steps, each computed on the state the earlier ones leave. */
export class RunSteps {
  readonly #draft: StateDraft;
  readonly ops: StateOp[] = [];
  readonly events: ClusterEvent[] = [];

  constructor(state: ClusterState) {
    this.#draft = new StateDraft(state, 'scratch');
  }

  get state(): ClusterState {
    return this.#draft.state;
  }

  add(change: RunChange): void {
    this.#draft.apply(change.ops);
    this.ops.push(...change.ops);
    this.events.push(...change.events);
  }
}

export interface NewRun {
  scheduledAt?: string;
  scheduleId?: string;
  env?: Record<string, string>;
}

/** A new run of `job`, waiting to be placed. */
export function startRun(job: StoredJob, id: string, init: NewRun, now: string): { run: JobRun; change: RunChange } {
  const run: JobRun = {
    id, jobId: job.id, status: 'INITIAL', createdAt: now, tasks: [], failures: 0,
    ...(init.scheduledAt !== undefined ? { scheduledAt: init.scheduledAt } : {}),
    ...(init.scheduleId !== undefined ? { scheduleId: init.scheduleId } : {}),
    ...(init.env !== undefined && Object.keys(init.env).length > 0 ? { env: init.env } : {}),
  };
  return { run, change: { ops: [putRun(run)], events: [{ eventType: 'job_run_started', timestamp: now, jobRun: eventRun(run) }] } };
}

const putRun = (run: JobRun): StateOp => ({ op: 'put', coll: 'jobRuns', key: runKey(run.jobId, run.id), value: run });

const bounded = <T>(entry: T, list: readonly T[]): T[] => [entry, ...list].slice(0, HISTORY_LIMIT);

/** Slots that produced no run, into the job's history. */
export function recordSkipped(state: ClusterState, jobId: string, skipped: readonly SkippedSlot[]): RunChange {
  if (skipped.length === 0) return { ops: [], events: [] };
  const history = historyOf(state, jobId);
  const skippedSlots = [...[...skipped].reverse(), ...history.skippedSlots].slice(0, HISTORY_LIMIT);
  return { ops: [{ op: 'put', coll: 'jobHistory', key: jobId, value: { ...history, skippedSlots } }], events: [] };
}

/**
 * The run ended: it leaves the active runs for the history, with `job_run_finished` or
 * `job_run_failed`. A run of a slot that succeeded starts the runs of the same slot of the jobs
 * that depend on this one, once all their parents succeeded for it; one that failed skips them.
 */
export function finishRun(state: ClusterState, run: JobRun, outcome: 'SUCCESS' | 'FAILED', message: string, context: RunContext): RunChange {
  const steps = new RunSteps(state);
  const { now } = context;
  const history = historyOf(state, run.jobId);
  const finished: FinishedRun = {
    id: run.id, createdAt: run.createdAt, finishedAt: now, message, tasks: run.tasks,
    ...(run.scheduledAt !== undefined ? { scheduledAt: run.scheduledAt } : {}),
  };
  const next: JobHistory = outcome === 'SUCCESS'
    ? { ...history, successCount: history.successCount + 1, lastSuccessAt: now, successfulFinishedRuns: bounded(finished, history.successfulFinishedRuns) }
    : { ...history, failureCount: history.failureCount + 1, lastFailureAt: now, failedFinishedRuns: bounded(finished, history.failedFinishedRuns) };
  const ended = { ...run, status: outcome, completedAt: now, message };
  steps.add({
    ops: [{ op: 'del', coll: 'jobRuns', key: runKey(run.jobId, run.id) }, { op: 'put', coll: 'jobHistory', key: run.jobId, value: next }],
    events: [{ eventType: outcome === 'SUCCESS' ? 'job_run_finished' : 'job_run_failed', timestamp: now, jobRun: eventRun(ended) }],
  });
  if (run.scheduledAt !== undefined) startDependents(steps, run, outcome, context);
  return { ops: steps.ops, events: steps.events };
}

/** Chronos' parents: children of the finished run's job, for the same slot. */
function startDependents(steps: RunSteps, parentRun: JobRun, outcome: 'SUCCESS' | 'FAILED', context: RunContext): void {
  const scheduledAt = parentRun.scheduledAt as string;
  const scheduleId = `after:${parentRun.jobId}`;
  for (const child of steps.state.jobs.values()) {
    if (!(child.dependencies ?? []).includes(parentRun.jobId)) continue;
    if (hasRunFor(steps.state, child.id, scheduledAt)) continue;
    if (outcome === 'FAILED') {
      steps.add(recordSkipped(steps.state, child.id, [{ scheduleId, scheduledAt, reason: 'parent-failed' }]));
      continue;
    }
    const parentsDone = (child.dependencies ?? []).every((parent) => historyOf(steps.state, parent).successfulFinishedRuns.some((r) => r.scheduledAt === scheduledAt));
    if (parentsDone) steps.add(startRun(child, context.newRunId(), { scheduledAt, scheduleId }, context.now).change);
  }
}

/** Whether a job already has a run (active, finished or skipped) for the slot at `scheduledAt`. */
export function hasRunFor(state: ClusterState, jobId: string, scheduledAt: string, scheduleId?: string): boolean {
  const same = (entry: { scheduledAt?: string; scheduleId?: string }): boolean => entry.scheduledAt === scheduledAt && (scheduleId === undefined || entry.scheduleId === undefined || entry.scheduleId === scheduleId);
  const history = historyOf(state, jobId);
  return activeRunsOf(state, jobId).some(same) || history.successfulFinishedRuns.some(same) || history.failedFinishedRuns.some(same) || history.skippedSlots.some(same);
}

/** The run's current task, when it has one launched. */
function currentTask(state: ClusterState, run: JobRun): Instance | undefined {
  const last = run.tasks.at(-1);
  return last === undefined ? undefined : state.instances.get(last.id);
}

/**
 * Stopped by hand, by REPLACE or by its deadline: it fails, and its task is killed. A task that
 * ended a moment before (kept for the run to read) is forgotten now: nobody else would.
 */
export function stopRun(state: ClusterState, run: JobRun, message: string, context: RunContext): RunChange {
  const steps = new RunSteps(state);
  const task = currentTask(state, run);
  let stopped = run;
  if (task !== undefined && hasEnded(task)) {
    steps.add({ ops: [{ op: 'del', coll: 'instances', key: task.taskId }], events: [] });
    stopped = { ...run, tasks: withTaskState(run.tasks, task, context.now) };
  } else if (task !== undefined && task.goal === 'running') {
    const killing = stopInstance(task, context.now, `killed: ${message}`);
    steps.add({ ops: killing.ops, events: killing.events });
    stopped = { ...run, tasks: withTaskState(run.tasks, steps.state.instances.get(task.taskId) ?? task, context.now) };
  }
  steps.add(finishRun(steps.state, stopped, 'FAILED', message, context));
  return { ops: steps.ops, events: steps.events };
}

/** What a launch asks of placement, for a run waiting for a task. */
export interface RunLaunch {
  run: JobRun;
  request: LaunchRequest;
}

/**
 * Moves every active run on by its task: the task's state into the run's status; an ended task
 * into success, a restart after backoff (ON_FAILURE) or failure; an overrun run stopped; a run
 * waiting longer than maxLaunchDelay failed. Returns the runs to launch a task for now.
 */
export function advanceRuns(state: ClusterState, context: RunContext): RunChange & { launches: RunLaunch[] } {
  const steps = new RunSteps(state);
  const launches: RunLaunch[] = [];
  for (const run of [...state.jobRuns.values()]) {
    const job = state.jobs.get(run.jobId);
    if (job === undefined) {
      steps.add(stopRun(steps.state, run, 'its job was deleted', context));
      continue;
    }
    if (overran(run, job.run.restart.activeDeadlineSeconds, new Date(context.nowMs))) {
      steps.add(stopRun(steps.state, run, `active deadline of ${job.run.restart.activeDeadlineSeconds} s exceeded`, context));
      continue;
    }
    if (run.status === 'INITIAL') {
      const waitingSince = Date.parse(run.launchAfter ?? run.createdAt);
      if (context.nowMs < waitingSince) continue;
      if (context.nowMs - waitingSince > job.run.maxLaunchDelay * 1000) {
        steps.add(finishRun(steps.state, run, 'FAILED', `not launched within maxLaunchDelay (${job.run.maxLaunchDelay} s)${run.message !== undefined ? `: ${run.message}` : ''}`, context));
        continue;
      }
      launches.push({ run, request: launchRequest(job, run) });
      continue;
    }
    steps.add(followTask(steps.state, job, run, context));
  }
  return { ops: steps.ops, events: steps.events, launches };
}

/** A launched run (STARTING or ACTIVE) by its current task. */
function followTask(state: ClusterState, job: StoredJob, run: JobRun, context: RunContext): RunChange {
  const task = currentTask(state, run);
  if (task === undefined) return taskEnded(state, job, run, 'TASK_LOST', 'its task is gone (its agent was removed or the task expunged)', context);
  if (hasEnded(task)) {
    const change = taskEnded(state, job, run, task.state, task.message, context);
    return { ops: [{ op: 'del', coll: 'instances', key: task.taskId }, ...change.ops], events: change.events };
  }
  const status = task.state === 'TASK_RUNNING' || task.state === 'TASK_KILLING' || task.state === 'TASK_UNREACHABLE' ? 'ACTIVE' : 'STARTING';
  const tasks = withTaskState(run.tasks, task, context.now);
  if (status === run.status && tasks === run.tasks) return { ops: [], events: [] };
  return { ops: [putRun({ ...run, status, tasks })], events: [] };
}

/** The run's task list with the current task's state, or the same list when nothing changed. */
function withTaskState(tasks: JobRunTask[], task: Instance, now: string): JobRunTask[] {
  const last = tasks.at(-1);
  if (last === undefined || last.status === task.state) return tasks;
  const ended = hasEnded(task);
  return [...tasks.slice(0, -1), { ...last, status: task.state, ...(task.startedAt !== undefined ? { startedAt: task.startedAt } : {}), ...(ended ? { completedAt: now } : {}) }];
}

function taskEnded(state: ClusterState, job: StoredJob, run: JobRun, taskState: string, message: string, context: RunContext): RunChange {
  const last = run.tasks.at(-1);
  const tasks = last === undefined ? run.tasks : [...run.tasks.slice(0, -1), { ...last, status: taskState, completedAt: context.now }];
  const ended: JobRun = { ...run, tasks };
  const how = message === '' ? taskState : `${taskState}: ${message}`;
  if (taskState === 'TASK_FINISHED') return finishRun(state, ended, 'SUCCESS', how, context);
  const failures = run.failures + 1;
  const decision = restartDecision(ended, job.run.restart, failures, new Date(context.nowMs));
  if (decision.action === 'fail') {
    const why = decision.reason === 'active-deadline' ? `${how} (no restart: it would come after the active deadline)` : how;
    return finishRun(state, ended, 'FAILED', why, context);
  }
  return { ops: [putRun({ ...ended, status: 'INITIAL', failures, launchAfter: decision.at.toISOString(), message: `restarting after ${how}` })], events: [] };
}

function launchRequest(job: StoredJob, run: JobRun): LaunchRequest {
  return {
    appId: runRequestId(run),
    count: 1,
    cpus: job.run.cpus,
    mem: job.run.mem,
    disk: job.run.disk,
    portCount: 0,
    roles: ['*'],
    constraints: job.run.placement.constraints.map((c) => (c.value === undefined ? [c.attribute, c.operator] : [c.attribute, c.operator, c.value])),
    ...(job.run.docker !== undefined ? { image: true } : {}),
    ...(job.run.docker?.privileged === true ? { privileged: true } : {}),
  };
}

/** The instance of a run's task placed on an agent, and the run moved to STARTING with it. */
export function runLaunched(run: JobRun, job: StoredJob, placed: { taskId: string; agentId: string; host: string }, now: string): { instance: Instance; change: RunChange } {
  const instance: Instance = {
    taskId: placed.taskId,
    appId: jobPath(job.id),
    agentId: placed.agentId,
    host: placed.host,
    ports: [],
    version: run.createdAt,
    configVersion: run.createdAt,
    goal: 'running',
    cpus: job.run.cpus,
    mem: job.run.mem,
    disk: job.run.disk,
    state: 'TASK_STAGING',
    message: '',
    stagedAt: now,
    run: { jobId: job.id, runId: run.id },
  };
  const { launchAfter: _done, message: _was, ...rest } = run;
  const started: JobRun = { ...rest, status: 'STARTING', tasks: [...run.tasks, { id: placed.taskId, agentId: placed.agentId, status: 'TASK_STAGING' }] };
  return { instance, change: { ops: [putRun(started)], events: [] } };
}

/** A run that could not be placed keeps why in its message (shown on the run), written only when it changes. */
export function runWaits(run: JobRun, reason: string): RunChange {
  return run.message === reason ? { ops: [], events: [] } : { ops: [putRun({ ...run, message: reason })], events: [] };
}

/** Runs still active for a job (for DELETE's 409 and the view). */
export const activeRunIds = (state: ClusterState, jobId: string): string[] => activeRunsOf(state, jobId).filter(isActive).map((r) => r.id);

/** What the agent is told to run for a run's task: the job's `run`, with the run's env over the job's. */
export function runTaskLaunch(job: StoredJob, run: JobRun, instance: Instance): TaskLaunch {
  const spec = job.run;
  return {
    taskId: instance.taskId,
    appId: instance.appId,
    version: instance.version,
    ...(spec.cmd !== undefined ? { cmd: spec.cmd } : {}),
    ...(spec.args !== undefined ? { args: spec.args } : {}),
    env: { ...spec.env, ...run.env },
    labels: job.labels,
    ports: [],
    portNames: [],
    cpus: spec.cpus,
    mem: spec.mem,
    disk: spec.disk,
    killGracePeriodMs: 3000,
    fetch: spec.artifacts.map((a) => ({ uri: a.uri, extract: a.extract ?? true, executable: a.executable ?? false, cache: a.cache ?? false })),
    healthChecks: [],
    ...(spec.user !== undefined ? { user: spec.user } : {}),
    ...(spec.docker !== undefined ? { container: containerLaunch({ type: 'DOCKER', docker: spec.docker, volumes: [] }) } : {}),
  };
}

/**
 * The agent a run's task ran on, while its run is active or in the history (its sandbox is
 * still there): the task id names the job as an app's names the app (`team_report.<uuid>`).
 */
export function runTaskAgent(state: ClusterState, taskId: string, jobId: string): string | undefined {
  const history = historyOf(state, jobId);
  for (const run of [...activeRunsOf(state, jobId), ...history.successfulFinishedRuns, ...history.failedFinishedRuns]) {
    const task = run.tasks.find((t) => t.id === taskId);
    if (task !== undefined) return task.agentId;
  }
  return undefined;
}
