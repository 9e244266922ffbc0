import { createHmac, timingSafeEqual } from 'node:crypto';
import { hashSecret, sameHash, splitToken } from './tokens.ts';

/**
 * Tokens for an agent's own HTTP API (sandbox files, metrics, state), issued by the scheduler and
 * checked by the agent alone, without calling the scheduler back:
 *
 *   cat1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(key, "cat1.<payload>"))>
 *
 * The key is per agent and both sides know it without ever sending it: with agent admission the
 * scheduler keeps sha256(secret) of the agent's credential and the agent holds the secret, so both
 * derive HMAC-SHA256(sha256hex(secret), "corral agent api v1"). A new credential is a new key
 * (tokens of the old one stop working); a revoked agent gets no more tokens.
 */
export type AgentTokenScope = 'files' | 'metrics' | 'agent';
const SCOPES: readonly string[] = ['files', 'metrics', 'agent'] satisfies AgentTokenScope[];

export interface AgentTokenClaims {
  /** The agent the token is good on. */
  agentId: string;
  /** `files`: the sandboxes of these tasks; `metrics`: `/metrics` and `/state`; `agent`: all of it, every sandbox included. */
  scope: AgentTokenScope;
  taskIds: string[];
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

const VERSION = 'cat1';
const KEY_LABEL = 'corral agent api v1';
/** Far above what one task id (Marathon ids are bounded) or a few need; refused before any decoding. */
export const MAX_AGENT_TOKEN_LENGTH = 4096;
const MAC_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The per-agent key from the hash the scheduler keeps of the agent's credential secret (sha256 hex). */
export function agentTokenKey(credentialHash: string): Buffer {
  return createHmac('sha256', credentialHash).update(KEY_LABEL).digest();
}

/** The agent's side: the same key from the credential `<id>.<secret>` it holds; undefined for a malformed one. */
export function agentTokenKeyOfCredential(credential: string): Buffer | undefined {
  const split = splitToken(credential);
  return split.ok ? agentTokenKey(hashSecret(split.secret)) : undefined;
}

function mac(key: Buffer, signed: string): Buffer {
  return createHmac('sha256', key).update(signed).digest();
}

export function encodeAgentToken(claims: AgentTokenClaims, key: Buffer): string {
  const payload = Buffer.from(JSON.stringify({ a: claims.agentId, s: claims.scope, t: claims.taskIds, e: claims.expiresAt })).toString('base64url');
  const signed = `${VERSION}.${payload}`;
  return `${signed}.${mac(key, signed).toString('base64url')}`;
}

/** Strict base64url: what does not re-encode to the same text (padding, stray bits) is refused. */
function decodeBase64url(text: string): Buffer | undefined {
  if (!BASE64URL.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

function claimsOf(json: unknown): AgentTokenClaims | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { a, s, t, e } = json as Record<string, unknown>;
  if (typeof a !== 'string' || typeof s !== 'string' || !SCOPES.includes(s) || typeof e !== 'number' || !Number.isFinite(e)) return undefined;
  if (!Array.isArray(t) || !t.every((id): id is string => typeof id === 'string')) return undefined;
  return { agentId: a, scope: s as AgentTokenScope, taskIds: t, expiresAt: e };
}

export type AgentTokenCheck = { ok: true; claims: AgentTokenClaims } | { ok: false; reason: string };

/**
 * Is `token` a good token for agent `agentId` at `nowMs`? The MAC is checked (in constant time)
 * before the claims are even parsed. Reasons never quote the token.
 */
export function verifyAgentToken(token: string, key: Buffer, expect: { agentId: string; nowMs: number }): AgentTokenCheck {
  if (token.length > MAX_AGENT_TOKEN_LENGTH) return { ok: false, reason: `the token is longer than ${MAX_AGENT_TOKEN_LENGTH} characters` };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return { ok: false, reason: `not an agent token (${VERSION}.<claims>.<mac>)` };
  const [, payload = '', presentedMac = ''] = parts;
  const claimBytes = decodeBase64url(payload);
  const macBytes = decodeBase64url(presentedMac);
  if (claimBytes === undefined || macBytes === undefined) return { ok: false, reason: 'the token is not base64url' };
  // The length is public (always 32); only the bytes are compared in constant time.
  if (macBytes.length !== MAC_BYTES || !timingSafeEqual(macBytes, mac(key, `${VERSION}.${payload}`))) {
    return { ok: false, reason: 'the token was not issued for this agent, or was altered' };
  }
  let claims: AgentTokenClaims | undefined;
  try {
    claims = claimsOf(JSON.parse(claimBytes.toString('utf8')));
  } catch {
    claims = undefined;
  }
  if (claims === undefined) return { ok: false, reason: 'the token carries no valid claims' };
  if (claims.agentId !== expect.agentId) return { ok: false, reason: `the token is for agent ${claims.agentId}, not this one` };
  if (expect.nowMs >= claims.expiresAt) return { ok: false, reason: 'the token has expired' };
  return { ok: true, claims };
}

/** What a request to the agent's API needs: a task's sandbox, the agent's metrics, its state, or the sandbox root. */
export type AgentTokenNeed = { kind: 'task'; taskId: string } | { kind: 'metrics' } | { kind: 'state' } | { kind: 'agent' };

/** May a verified token do what the request asks? The reason becomes the 403's message. */
export function permits(claims: AgentTokenClaims, need: AgentTokenNeed): { ok: true } | { ok: false; reason: string } {
  if (claims.scope === 'agent') return { ok: true };
  if (need.kind === 'metrics' || need.kind === 'state') return claims.scope === 'metrics' ? { ok: true } : { ok: false, reason: 'this needs a token of scope metrics or agent' };
  if (need.kind === 'agent') return { ok: false, reason: 'the sandbox root needs a token for the whole agent (scope agent)' };
  if (claims.scope !== 'files') return { ok: false, reason: `a token of scope ${claims.scope} reads no sandbox` };
  return claims.taskIds.includes(need.taskId) ? { ok: true } : { ok: false, reason: `the token does not cover the sandbox of task ${need.taskId}` };
}

/** The Bearer token of an Authorization header, bounded before anything else is looked at. */
export function bearerToken(header: string | undefined): { ok: true; token: string } | { ok: false; reason: string } {
  if (header === undefined || header.trim() === '') return { ok: false, reason: 'no Authorization header' };
  if (header.length > MAX_AGENT_TOKEN_LENGTH + 16) return { ok: false, reason: 'the Authorization header is too long' };
  const match = /^\s*Bearer +(\S+)\s*$/i.exec(header);
  return match?.[1] === undefined ? { ok: false, reason: 'the Authorization header is not `Bearer <token>`' } : { ok: true, token: match[1] };
}

/**
 * The scrape token (`corral agent --metrics-token-file`): one long-lived secret the operator gives
 * every agent and Prometheus (`credentials_file`), good for `/metrics` only, as a Mesos agent's
 * `--http_credentials` are for its read-only endpoints. Compared by sha256 in constant time.
 */
export function isScrapeToken(presented: string, scrapeTokenHash: string | undefined): boolean {
  return scrapeTokenHash !== undefined && presented !== '' && sameHash(hashSecret(presented), scrapeTokenHash);
}
