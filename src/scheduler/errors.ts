import type { QuotaRefusal } from '../auth/types.ts';

/**
 * The scheduler's domain errors: every code, once, with the data it carries. Core functions
 * return them as data (`{ ok: false, error }`); routes throw them as a `SchedulerFailure`; only
 * `api/http-errors.ts` knows their HTTP status and Marathon's body.
 */

export interface ValidationDetail {
  path: string;
  errors: string[];
}

/** Each code and the data its error carries. */
interface ErrorData {
  /** A body that fails validation (Marathon's 422 with `details`). */
  ERR_SCHED_INVALID: { details: ValidationDetail[] };
  ERR_SCHED_INVALID_JSON: { reason: string };
  ERR_SCHED_INVALID_TASK_ID: { taskId: string };
  ERR_SCHED_INVALID_AGENT_MESSAGE: { what: string; errors: unknown };
  ERR_SCHED_LABEL_SELECTOR: { reason: string };
  ERR_SCHED_SCALE_AND_WIPE: Record<never, never>;
  ERR_SCHED_BODY_TOO_LARGE: { limit: number };
  ERR_SCHED_UNKNOWN_PATH: { method: string; path: string };
  ERR_SCHED_APP_NOT_FOUND: { appId: string };
  ERR_SCHED_APP_VERSION_NOT_FOUND: { appId: string; version: string };
  ERR_SCHED_APP_EXISTS: { appId: string };
  /** A change to an app held by deployments, not forced. */
  ERR_SCHED_APP_LOCKED: { deploymentIds: string[] };
  ERR_SCHED_TASK_NOT_FOUND: { taskId: string };
  ERR_SCHED_GROUP_NOT_FOUND: { groupId: string };
  ERR_SCHED_GROUP_VERSION_NOT_FOUND: { groupId: string; version: string };
  ERR_SCHED_GROUP_EXISTS: { groupId: string };
  ERR_SCHED_ROOT_GROUP_DELETE: Record<never, never>;
  ERR_SCHED_DEPLOYMENT_NOT_FOUND: { deploymentId: string };
  ERR_SCHED_NOT_QUEUED: { appId: string };
  ERR_SCHED_AGENT_NOT_REGISTERED: { agentId: string };
  /** `--auth`: no credentials, or ones that do not check out (the reason goes to the audit log only). */
  ERR_SCHED_UNAUTHENTICATED: Record<never, never>;
  /** `--auth`: the identity's grants do not allow the request; the reason says what would. */
  ERR_SCHED_FORBIDDEN: { reason: string };
  /** `--auth`: an identity or grant change through /v2/auth would leave nobody holding admin on `/`. */
  ERR_SCHED_LAST_ADMIN: { reason: string };
  ERR_SCHED_TOKEN_NOT_FOUND: { tokenId: string };
  ERR_SCHED_IDENTITY_NOT_FOUND: { identityId: string };
  ERR_SCHED_GRANT_NOT_FOUND: { grantId: string };
  /** Browser safety: a write with a body that is not JSON (a form post). */
  ERR_SCHED_UNSUPPORTED_MEDIA_TYPE: { reason: string };
  /** Browser safety: a request from another site's page. */
  ERR_SCHED_FOREIGN_ORIGIN: { reason: string };
  /** A write whose target state does not fit a group's quota (with or without --auth). */
  ERR_SCHED_QUOTA_EXCEEDED: { refusals: QuotaRefusal[]; message: string };
  ERR_SCHED_QUOTA_NOT_FOUND: { group: string };
  ERR_SCHED_JOB_NOT_FOUND: { jobId: string };
  ERR_SCHED_JOB_EXISTS: { jobId: string };
  ERR_SCHED_SCHEDULE_NOT_FOUND: { jobId: string; scheduleId: string };
  ERR_SCHED_SCHEDULE_EXISTS: { jobId: string; scheduleId: string };
  ERR_SCHED_JOB_HAS_ACTIVE_RUNS: { jobId: string; runs: string[] };
  ERR_SCHED_RUN_NOT_FOUND: { jobId: string; runId: string };
}

export type SchedulerErrorCode = keyof ErrorData;

/** A domain error: its code and its data, plain and comparable. */
export type SchedulerError = { [C in SchedulerErrorCode]: { code: C } & ErrorData[C] }[SchedulerErrorCode];

export type SchedulerErrorOf<C extends SchedulerErrorCode> = Extract<SchedulerError, { code: C }>;

/** A domain error thrown out of a route; the server's error handler answers it. */
export class SchedulerFailure extends Error {
  readonly code: SchedulerErrorCode;
  readonly error: SchedulerError;

  constructor(error: SchedulerError) {
    super(error.code);
    this.name = 'SchedulerFailure';
    this.code = error.code;
    this.error = error;
  }
}

/** The outcome of a core change: its result, or the domain error that refused it. */
export type Refused = { ok: false; error: SchedulerError };

export const invalidObject = (details: ValidationDetail[]): SchedulerErrorOf<'ERR_SCHED_INVALID'> => ({ code: 'ERR_SCHED_INVALID', details });

export const appNotFound = (appId: string): SchedulerErrorOf<'ERR_SCHED_APP_NOT_FOUND'> => ({ code: 'ERR_SCHED_APP_NOT_FOUND', appId });
