/** An error with the HTTP status and Marathon-shaped body the API answers with. */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly body: Record<string, unknown>;

  constructor(statusCode: number, code: string, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
    this.body = { message, ...extra };
  }
}

export interface ValidationDetail {
  path: string;
  errors: string[];
}

export const appNotFound = (id: string): ApiError => new ApiError(404, 'ERR_SCHED_APP_NOT_FOUND', `App '${id}' does not exist`);

export const appExists = (id: string): ApiError =>
  new ApiError(409, 'ERR_SCHED_APP_EXISTS', `An app with id [${id}] already exists.`);

export const invalidObject = (details: ValidationDetail[]): ApiError =>
  new ApiError(422, 'ERR_SCHED_INVALID', 'Object is not valid', { details });

export const appLocked = (deploymentIds: string[]): ApiError =>
  new ApiError(
    409,
    'ERR_SCHED_APP_LOCKED',
    `App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.`,
    { deployments: deploymentIds.map((id) => ({ id })) },
  );
