import { createHash } from 'node:crypto';
import type { TokenRecord } from '../types.ts';

/** Longer than any credential Corral issues or accepts; refused before any parsing. */
export const MAX_AUTHORIZATION_LENGTH = 4096;
const MAX_TOKEN_LENGTH = 512;
// RFC 6750's b64token: what a Bearer token may be made of.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A Corral token is `<id>.<secret>`: the id (public) finds the record, the secret is checked against its hash. */
const PRESENTED = /^([A-Za-z0-9-]{1,64})\.([A-Za-z0-9_-]{43,256})$/;

/**
 * What an Authorization header carries. Reasons never quote the header: it may hold a secret
 * that is merely misspelt.
 */
export type Authorization =
  | { scheme: 'none' }
  | { scheme: 'bearer'; token: string }
  // COMPAT(dcos): DC/OS clients send `Authorization: token=<t>`.
  | { scheme: 'dcos'; token: string }
  | { scheme: 'basic'; user: string; password: string }
  | { scheme: 'invalid'; reason: string };

function tokenOf(scheme: 'bearer' | 'dcos', token: string): Authorization {
  if (token === '') return { scheme: 'invalid', reason: 'the token is empty' };
  if (token.length > MAX_TOKEN_LENGTH) return { scheme: 'invalid', reason: `the token is longer than ${MAX_TOKEN_LENGTH} characters` };
  if (!B64TOKEN.test(token)) return { scheme: 'invalid', reason: 'the token holds characters a token may not' };
  return { scheme, token };
}

function basicOf(encoded: string): Authorization {
  if (encoded.length % 4 !== 0 || !BASE64.test(encoded)) return { scheme: 'invalid', reason: 'the Basic credentials are not base64' };
  const bytes = Buffer.from(encoded, 'base64');
  const text = bytes.toString('utf8');
  // A lossy decode would let two different byte strings name the same user.
  if (!Buffer.from(text, 'utf8').equals(bytes)) return { scheme: 'invalid', reason: 'the Basic credentials are not UTF-8' };
  // RFC 7617: the user-id holds no colon, so the first one splits.
  const colon = text.indexOf(':');
  if (colon === -1) return { scheme: 'invalid', reason: 'the Basic credentials hold no colon between user and password' };
  const user = text.slice(0, colon);
  const password = text.slice(colon + 1);
  if (user === '') return { scheme: 'invalid', reason: 'the Basic credentials name no user' };
  if (CONTROL.test(user) || CONTROL.test(password)) return { scheme: 'invalid', reason: 'the Basic credentials hold control characters' };
  return { scheme: 'basic', user, password };
}

/** Reads an Authorization header (`Bearer <t>`, `token=<t>`, `Basic <base64 user:pass>`); never throws. */
export function parseAuthorization(header: string | undefined): Authorization {
  if (header === undefined) return { scheme: 'none' };
  if (header.length > MAX_AUTHORIZATION_LENGTH) return { scheme: 'invalid', reason: `the Authorization header is longer than ${MAX_AUTHORIZATION_LENGTH} characters` };
  const value = header.trim();
  if (value === '') return { scheme: 'invalid', reason: 'the Authorization header is empty' };
  if (/^token=/i.test(value)) return tokenOf('dcos', value.slice('token='.length));
  const match = /^([A-Za-z][A-Za-z0-9-]*)(?: +(\S+))?$/.exec(value);
  const scheme = match?.[1]?.toLowerCase();
  const rest = match?.[2];
  if (scheme === undefined) return { scheme: 'invalid', reason: 'the Authorization header is not `<scheme> <credentials>`' };
  // Not named in the reason: a bare secret sent without a scheme would read as one.
  if (scheme !== 'bearer' && scheme !== 'basic') return { scheme: 'invalid', reason: 'the scheme is not Bearer, Basic or token=' };
  if (rest === undefined) return { scheme: 'invalid', reason: `the ${scheme === 'bearer' ? 'Bearer' : 'Basic'} scheme carries no credentials` };
  return scheme === 'bearer' ? tokenOf('bearer', rest) : basicOf(rest);
}

/** The stored form of a secret: sha256, hex. A token secret is random and long, so no slow hash is needed. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Compares two hashes in time that depends only on their length (equal for sha256 hex), not on where they differ. */
export function sameHash(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i += 1) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

export type PresentedToken = { ok: true; id: string; secret: string } | { ok: false; reason: string };

/** Splits a presented Corral token into its record id and secret. */
export function splitToken(token: string): PresentedToken {
  const match = PRESENTED.exec(token);
  if (match === null) return { ok: false, reason: 'the token is not a Corral token (<id>.<secret>)' };
  return { ok: true, id: match[1] ?? '', secret: match[2] ?? '' };
}

export function isExpired(record: Pick<TokenRecord, 'expiresAt'>, nowMs: number): boolean {
  return record.expiresAt !== undefined && nowMs >= record.expiresAt;
}

export type TokenCheck = { ok: true; record: TokenRecord } | { ok: false; reason: string };

/**
 * Is a presented token good at `nowMs`? `record` is the stored one with the presented id, if
 * any. The reason is for the audit log; an API answers every failure with the same 401.
 */
export function checkToken(record: TokenRecord | undefined, presented: { id: string; secret: string }, nowMs: number): TokenCheck {
  if (record === undefined) return { ok: false, reason: `no token ${presented.id}` };
  if (!sameHash(hashSecret(presented.secret), record.hash)) return { ok: false, reason: `token ${record.id}: wrong secret` };
  const lapsed = tokenLapsed(record, nowMs);
  return lapsed === undefined ? { ok: true, record } : { ok: false, reason: lapsed };
}

/**
 * Why a token whose secret once checked out no longer lets anyone in at `nowMs` (revoked,
 * expired, or no longer stored), or undefined while it does: an open event stream ends then.
 */
export function tokenLapsed(record: Pick<TokenRecord, 'id' | 'revokedAt' | 'expiresAt'> | undefined, nowMs: number): string | undefined {
  if (record === undefined) return 'the token is gone';
  if (record.revokedAt !== undefined && nowMs >= record.revokedAt) return `token ${record.id} was revoked`;
  if (isExpired(record, nowMs)) return `token ${record.id} has expired`;
  return undefined;
}
