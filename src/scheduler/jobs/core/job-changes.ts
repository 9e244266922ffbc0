import type { ClusterEvent, EventJob } from '../../../events/types.ts';
import { invalidObject, type Refused } from '../../errors.ts';
import type { ClusterState, StateOp } from '../../types.ts';
import type { JobRun, JobSchedule, StoredJob } from '../types.ts';
import { JOB_LIMITS, jobFromBody, runParamsFromBody, scheduleFromBody } from './job-definition.ts';
import { activeRunsOf, runKey, RunSteps, startRun, stopRun, type RunContext } from './runs.ts';
import { tickOps } from './schedule-ticks.ts';

/** A job change that went through: what to commit, and what the API answers. */
export interface JobChange<T> {
  ok: true;
  ops: StateOp[];
  events: ClusterEvent[];
  answer: T;
}

const eventJob = (job: StoredJob): EventJob => job as unknown as EventJob;

/** The job written, with its schedules' ticks (a new or changed schedule counts its slots from now). */
function stored(state: ClusterState, job: StoredJob, eventType: 'job_created' | 'job_updated', now: string): Pick<JobChange<never>, 'ops' | 'events'> {
  return { ops: [{ op: 'put', coll: 'jobs', key: job.id, value: job }, ...tickOps(state, job.id, job.schedules, now)], events: [{ eventType, timestamp: now, job: eventJob(job) }] };
}

function existing(state: ClusterState, jobId: string): StoredJob | Refused {
  return state.jobs.get(jobId) ?? { ok: false, error: { code: 'ERR_SCHED_JOB_NOT_FOUND', jobId } };
}

const isRefused = (value: StoredJob | Refused): value is Refused => 'ok' in value;

/** `POST /v1/jobs`: a new job, with the schedules it carries inline (Metronome's v0 form). */
export function createJob(state: ClusterState, body: unknown, now: string): JobChange<StoredJob> | Refused {
  const checked = jobFromBody(body);
  if (!checked.ok) return { ok: false, error: invalidObject(checked.details) };
  const { job, schedules } = checked.value;
  if (state.jobs.has(job.id)) return { ok: false, error: { code: 'ERR_SCHED_JOB_EXISTS', jobId: job.id } };
  const record: StoredJob = { ...job, schedules: schedules ?? [] };
  return { ok: true, ...stored(state, record, 'job_created', now), answer: record };
}

/** `PUT /v1/jobs/{id}`: the job replaced; COMPAT(metronome): its schedules stay as they are (schedules in the body are ignored). */
export function updateJob(state: ClusterState, jobId: string, body: unknown, now: string): JobChange<StoredJob> | Refused {
  const checked = jobFromBody(body, jobId);
  if (!checked.ok) return { ok: false, error: invalidObject(checked.details) };
  const current = existing(state, jobId);
  if (isRefused(current)) return current;
  const record: StoredJob = { ...checked.value.job, schedules: current.schedules };
  return { ok: true, ...stored(state, record, 'job_updated', now), answer: record };
}

/**
 * `DELETE /v1/jobs/{id}`: the job, its schedules and history. COMPAT(metronome): a job with
 * active runs is refused (409) unless `stopCurrentJobRuns`, which stops them first (they fail).
 */
export function deleteJob(state: ClusterState, jobId: string, context: RunContext, stopCurrentJobRuns = false): JobChange<StoredJob> | Refused {
  const current = existing(state, jobId);
  if (isRefused(current)) return current;
  const active = activeRunsOf(state, jobId);
  if (active.length > 0 && !stopCurrentJobRuns) return { ok: false, error: { code: 'ERR_SCHED_JOB_HAS_ACTIVE_RUNS', jobId, runs: active.map((r) => r.id) } };
  const steps = new RunSteps(state);
  for (const run of active) steps.add(stopRun(steps.state, run, 'stopped: its job was deleted', context));
  steps.add({
    ops: [{ op: 'del', coll: 'jobs', key: jobId }, { op: 'del', coll: 'jobHistory', key: jobId }, ...tickOps(state, jobId, [], context.now)],
    events: [{ eventType: 'job_deleted', timestamp: context.now, job: eventJob(current) }],
  });
  return { ok: true, ops: steps.ops, events: steps.events, answer: current };
}

