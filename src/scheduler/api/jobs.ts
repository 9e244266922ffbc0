import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalidObject, SchedulerFailure, type Refused } from '../errors.ts';
import type { SchedulerState } from '../state.ts';
import type { ClusterState } from '../types.ts';
import { addSchedule, createJob, deleteJob, removeSchedule, replaceSchedule, updateJob, type JobChange } from '../jobs/core/job-changes.ts';
import { jobView, parseEmbeds, type Embed } from '../jobs/core/job-view.ts';
import type { StoredJob } from '../jobs/types.ts';
import type { ApiContext } from './context.ts';
import { list, type Query } from './route-helpers.ts';

interface JobParams { jobId: string; scheduleId?: string }

const paramsOf = (request: FastifyRequest): JobParams => request.params as JobParams;

function embedsOf(request: FastifyRequest): Set<Embed> {
  const parsed = parseEmbeds(list((request.query as Query).embed));
  if (!parsed.ok) throw new SchedulerFailure(invalidObject(parsed.details));
  return parsed.embeds;
}

function jobOf(state: SchedulerState, jobId: string): StoredJob {
  const job = state.current.jobs.get(jobId);
  if (job === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_JOB_NOT_FOUND', jobId });
  return job;
}

/** Commits a job change in one transaction (its ops and events), or throws its refusal. */
async function commit<T>(state: SchedulerState, compute: (s: ClusterState, now: string) => JobChange<T> | Refused): Promise<T> {
  const now = new Date().toISOString();
  const change = await state.transact<JobChange<T> | Refused>((s) => {
    const result = compute(s, now);
    return result.ok ? { ops: result.ops, events: result.events, result } : { ops: [], events: [], result };
  });
  if (!change.ok) throw new SchedulerFailure(change.error);
  return change.answer;
}

/**
 * Metronome's `/v1/jobs` and their schedules: stored with the apps, written through the same
 * transactions (with `job_created`/`job_updated`/`job_deleted` on `/v2/events`), authorized by
 * the job's path (`team.nightly` → `/team/nightly`). Runs come next (docs/jobs.md).
 */
export function registerJobRoutes(server: FastifyInstance, { state }: ApiContext): void {
  server.get('/v1/jobs', async (request) => {
    const embeds = embedsOf(request);
    return [...state.current.jobs.values()].map((job) => jobView(job, embeds));
  });

  server.post('/v1/jobs', async (request, reply) => {
    const job = await commit(state, (s, now) => createJob(s, request.body, now));
    // COMPAT(metronome): the job as created; its schedules shown when it came with some.
    return reply.code(201).send(jobView(job, new Set(job.schedules.length > 0 ? ['schedules'] : [])));
  });

  server.get('/v1/jobs/:jobId', async (request) => jobView(jobOf(state, paramsOf(request).jobId), embedsOf(request)));

  server.put('/v1/jobs/:jobId', async (request) => {
    const { jobId } = paramsOf(request);
    return jobView(await commit(state, (s, now) => updateJob(s, jobId, request.body, now)), new Set());
  });

  server.delete('/v1/jobs/:jobId', async (request) => {
    const { jobId } = paramsOf(request);
    return jobView(await commit(state, (s, now) => deleteJob(s, jobId, now)), new Set());
  });

  server.get('/v1/jobs/:jobId/schedules', async (request) => jobOf(state, paramsOf(request).jobId).schedules);

  server.post('/v1/jobs/:jobId/schedules', async (request, reply) => {
    const { jobId } = paramsOf(request);
    return reply.code(201).send(await commit(state, (s, now) => addSchedule(s, jobId, request.body, now)));
  });

  server.get('/v1/jobs/:jobId/schedules/:scheduleId', async (request) => {
    const { jobId, scheduleId = '' } = paramsOf(request);
    const schedule = jobOf(state, jobId).schedules.find((s) => s.id === scheduleId);
    if (schedule === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_SCHEDULE_NOT_FOUND', jobId, scheduleId });
    return schedule;
  });

  server.put('/v1/jobs/:jobId/schedules/:scheduleId', async (request) => {
    const { jobId, scheduleId = '' } = paramsOf(request);
    return commit(state, (s, now) => replaceSchedule(s, jobId, scheduleId, request.body, now));
  });

  server.delete('/v1/jobs/:jobId/schedules/:scheduleId', async (request, reply) => {
    const { jobId, scheduleId = '' } = paramsOf(request);
    await commit(state, (s, now) => removeSchedule(s, jobId, scheduleId, now));
    // COMPAT(metronome): 200 with no body.
    return reply.code(200).send();
  });
}
