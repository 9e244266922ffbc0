import { CodedError } from '../shared/coded-error.ts';
import { describeRefusal } from './core/quota.ts';
import type { QuotaRefusal } from './types.ts';

/**
 * Coded errors of the auth room. Cores return decisions as data; adapters throw these when a
 * request must stop, and each server's error handler maps the code to its status:
 * UNAUTHENTICATED → 401, FORBIDDEN → 403, QUOTA_EXCEEDED → 403 (Marathon has no quota status;
 * the message carries the numbers), INVALID_POLICY → 422 or a refused start.
 */
export type AuthErrorCode = 'ERR_AUTH_UNAUTHENTICATED' | 'ERR_AUTH_FORBIDDEN' | 'ERR_AUTH_QUOTA_EXCEEDED' | 'ERR_AUTH_INVALID_POLICY';

export class AuthError extends CodedError<AuthErrorCode> {}

/** No credentials, or credentials that do not check out. The reason goes to the audit log, not to the client. */
export class Unauthenticated extends AuthError {
  readonly reason: string;

  constructor(reason: string) {
    super('ERR_AUTH_UNAUTHENTICATED', 'Authentication required: send Authorization: Bearer <token>');
    this.reason = reason;
  }
}

/** An authenticated identity asked for what its grants do not allow; the reason says what would. */
export class Forbidden extends AuthError {
  constructor(reason: string) {
    super('ERR_AUTH_FORBIDDEN', reason);
  }
}

export class QuotaExceeded extends AuthError {
  readonly refusals: readonly QuotaRefusal[];

  constructor(refusals: readonly QuotaRefusal[]) {
    super('ERR_AUTH_QUOTA_EXCEEDED', refusals.map(describeRefusal).join('; '));
    this.refusals = refusals;
  }
}

/** Grants or quotas that cannot be enforced as written (validateGrants, validateQuotas). */
export class InvalidPolicy extends AuthError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super('ERR_AUTH_INVALID_POLICY', `invalid auth policy: ${problems.join('; ')}`);
    this.problems = problems;
  }
}