/** `POST /v1/jobs/{id}/schedules`: one more schedule. */
export function addSchedule(state: ClusterState, jobId: string, body: unknown, now: string): JobChange<JobSchedule> | Refused {
  const current = existing(state, jobId);
  if (isRefused(current)) return current;
  const checked = scheduleFromBody(body);
  if (!checked.ok) return { ok: false, error: invalidObject(checked.details) };
  const schedule = checked.value;
  if (current.schedules.some((s) => s.id === schedule.id)) return { ok: false, error: { code: 'ERR_SCHED_SCHEDULE_EXISTS', jobId, scheduleId: schedule.id } };
  if (current.schedules.length >= JOB_LIMITS.schedules) return { ok: false, error: invalidObject([{ path: '/', errors: [`a job has at most ${JOB_LIMITS.schedules} schedules`] }]) };
  return { ok: true, ...stored(state, { ...current, schedules: [...current.schedules, schedule] }, 'job_updated', now), answer: schedule };
}

/** `PUT /v1/jobs/{id}/schedules/{scheduleId}`: an existing schedule replaced, in its place. */
export function replaceSchedule(state: ClusterState, jobId: string, scheduleId: string, body: unknown, now: string): JobChange<JobSchedule> | Refused {
  const current = existing(state, jobId);
  if (isRefused(current)) return current;
  if (!current.schedules.some((s) => s.id === scheduleId)) return { ok: false, error: { code: 'ERR_SCHED_SCHEDULE_NOT_FOUND', jobId, scheduleId } };
  const checked = scheduleFromBody(body, scheduleId);
  if (!checked.ok) return { ok: false, error: invalidObject(checked.details) };
  const schedules = current.schedules.map((s) => (s.id === scheduleId ? checked.value : s));
  return { ok: true, ...stored(state, { ...current, schedules }, 'job_updated', now), answer: checked.value };
}

/** `DELETE /v1/jobs/{id}/schedules/{scheduleId}`. */
export function removeSchedule(state: ClusterState, jobId: string, scheduleId: string, now: string): JobChange<undefined> | Refused {
  const current = existing(state, jobId);
  if (isRefused(current)) return current;
  if (!current.schedules.some((s) => s.id === scheduleId)) return { ok: false, error: { code: 'ERR_SCHED_SCHEDULE_NOT_FOUND', jobId, scheduleId } };
  return { ok: true, ...stored(state, { ...current, schedules: current.schedules.filter((s) => s.id !== scheduleId) }, 'job_updated', now), answer: undefined };
}

/** `POST /v1/jobs/{id}/runs`: run now, with the body's `env` over the job's (Corral). */
export function runNow(state: ClusterState, jobId: string, body: unknown, context: RunContext): JobChange<JobRun> | Refused {
  const current = existing(state, jobId);
  if (isRefused(current)) return current;
  const params = runParamsFromBody(body);
  if (!params.ok) return { ok: false, error: invalidObject(params.details) };
  const { run, change } = startRun(current, context.newRunId(), { env: params.value.env }, context.now);
  return { ok: true, ...change, answer: run };
}

/** `POST /v1/jobs/{id}/runs/{runId}/actions/stop`: the run fails, its task is killed. */
export function stopRunById(state: ClusterState, jobId: string, runId: string, context: RunContext): JobChange<JobRun & { completedAt: string }> | Refused {
  const current = existing(state, jobId);
  if (isRefused(current)) return current;
  const run = state.jobRuns.get(runKey(jobId, runId));
  if (run === undefined) return { ok: false, error: { code: 'ERR_SCHED_RUN_NOT_FOUND', jobId, runId } };
  const message = 'stopped by hand';
  // The run as it ended (as GET shows it from the history from now on).
  return { ok: true, ...stopRun(state, run, message, context), answer: { ...run, status: 'FAILED', completedAt: context.now, message } };
}
