/**
 * Metronome's jobs as the UI shows them (`GET /v1/jobs?embed=schedules&embed=activeRuns&embed=history`),
 * kept current by the `job_*` events of `/v2/events` (docs/jobs.md "Events").
 */
export interface JobSchedule { id: string; cron: string; timeZone?: string; enabled?: boolean; concurrencyPolicy?: string }
export interface JobRunTask { id: string; agentId?: string; status?: string; startedAt?: string; completedAt?: string }
export interface JobRun {
  id: string; jobId: string; status: string; createdAt: string;
  scheduledAt?: string; scheduleId?: string; completedAt?: string; message?: string; tasks: JobRunTask[];
}
export interface FinishedRun { id: string; createdAt: string; finishedAt: string; scheduledAt?: string; message?: string; tasks: JobRunTask[] }
export interface SkippedSlot { scheduleId: string; scheduledAt: string; reason: string; until?: string }
export interface JobHistory {
  successCount: number; failureCount: number; lastSuccessAt: string | null; lastFailureAt: string | null;
  successfulFinishedRuns: FinishedRun[]; failedFinishedRuns: FinishedRun[]; skippedSlots: SkippedSlot[];
}
export interface Job {
  id: string; description?: string; labels?: Record<string, string>;
  run: { cmd?: string; args?: string[]; cpus?: number; mem?: number };
  schedules: JobSchedule[]; activeRuns: JobRun[]; history: JobHistory;
}

export const JOBS_LISTING = '/v1/jobs?embed=schedules&embed=activeRuns&embed=history';
export const EMPTY_HISTORY: JobHistory = {
  successCount: 0, failureCount: 0, lastSuccessAt: null, lastFailureAt: null, successfulFinishedRuns: [], failedFinishedRuns: [], skippedSlots: [],
};
/** The history keeps the last 50 of each list (the scheduler's bound). */
const HISTORY_KEPT = 50;

/** `team-a.nightly` → `/team-a/nightly`: a job's path, which its tasks' status events name as their app. */
export const jobPath = (id: string): string => `/${id.replace(/\./g, '/')}`;

/** A job from the listing or an event, with what an event leaves out taken from the one known. */
export function jobOf(raw: Record<string, unknown>, known?: Job): Job {
  return {
    ...(raw as unknown as Job),
    schedules: (raw.schedules as JobSchedule[] | undefined) ?? known?.schedules ?? [],
    activeRuns: (raw.activeRuns as JobRun[] | undefined) ?? known?.activeRuns ?? [],
    history: { ...EMPTY_HISTORY, ...(known?.history ?? {}), ...((raw.history as Partial<JobHistory> | undefined) ?? {}) },
  };
}

const record = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function withJob(jobs: ReadonlyMap<string, Job>, job: Job): Map<string, Job> {
  const next = new Map(jobs);
  next.set(job.id, job);
  return next;
}

function ended(job: Job, run: JobRun, success: boolean): Job {
  const activeRuns = job.activeRuns.filter((r) => r.id !== run.id);
  const finishedAt = run.completedAt ?? run.createdAt;
  const entry: FinishedRun = { id: run.id, createdAt: run.createdAt, finishedAt, tasks: run.tasks, ...(run.scheduledAt !== undefined ? { scheduledAt: run.scheduledAt } : {}), ...(run.message !== undefined ? { message: run.message } : {}) };
  const h = job.history;
  // A replayed event (Last-Event-ID over a newer listing) finds the run already in the history.
  if ([...h.successfulFinishedRuns, ...h.failedFinishedRuns].some((r) => r.id === run.id)) return { ...job, activeRuns };
  const history: JobHistory = success
    ? { ...h, successCount: h.successCount + 1, lastSuccessAt: finishedAt, successfulFinishedRuns: [entry, ...h.successfulFinishedRuns].slice(0, HISTORY_KEPT) }
    : { ...h, failureCount: h.failureCount + 1, lastFailureAt: finishedAt, failedFinishedRuns: [entry, ...h.failedFinishedRuns].slice(0, HISTORY_KEPT) };
  return { ...job, activeRuns, history };
}

