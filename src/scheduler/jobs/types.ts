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

export interface JobRun {
  id: string;
  jobId: string;
  status: JobRunStatus;
  createdAt: string;
  completedAt?: string;
  /** The slot this run is for (ISO time); absent for a run started by hand. */
  scheduledAt?: string;
  /** The schedule whose slot this is; with scheduledAt, the run's idempotency key. */
  scheduleId?: string;
  /** Run-now parameters: env overriding the job's. */
  env?: Record<string, string>;
  /** The task ids this run has launched, the last one current (ON_FAILURE retries add more). */
  tasks: string[];
}

/** A finished run, as the bounded history keeps it. */
export interface FinishedRun {
  id: string;
  createdAt: string;
  finishedAt: string;
  scheduledAt?: string;
}

/** A slot that produced no run, and why (missed past its deadline, skipped by FORBID or catch-up). */
export interface SkippedSlot {
  scheduleId: string;
  scheduledAt: string;
  reason: 'missed-deadline' | 'forbidden-concurrent' | 'catch-up-none' | 'catch-up-one';
}

export interface JobHistory {
  successCount: number;
  failureCount: number;
  lastSuccessAt?: string;
  lastFailureAt?: string;
  successfulFinishedRuns: FinishedRun[];
  failedFinishedRuns: FinishedRun[];
  skippedSlots: SkippedSlot[];
}
