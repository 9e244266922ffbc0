import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpError, type HttpError } from '../../src/scheduler/api/http-errors.ts';
import type { SchedulerErrorCode, SchedulerErrorOf } from '../../src/scheduler/errors.ts';

const LOCKED = "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.";

/** One example per code (a code added to errors.ts without a row here does not compile), and its exact answer. */
const cases: { [C in SchedulerErrorCode]: [SchedulerErrorOf<C>, HttpError] } = {
  ERR_SCHED_INVALID: [
    { code: 'ERR_SCHED_INVALID', details: [{ path: '/cpus', errors: ['must be >= 0'] }] },
    { statusCode: 422, body: { message: 'Object is not valid', details: [{ path: '/cpus', errors: ['must be >= 0'] }] } },
  ],
  ERR_SCHED_INVALID_JSON: [
    { code: 'ERR_SCHED_INVALID_JSON', reason: 'Unexpected token' },
    { statusCode: 400, body: { message: 'Invalid JSON', details: [{ path: '/', errors: ['Unexpected token'] }] } },
  ],
  ERR_SCHED_INVALID_TASK_ID: [{ code: 'ERR_SCHED_INVALID_TASK_ID', taskId: 'x' }, { statusCode: 400, body: { message: "Invalid task id 'x'." } }],
  ERR_SCHED_INVALID_AGENT_MESSAGE: [
    { code: 'ERR_SCHED_INVALID_AGENT_MESSAGE', what: 'heartbeat', errors: [{ message: 'bad' }] },
    { statusCode: 422, body: { message: 'invalid heartbeat', details: [{ message: 'bad' }] } },
  ],
  ERR_SCHED_LABEL_SELECTOR: [{ code: 'ERR_SCHED_LABEL_SELECTOR', reason: 'Can not parse' }, { statusCode: 400, body: { message: 'Can not parse' } }],
  ERR_SCHED_SCALE_AND_WIPE: [{ code: 'ERR_SCHED_SCALE_AND_WIPE' }, { statusCode: 400, body: { message: 'You cannot use scale and wipe at the same time.' } }],
  ERR_SCHED_BODY_TOO_LARGE: [{ code: 'ERR_SCHED_BODY_TOO_LARGE', limit: 1024 }, { statusCode: 413, body: { message: 'Request body is larger than 1024 bytes' } }],
  ERR_SCHED_UNKNOWN_PATH: [{ code: 'ERR_SCHED_UNKNOWN_PATH', method: 'GET', path: '/v2/x' }, { statusCode: 404, body: { message: 'Unknown path GET /v2/x' } }],
  ERR_SCHED_APP_NOT_FOUND: [{ code: 'ERR_SCHED_APP_NOT_FOUND', appId: '/x' }, { statusCode: 404, body: { message: "App '/x' does not exist" } }],
  ERR_SCHED_APP_VERSION_NOT_FOUND: [
    { code: 'ERR_SCHED_APP_VERSION_NOT_FOUND', appId: '/x', version: 'v1' },
    { statusCode: 404, body: { message: "App '/x' does not exist in version v1" } },
  ],
  ERR_SCHED_APP_EXISTS: [{ code: 'ERR_SCHED_APP_EXISTS', appId: '/x' }, { statusCode: 409, body: { message: 'An app with id [/x] already exists.' } }],
  ERR_SCHED_APP_LOCKED: [
    { code: 'ERR_SCHED_APP_LOCKED', deploymentIds: ['d1', 'd2'] },
    { statusCode: 409, body: { message: LOCKED, deployments: [{ id: 'd1' }, { id: 'd2' }] } },
  ],
  ERR_SCHED_TASK_NOT_FOUND: [{ code: 'ERR_SCHED_TASK_NOT_FOUND', taskId: 'x.1' }, { statusCode: 404, body: { message: "Task 'x.1' does not exist" } }],
  ERR_SCHED_GROUP_NOT_FOUND: [{ code: 'ERR_SCHED_GROUP_NOT_FOUND', groupId: '/g' }, { statusCode: 404, body: { message: "Group '/g' does not exist" } }],
  ERR_SCHED_GROUP_VERSION_NOT_FOUND: [
    { code: 'ERR_SCHED_GROUP_VERSION_NOT_FOUND', groupId: '/g', version: 'v1' },
    { statusCode: 404, body: { message: "Group '/g' does not exist in version v1" } },
  ],
  ERR_SCHED_GROUP_EXISTS: [
    { code: 'ERR_SCHED_GROUP_EXISTS', groupId: '/g' },
    { statusCode: 409, body: { message: 'Group /g is already created. Use PUT to change this group.' } },
  ],
  ERR_SCHED_ROOT_GROUP_DELETE: [
    { code: 'ERR_SCHED_ROOT_GROUP_DELETE' },
    { statusCode: 422, body: { message: 'Deleting the root group is not supported; delete its groups' } },
  ],
  ERR_SCHED_DEPLOYMENT_NOT_FOUND: [{ code: 'ERR_SCHED_DEPLOYMENT_NOT_FOUND', deploymentId: 'd1' }, { statusCode: 404, body: { message: 'DeploymentPlan d1 does not exist' } }],
  ERR_SCHED_NOT_QUEUED: [{ code: 'ERR_SCHED_NOT_QUEUED', appId: '/x' }, { statusCode: 404, body: { message: 'Application /x not found in tasks queue.' } }],
  ERR_SCHED_AGENT_NOT_REGISTERED: [{ code: 'ERR_SCHED_AGENT_NOT_REGISTERED', agentId: 'a1' }, { statusCode: 404, body: { message: 'Agent a1 is not registered' } }],
  ERR_SCHED_UNAUTHENTICATED: [{ code: 'ERR_SCHED_UNAUTHENTICATED' }, { statusCode: 401, body: { message: 'Authentication required: send Authorization: Bearer <token>, token=<token> or Basic credentials' } }],
  ERR_SCHED_FORBIDDEN: [{ code: 'ERR_SCHED_FORBIDDEN', reason: 'identity "a" may not read /b' }, { statusCode: 403, body: { message: 'identity "a" may not read /b' } }],
  ERR_SCHED_LAST_ADMIN: [{ code: 'ERR_SCHED_LAST_ADMIN', reason: 'nobody would hold admin on /' }, { statusCode: 409, body: { message: 'nobody would hold admin on /' } }],
  ERR_SCHED_TOKEN_NOT_FOUND: [{ code: 'ERR_SCHED_TOKEN_NOT_FOUND', tokenId: 't1' }, { statusCode: 404, body: { message: "Token 't1' does not exist" } }],
  ERR_SCHED_IDENTITY_NOT_FOUND: [{ code: 'ERR_SCHED_IDENTITY_NOT_FOUND', identityId: 'i1' }, { statusCode: 404, body: { message: "Identity 'i1' does not exist" } }],
  ERR_SCHED_GRANT_NOT_FOUND: [{ code: 'ERR_SCHED_GRANT_NOT_FOUND', grantId: 'g1' }, { statusCode: 404, body: { message: "Grant 'g1' does not exist" } }],
  ERR_SCHED_UNSUPPORTED_MEDIA_TYPE: [{ code: 'ERR_SCHED_UNSUPPORTED_MEDIA_TYPE', reason: 'json please' }, { statusCode: 415, body: { message: 'json please' } }],
  ERR_SCHED_FOREIGN_ORIGIN: [{ code: 'ERR_SCHED_FOREIGN_ORIGIN', reason: 'cross-site' }, { statusCode: 403, body: { message: 'cross-site' } }],
  ERR_SCHED_QUOTA_EXCEEDED: [
    { code: 'ERR_SCHED_QUOTA_EXCEEDED', refusals: [{ group: '/a', resource: 'cpus', used: 1, requested: 2, limit: 2 }], message: 'quota of /a: cpus 1 used + 2 requested = 3, over the limit of 2' },
    { statusCode: 403, body: { message: 'quota of /a: cpus 1 used + 2 requested = 3, over the limit of 2', refusals: [{ group: '/a', resource: 'cpus', used: 1, requested: 2, limit: 2 }] } },
  ],
  ERR_SCHED_QUOTA_NOT_FOUND: [{ code: 'ERR_SCHED_QUOTA_NOT_FOUND', group: '/a' }, { statusCode: 404, body: { message: "Group '/a' has no quota" } }],
  ERR_SCHED_JOB_NOT_FOUND: [{ code: 'ERR_SCHED_JOB_NOT_FOUND', jobId: 'a.b' }, { statusCode: 404, body: { message: 'Job not found', id: 'a.b' } }],
  ERR_SCHED_JOB_EXISTS: [{ code: 'ERR_SCHED_JOB_EXISTS', jobId: 'a.b' }, { statusCode: 409, body: { message: 'Job with this id already exists' } }],
  ERR_SCHED_SCHEDULE_NOT_FOUND: [{ code: 'ERR_SCHED_SCHEDULE_NOT_FOUND', jobId: 'a.b', scheduleId: 's' }, { statusCode: 404, body: { message: 'Schedule not found', id: 's' } }],
  ERR_SCHED_SCHEDULE_EXISTS: [{ code: 'ERR_SCHED_SCHEDULE_EXISTS', jobId: 'a.b', scheduleId: 's' }, { statusCode: 409, body: { message: 'Can only create a non existing schedule' } }],
  ERR_SCHED_JOB_HAS_ACTIVE_RUNS: [{ code: 'ERR_SCHED_JOB_HAS_ACTIVE_RUNS', jobId: 'a.b', runs: ['r1'] }, { statusCode: 409, body: { message: 'Job has 1 active run(s); stop them first or delete with ?stopCurrentJobRuns=true', id: 'a.b', runs: ['r1'] } }],
  ERR_SCHED_RUN_NOT_FOUND: [{ code: 'ERR_SCHED_RUN_NOT_FOUND', jobId: 'a.b', runId: 'r9' }, { statusCode: 404, body: { message: 'Job run not found', id: 'r9' } }],
};

for (const [code, [error, expected]] of Object.entries(cases)) {
  test(`httpError: ${code} answers ${expected.statusCode} with Marathon's message`, () => {
    assert.equal(error.code, code);
    const answered = httpError(error);
    assert.deepEqual(answered, expected);
    assert.ok(answered.statusCode >= 400 && answered.statusCode < 500, 'a domain error is the client’s, never a 5xx');
    assert.ok(answered.body.message.length > 0);
  });
}

test('httpError: a code not declared in errors.ts does not compile', () => {
  // @ts-expect-error: ERR_SCHED_NOPE is no SchedulerErrorCode (npm run typecheck fails if this ever compiles).
  assert.throws(() => httpError({ code: 'ERR_SCHED_NOPE' }));
});
