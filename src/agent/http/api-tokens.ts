import type { FastifyReply } from 'fastify';
import { agentTokenKeyOfCredential, bearerToken, isScrapeToken, permits, verifyAgentToken, type AgentTokenNeed } from '../../auth/core/agent-tokens.ts';

export type AccessDecision = { ok: true } | { ok: false; status: 401 | 403; message: string };

/** Decides one request to the agent's own API from its Authorization header. */
export type AgentApiGuard = (authorization: string | undefined, need: AgentTokenNeed) => AccessDecision;

/** What the guard needs to know now: undefined while admission is off (the API stays open, as before). */
export type GuardSource = () => { agentId: string | undefined; credential: string | undefined } | undefined;

/**
 * With agent admission on, every call to `/files/*`, `/metrics` and `/state` carries a token the
 * scheduler issued for this agent (src/auth/core/agent-tokens.ts), checked here with the key both
 * derive from the agent's credential. Before the agent has a credential and an id, nothing can
 * be checked and everything is refused, but for `/metrics` with the scrape token (sha256 of the
 * `--metrics-token-file` token), which needs no admission.
 */
export function agentApiGuard(source: GuardSource, now: () => number = Date.now, scrapeTokenHash?: string): AgentApiGuard {
  let cached: { credential: string; key: Buffer | undefined } | undefined;
  const keyOf = (credential: string): Buffer | undefined => {
    if (cached?.credential !== credential) cached = { credential, key: agentTokenKeyOfCredential(credential) };
    return cached.key;
  };
  return (authorization, need) => {
    const current = source();
    if (current === undefined) return { ok: true };
    if (need.kind === 'metrics' && scrapeTokenHash !== undefined) {
      const presented = bearerToken(authorization);
      if (presented.ok && isScrapeToken(presented.token, scrapeTokenHash)) return { ok: true };
    }
    const key = current.credential === undefined ? undefined : keyOf(current.credential);
    if (key === undefined || current.agentId === undefined) return { ok: false, status: 401, message: 'this agent has not been admitted by the scheduler yet: no token can be checked' };
    const presented = bearerToken(authorization);
    if (!presented.ok) return { ok: false, status: 401, message: `${presented.reason}: ask the scheduler for a token (corral logs does)` };
    const verified = verifyAgentToken(presented.token, key, { agentId: current.agentId, nowMs: now() });
    if (!verified.ok) return { ok: false, status: 401, message: verified.reason };
    const permitted = permits(verified.claims, need);
    return permitted.ok ? permitted : { ok: false, status: 403, message: permitted.reason };
  };
}

/** Sends a refusal: JSON with a message, and the challenge on a 401. */
export function sendRefusal(reply: FastifyReply, decision: { status: 401 | 403; message: string }): FastifyReply {
  if (decision.status === 401) reply.header('WWW-Authenticate', 'Bearer realm="corral-agent"');
  return reply.code(decision.status).send({ message: decision.message });
}