/**
 * Folds one event into the jobs; `reread` when the event tells that something changed which no
 * event carries (a run's task started: its status and task ids; skipped slots). Pure, and a replay
 * over a newer listing converges.
 */
export function foldJobEvent(jobs: ReadonlyMap<string, Job>, event: { eventType: string } & Record<string, unknown>): { jobs: ReadonlyMap<string, Job>; reread?: boolean } {
  switch (event.eventType) {
    case 'job_created':
    case 'job_updated': {
      if (!record(event.job) || typeof event.job.id !== 'string') return { jobs };
      return { jobs: withJob(jobs, jobOf(event.job, jobs.get(event.job.id))) };
    }
    case 'job_deleted': {
      const id = record(event.job) ? event.job.id : undefined;
      if (typeof id !== 'string' || !jobs.has(id)) return { jobs };
      const next = new Map(jobs);
      next.delete(id);
      return { jobs: next };
    }
    case 'job_run_started':
    case 'job_run_finished':
    case 'job_run_failed': {
      const run = event.jobRun as JobRun | undefined;
      const job = run === undefined ? undefined : jobs.get(run.jobId);
      if (run === undefined || job === undefined) return { jobs };
      if (event.eventType !== 'job_run_started') return { jobs: withJob(jobs, ended(job, run, event.eventType === 'job_run_finished')) };
      const finished = [...job.history.successfulFinishedRuns, ...job.history.failedFinishedRuns].some((r) => r.id === run.id);
      if (finished) return { jobs };
      return { jobs: withJob(jobs, { ...job, activeRuns: [...job.activeRuns.filter((r) => r.id !== run.id), run] }) };
    }
    case 'status_update_event': {
      const appId = event.appId;
      const isJob = typeof appId === 'string' && [...jobs.values()].some((j) => j.activeRuns.length > 0 && jobPath(j.id) === appId);
      return isJob ? { jobs, reread: true } : { jobs };
    }
    default:
      return { jobs };
  }
}

/**
 * Whether a run is on its way (INITIAL or STARTING): the scheduler moves it on (placed, ACTIVE) in
 * a pass after its task's status update, with no event of its own, so the UI reads the jobs
 * again on the stream's heartbeat while one is.
 */
export const runsSettling = (jobs: ReadonlyMap<string, Job>): boolean =>
  [...jobs.values()].some((job) => job.activeRuns.some((run) => run.status === 'INITIAL' || run.status === 'STARTING'));

export type LastRun = { status: 'SUCCESS' | 'FAILED'; at: string } | { status: 'NEVER' };

/** The outcome of a job's last finished run, from its history summary. */
export function lastRun(history: JobHistory): LastRun {
  const { lastSuccessAt: ok, lastFailureAt: failed } = history;
  if (ok === null && failed === null) return { status: 'NEVER' };
  if (failed === null || (ok !== null && ok >= failed)) return { status: 'SUCCESS', at: ok as string };
  return { status: 'FAILED', at: failed };
}

/** A job's row in the list: running now, else how its last run ended. */
export function jobStatus(job: Job): string {
  if (job.activeRuns.length > 0) return job.activeRuns.some((r) => r.status === 'ACTIVE') ? 'Running' : 'Starting';
  const last = lastRun(job.history);
  return last.status === 'NEVER' ? 'Never run' : last.status === 'SUCCESS' ? 'Succeeded' : 'Failed';
}

export type HistoryEntry =
  | { kind: 'success' | 'failure'; at: string; run: FinishedRun }
  | { kind: 'skipped'; at: string; slot: SkippedSlot };

/** Successes, failures and skipped slots in one list, newest first. */
export function historyEntries(history: JobHistory): HistoryEntry[] {
  const entries: HistoryEntry[] = [
    ...history.successfulFinishedRuns.map((run) => ({ kind: 'success' as const, at: run.finishedAt, run })),
    ...history.failedFinishedRuns.map((run) => ({ kind: 'failure' as const, at: run.finishedAt, run })),
    ...history.skippedSlots.map((slot) => ({ kind: 'skipped' as const, at: slot.scheduledAt, slot })),
  ];
  return entries.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}
