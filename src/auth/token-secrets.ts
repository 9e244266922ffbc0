import { randomBytes, randomUUID } from 'node:crypto';
import { hashSecret } from './core/tokens.ts';
import type { TokenRecord } from './types.ts';

/** 256 bits: no guessing, and no need for a slow hash of the secret. */
export const SECRET_BYTES = 32;

/**
 * A new token for an identity: `token` (`<id>.<secret>`) is shown once to whoever asked for it;
 * `record` (the secret's hash only) is what the state store keeps.
 */
export function newToken(identityId: string, nowMs: number, ttlMs?: number): { token: string; record: TokenRecord } {
  const id = randomUUID();
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  const record: TokenRecord = { id, identityId, hash: hashSecret(secret), createdAt: nowMs, ...(ttlMs === undefined ? {} : { expiresAt: nowMs + ttlMs }) };
  return { token: `${id}.${secret}`, record };
}
