import type { SchedulerError, SchedulerErrorCode, SchedulerErrorOf } from '../errors.ts';

/** What the API answers for a domain error: Marathon's status and JSON body (always with `message`). */
export interface HttpError {
  statusCode: number;
  body: { message: string } & Record<string, unknown>;
}

const answer = (statusCode: number, message: string, extra: Record<string, unknown> = {}): HttpError => ({ statusCode, body: { message, ...extra } });

/**
 * COMPAT(marathon): the messages are Marathon's, byte for byte where Marathon has one (clients
 * match on them). A code missing here, or one not declared in errors.ts, does not compile.
 */
const HTTP_ERRORS: { [C in SchedulerErrorCode]: (error: SchedulerErrorOf<C>) => HttpError } = {
  ERR_SCHED_INVALID: (e) => answer(422, 'Object is not valid', { details: e.details }),
  ERR_SCHED_INVALID_JSON: (e) => answer(400, 'Invalid JSON', { details: [{ path: '/', errors: [e.reason] }] }),
  ERR_SCHED_INVALID_TASK_ID: (e) => answer(400, `Invalid task id '${e.taskId}'.`),
  ERR_SCHED_INVALID_AGENT_MESSAGE: (e) => answer(422, `invalid ${e.what}`, { details: e.errors }),
  ERR_SCHED_LABEL_SELECTOR: (e) => answer(400, e.reason),
  ERR_SCHED_SCALE_AND_WIPE: () => answer(400, 'You cannot use scale and wipe at the same time.'),
  ERR_SCHED_BODY_TOO_LARGE: (e) => answer(413, `Request body is larger than ${e.limit} bytes`),
  ERR_SCHED_UNKNOWN_PATH: (e) => answer(404, `Unknown path ${e.method} ${e.path}`),
  ERR_SCHED_APP_NOT_FOUND: (e) => answer(404, `App '${e.appId}' does not exist`),
  ERR_SCHED_APP_VERSION_NOT_FOUND: (e) => answer(404, `App '${e.appId}' does not exist in version ${e.version}`),
  ERR_SCHED_APP_EXISTS: (e) => answer(409, `An app with id [${e.appId}] already exists.`),
  ERR_SCHED_APP_LOCKED: (e) =>
    answer(409, `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.`, {
      deployments: e.deploymentIds.map((id) => ({ id })),
    }),
  ERR_SCHED_TASK_NOT_FOUND: (e) => answer(404, `Task '${e.taskId}' does not exist`),
  ERR_SCHED_GROUP_NOT_FOUND: (e) => answer(404, `Group '${e.groupId}' does not exist`),
  ERR_SCHED_GROUP_VERSION_NOT_FOUND: (e) => answer(404, `Group '${e.groupId}' does not exist in version ${e.version}`),
  ERR_SCHED_GROUP_EXISTS: (e) => answer(409, `Group ${e.groupId} is already created. Use PUT to change this group.`),
  ERR_SCHED_ROOT_GROUP_DELETE: () => answer(422, 'Deleting the root group is not supported; delete its groups'),
  ERR_SCHED_DEPLOYMENT_NOT_FOUND: (e) => answer(404, `DeploymentPlan ${e.deploymentId} does not exist`),
  ERR_SCHED_NOT_QUEUED: (e) => answer(404, `Application ${e.appId} not found in tasks queue.`),
  ERR_SCHED_AGENT_NOT_REGISTERED: (e) => answer(404, `Agent ${e.agentId} is not registered`),
  ERR_SCHED_UNAUTHENTICATED: () => answer(401, 'Authentication required: send Authorization: Bearer <token>, token=<token> or Basic credentials'),
  ERR_SCHED_FORBIDDEN: (e) => answer(403, e.reason),
  ERR_SCHED_LAST_ADMIN: (e) => answer(409, e.reason),
  ERR_SCHED_TOKEN_NOT_FOUND: (e) => answer(404, `Token '${e.tokenId}' does not exist`),
  ERR_SCHED_IDENTITY_NOT_FOUND: (e) => answer(404, `Identity '${e.identityId}' does not exist`),
  ERR_SCHED_GRANT_NOT_FOUND: (e) => answer(404, `Grant '${e.grantId}' does not exist`),
  ERR_SCHED_UNSUPPORTED_MEDIA_TYPE: (e) => answer(415, e.reason),
  ERR_SCHED_FOREIGN_ORIGIN: (e) => answer(403, e.reason),
  // Marathon has no quotas; 403 as Kubernetes answers an exceeded ResourceQuota (the request is understood, and refused).
  ERR_SCHED_QUOTA_EXCEEDED: (e) => answer(403, e.message, { refusals: e.refusals }),
  ERR_SCHED_QUOTA_NOT_FOUND: (e) => answer(404, `Group '${e.group}' has no quota`),
  // COMPAT(metronome): its messages, and `id` beside them on a 404.
  ERR_SCHED_JOB_NOT_FOUND: (e) => answer(404, 'Job not found', { id: e.jobId }),
  ERR_SCHED_JOB_EXISTS: () => answer(409, 'Job with this id already exists'),
  ERR_SCHED_SCHEDULE_NOT_FOUND: (e) => answer(404, 'Schedule not found', { id: e.scheduleId }),
  ERR_SCHED_SCHEDULE_EXISTS: () => answer(409, 'Can only create a non existing schedule'),
  ERR_SCHED_JOB_HAS_ACTIVE_RUNS: (e) => answer(409, `Job has ${e.runs.length} active run(s); stop them first or delete with ?stopCurrentJobRuns=true`, { id: e.jobId, runs: e.runs }),
  ERR_SCHED_RUN_NOT_FOUND: (e) => answer(404, 'Job run not found', { id: e.runId }),
};

/** The HTTP status and Marathon body of a domain error. */
export function httpError(error: SchedulerError): HttpError {
  return (HTTP_ERRORS[error.code] as (e: SchedulerError) => HttpError)(error);
}
