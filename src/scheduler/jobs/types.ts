/**
 * Jobs (issue #20): Metronome's job, schedule and run, as stored and as its `/v1/jobs` API shows
 * them. Plain JSON-shaped data, so the state store can hold them; defaults applied on write.
 */

export type ConstraintOperator = 'EQ' | 'LIKE' | 'UNLIKE' | 'IS' | 'IN' | 'GROUP_BY' | 'MAX_PER' | 'UNIQUE' | 'CLUSTER';

export interface JobConstraint {
  attribute: string;
  operator: ConstraintOperator;
  value?: string;
}

export interface JobArtifact {
  uri: string;
  executable?: boolean;
  extract?: boolean;
  cache?: boolean;
}

export type RestartPolicy = 'NEVER' | 'ON_FAILURE';

/** What one run starts: Metronome's `run` object. */
export interface JobRunSpec {
  cmd?: string;
  args?: string[];
  cpus: number;
  mem: number;
  disk: number;
  gpus?: number;
  env: Record<string, string>;
  artifacts: JobArtifact[];
  placement: { constraints: JobConstraint[] };
  /** Seconds a run may wait to be placed before it fails. */
  maxLaunchDelay: number;
  restart: { policy: RestartPolicy; activeDeadlineSeconds?: number };
  user?: string;
  /** Metronome's `run.docker`: the run's task runs in this image, on an agent with the `images` capability. */
  docker?: JobDocker;
}

/** COMPAT(metronome): its `run.docker`; `parameters` map as an app's `container.docker.parameters` do (env, hostname, label). */
export interface JobDocker {
  image: string;
  forcePullImage: boolean;
  privileged: boolean;
  parameters: Array<{ key: string; value: string }>;
}

export interface Job {
  /** Metronome's dotted id (`team.nightly-report`); its path for ACLs and quotas is `/team/nightly-report`. */
  id: string;
  description?: string;
  labels: Record<string, string>;
  run: JobRunSpec;
  /** Beyond Metronome (Chronos' parents): a run of a slot starts once these jobs' runs of the same slot succeeded. */
  dependencies?: string[];
}

export type ConcurrencyPolicy = 'ALLOW' | 'FORBID' | 'REPLACE';
/** Beyond Metronome: what to do with the slots missed while no scheduler ran. */
export type CatchUpPolicy = 'NONE' | 'ONE' | 'ALL';

export interface JobSchedule {
  id: string;
  /** Five fields, or six with seconds first. */
  cron: string;
  /** IANA zone name; UTC by default. COMPAT(metronome): spelled `timeZone`, as Metronome's schedule. */
  timeZone: string;
  /** A slot not started within this many seconds of its time is missed (recorded, never run). */
  startingDeadlineSeconds: number;
  concurrencyPolicy: ConcurrencyPolicy;
  enabled: boolean;
  catchUp: CatchUpPolicy;
}

/**
 * A job as the state store keeps it (`jobs` collection, by id): the job with its schedules.
 * COMPAT(metronome): Metronome's JobSpec holds its schedules too, and a schedule change is a
 * `job_updated` of the whole job; one record makes deleting a job delete its schedules with it.
 */
export interface StoredJob extends Job {
  schedules: JobSchedule[];
}

export type JobRunStatus = 'INITIAL' | 'STARTING' | 'ACTIVE' | 'SUCCESS' | 'FAILED';

/** One task a run launched, as Metronome's run JSON lists it. */
export interface JobRunTask {
  id: string;
  /** Where it ran: its sandbox and logs stay there after the run ended. */
  agentId: string;
  /** The task's last known state (TASK_STAGING … TASK_FINISHED). */
  status: string;
  startedAt?: string;
  completedAt?: string;
}

/**
 * A run that has not ended (`jobRuns` collection, keyed `<job id> <run id>`). When it ends it
 * leaves the collection and the job's bounded history keeps it (FinishedRun).
 */
export interface JobRun {
  id: string;
  jobId: string;
  status: JobRunStatus;
  createdAt: string;
  /** The slot this run is for (ISO time); absent for a run started by hand. */
  scheduledAt?: string;
  /** The schedule whose slot this is (`after:<job id>` for a run its parents' success started). */
  scheduleId?: string;
  /** Run-now parameters: env overriding the job's. */
  env?: Record<string, string>;
  /** The tasks this run launched, the last one current (ON_FAILURE retries add more). */
  tasks: JobRunTask[];
  /** Tasks of this run that failed so far: the restart backoff grows with them. */
  failures: number;
  /** No task is launched before this time (the backoff after a failed task). */
  launchAfter?: string;
  /** Why the run waits, or how its last task ended. */
  message?: string;
}

/** A finished run, as the bounded history keeps it. */
export interface FinishedRun {
  id: string;
  createdAt: string;
  finishedAt: string;
  scheduledAt?: string;
  /** How it ended, in words (exit status, the deadline it overran, stopped by hand…). */
  message?: string;
  tasks: JobRunTask[];
}

/** A slot that produced no run, and why (missed past its deadline, skipped by FORBID or catch-up, a parent failed). */
export interface SkippedSlot {
  scheduleId: string;
  scheduledAt: string;
  reason: 'missed-deadline' | 'forbidden-concurrent' | 'catch-up-none' | 'catch-up-one' | 'too-many-missed' | 'parent-failed';
  /** For a range of slots too many to list (after a long outage): the range's end; scheduledAt is its start. */
  until?: string;
}

/** A job's history (`jobHistory` collection, by job id): counts for ever, the lists bounded (HISTORY_LIMIT). */
export interface JobHistory {
  successCount: number;
  failureCount: number;
  lastSuccessAt?: string;
  lastFailureAt?: string;
  successfulFinishedRuns: FinishedRun[];
  failedFinishedRuns: FinishedRun[];
  skippedSlots: SkippedSlot[];
}

/**
 * Where a schedule's slots have been decided up to (`jobTicks` collection, keyed `<job id>
 * <schedule id>`): the window after lastEvaluatedAt is decided next. Written with the runs it
 * decided in one transaction, so a slot is decided once, across restarts and failovers. The cron,
 * zone and enabled flag it was decided with: a schedule changed since starts again from now.
 */
export interface JobTick {
  lastEvaluatedAt: string;
  cron: string;
  timeZone: string;
  enabled: boolean;
}
