import type { ClusterEvent, EventJob } from '../../../events/types.ts';
import { invalidObject, type Refused } from '../../errors.ts';
import type { ClusterState, StateOp } from '../../types.ts';
import type { JobSchedule, StoredJob } from '../types.ts';
import { JOB_LIMITS, jobFromBody, scheduleFromBody } from './job-definition.ts';

/** A job change that went through: what to commit, and what the API answers. */
export interface JobChange<T> {
  ok: true;
  ops: StateOp[];
  events: ClusterEvent[];
  answer: T;
}

const eventJob = (job: StoredJob): EventJob => job as unknown as EventJob;

function stored(job: StoredJob, eventType: 'job_created' | 'job_updated', now: string): Pick<JobChange<never>, 'ops' | 'events'> {
  return { ops: [{ op: 'put', coll: 'jobs', key: job.id, value: job }], events: [{ eventType, timestamp: now, job: eventJob(job) }] };
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
  return { ok: true, ...stored(record, 'job_created', now), answer: record };
}

/** `PUT /v1/jobs/{id}`: the job replaced; COMPAT(metronome): its schedules stay as they are (schedules in the body are ignored). */
export function updateJob(state: ClusterState, jobId: string, body: unknown, now: string): JobChange<StoredJob> | Refused {
  const checked = jobFromBody(body, jobId);
  if (!checked.ok) return { ok: false, error: invalidObject(checked.details) };
  const current = existing(state, jobId);
  if (isRefused(current)) return current;
  const record: StoredJob = { ...checked.value.job, schedules: current.schedules };
  return { ok: true, ...stored(record, 'job_updated', now), answer: record };
}

/**
 * `DELETE /v1/jobs/{id}`: the job and its schedules. Once runs exist, a job with active runs is
 * refused (Metronome's 409 unless `stopCurrentJobRuns=true`); until then nothing can be running.
 */
export function deleteJob(state: ClusterState, jobId: string, now: string): JobChange<StoredJob> | Refused {
  const current = existing(state, jobId);
  if (isRefused(current)) return current;
  return { ok: true, ops: [{ op: 'del', coll: 'jobs', key: jobId }], events: [{ eventType: 'job_deleted', timestamp: now, job: eventJob(current) }], answer: current };
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
  return { ok: true, ...stored({ ...current, schedules: [...current.schedules, schedule] }, 'job_updated', now), answer: schedule };
}

/** `PUT /v1/jobs/{id}/schedules/{scheduleId}`: an existing schedule replaced, in its place. */
export function replaceSchedule(state: ClusterState, jobId: string, scheduleId: string, body: unknown, now: string): JobChange<JobSchedule> | Refused {
  const current = existing(state, jobId);
  if (isRefused(current)) return current;
  if (!current.schedules.some((s) => s.id === scheduleId)) return { ok: false, error: { code: 'ERR_SCHED_SCHEDULE_NOT_FOUND', jobId, scheduleId } };
  const checked = scheduleFromBody(body, scheduleId);
  if (!checked.ok) return { ok: false, error: invalidObject(checked.details) };
  const schedules = current.schedules.map((s) => (s.id === scheduleId ? checked.value : s));
  return { ok: true, ...stored({ ...current, schedules }, 'job_updated', now), answer: checked.value };
}

/** `DELETE /v1/jobs/{id}/schedules/{scheduleId}`. */
export function removeSchedule(state: ClusterState, jobId: string, scheduleId: string, now: string): JobChange<undefined> | Refused {
  const current = existing(state, jobId);
  if (isRefused(current)) return current;
  if (!current.schedules.some((s) => s.id === scheduleId)) return { ok: false, error: { code: 'ERR_SCHED_SCHEDULE_NOT_FOUND', jobId, scheduleId } };
  return { ok: true, ...stored({ ...current, schedules: current.schedules.filter((s) => s.id !== scheduleId) }, 'job_updated', now), answer: undefined };
}
