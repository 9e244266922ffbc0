import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalidObject, SchedulerFailure, type Refused } from '../errors.ts';
import type { SchedulerState } from '../state.ts';
import type { ClusterState } from '../types.ts';
import { addSchedule, createJob, deleteJob, removeSchedule, replaceSchedule, runNow, stopRunById, updateJob, type JobChange } from '../jobs/core/job-changes.ts';
import { finishedRunView, jobView, parseEmbeds, type Embed } from '../jobs/core/job-view.ts';
import { activeRunsOf, historyOf, runKey, type RunContext } from '../jobs/core/runs.ts';
import { newRunId } from '../jobs/run-ids.ts';
import type { StoredJob } from '../jobs/types.ts';
import type { ApiContext } from './context.ts';
import { list, type Query } from './route-helpers.ts';

interface JobParams { jobId: string; scheduleId?: string; runId?: string }

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
async function commit<T>(state: SchedulerState, compute: (s: ClusterState, context: RunContext) => JobChange<T> | Refused): Promise<T> {
  const change = await state.transact<JobChange<T> | Refused>((s) => {
    const nowMs = Date.now();
    const result = compute(s, { now: new Date(nowMs).toISOString(), nowMs, newRunId });
    return result.ok ? { ops: result.ops, events: result.events, result } : { ops: [], events: [], result };
  });
  if (!change.ok) throw new SchedulerFailure(change.error);
  return change.answer;
}

/** A job as `/v1/jobs` shows it, with its runs and history from the state. */
function view(current: ClusterState, job: StoredJob, embeds: ReadonlySet<Embed>): ReturnType<typeof jobView> {
  return jobView(job, embeds, historyOf(current, job.id), activeRunsOf(current, job.id));
}

/**
 * Metronome's `/v1/jobs`, their schedules and runs: stored with the apps, written through the
 * same transactions (with `job_*` events on `/v2/events`), authorized by the job's path
 * (`team.nightly` → `/team/nightly`). Runs are placed and followed by the orchestrator
 * (jobs/core/runs.ts), slots turned into runs by the JobTicker.
 */
export function registerJobRoutes(server: FastifyInstance, { state }: ApiContext): void {
  server.get('/v1/jobs', async (request) => {
    const embeds = embedsOf(request);
    const current = state.current;
    return [...current.jobs.values()].map((job) => view(current, job, embeds));
  });

  server.post('/v1/jobs', async (request, reply) => {
    const job = await commit(state, (s, { now }) => createJob(s, request.body, now));
    // COMPAT(metronome): the job as created; its schedules shown when it came with some.
    return reply.code(201).send(view(state.current, job, new Set(job.schedules.length > 0 ? ['schedules'] : [])));
  });

  server.get('/v1/jobs/:jobId', async (request) => view(state.current, jobOf(state, paramsOf(request).jobId), embedsOf(request)));

  server.put('/v1/jobs/:jobId', async (request) => {
    const { jobId } = paramsOf(request);
    return view(state.current, await commit(state, (s, { now }) => updateJob(s, jobId, request.body, now)), new Set());
  });

  server.delete('/v1/jobs/:jobId', async (request) => {
    const { jobId } = paramsOf(request);
    const stop = (request.query as Query).stopCurrentJobRuns === 'true';
    const job = await commit(state, (s, context) => deleteJob(s, jobId, context, stop));
    return jobView(job, new Set(), historyOf(state.current, jobId), []);
  });

  server.get('/v1/jobs/:jobId/schedules', async (request) => jobOf(state, paramsOf(request).jobId).schedules);

  server.post('/v1/jobs/:jobId/schedules', async (request, reply) => {
    const { jobId } = paramsOf(request);
    return reply.code(201).send(await commit(state, (s, { now }) => addSchedule(s, jobId, request.body, now)));
  });

  server.get('/v1/jobs/:jobId/schedules/:scheduleId', async (request) => {
    const { jobId, scheduleId = '' } = paramsOf(request);
    const schedule = jobOf(state, jobId).schedules.find((s) => s.id === scheduleId);
    if (schedule === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_SCHEDULE_NOT_FOUND', jobId, scheduleId });
    return schedule;
  });

  server.put('/v1/jobs/:jobId/schedules/:scheduleId', async (request) => {
    const { jobId, scheduleId = '' } = paramsOf(request);
    return commit(state, (s, { now }) => replaceSchedule(s, jobId, scheduleId, request.body, now));
  });

  server.delete('/v1/jobs/:jobId/schedules/:scheduleId', async (request, reply) => {
    const { jobId, scheduleId = '' } = paramsOf(request);
    await commit(state, (s, { now }) => removeSchedule(s, jobId, scheduleId, now));
    // COMPAT(metronome): 200 with no body.
    return reply.code(200).send();
  });

  // COMPAT(metronome): the runs that have not ended; finished ones are in the job's history.
  server.get('/v1/jobs/:jobId/runs', async (request) => {
    const { jobId } = paramsOf(request);
    jobOf(state, jobId);
    return activeRunsOf(state.current, jobId);
  });

  server.post('/v1/jobs/:jobId/runs', async (request, reply) => {
    const { jobId } = paramsOf(request);
    return reply.code(201).send(await commit(state, (s, context) => runNow(s, jobId, request.body, context)));
  });

  // An active run, or (Corral) a finished one still in the history, with its outcome.
  server.get('/v1/jobs/:jobId/runs/:runId', async (request) => {
    const { jobId, runId = '' } = paramsOf(request);
    jobOf(state, jobId);
    const current = state.current;
    const run = current.jobRuns.get(runKey(jobId, runId)) ?? finishedRunView(jobId, historyOf(current, jobId), runId);
    if (run === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_RUN_NOT_FOUND', jobId, runId });
    return run;
  });

  server.post('/v1/jobs/:jobId/runs/:runId/actions/stop', async (request) => {
    const { jobId, runId = '' } = paramsOf(request);
    return commit(state, (s, context) => stopRunById(s, jobId, runId, context));
  });
}
