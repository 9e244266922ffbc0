import { hashSecret, sameHash, splitToken, type Authorization } from '../../auth/core/tokens.ts';
import type { AgentRecord } from '../types.ts';

/**
 * Agent admission (--join-token-file): the join token admits an agent id that has no credential
 * yet (a new agent, one registered before admission was on, one the registry forgot) and gets it
 * a credential; an id with a credential, even a revoked one, is admitted by that credential only,
 * so nobody can take over a known agent's id with the join token alone.
 */
export type RegistrationAdmission = { admitted: true; issue: boolean } | { admitted: false; reason: string };

/** Is `authorization` the credential of `agent`? The reason is for the log; the API answers 401. */
export function checkAgentCredential(agent: Pick<AgentRecord, 'id' | 'credential'>, authorization: Authorization): { ok: true } | { ok: false; reason: string } {
  const credential = agent.credential;
  if (credential === undefined) return { ok: false, reason: `agent ${agent.id} has no credential: it must register with the join token` };
  if (authorization.scheme !== 'bearer') return { ok: false, reason: `no Bearer credential for agent ${agent.id}` };
  const presented = splitToken(authorization.token);
  // The hash is compared even for a wrong id, so that the answer's time says nothing about the id.
  const matches = presented.ok && sameHash(hashSecret(presented.secret), credential.hash) && presented.id === credential.id;
  if (!matches) return { ok: false, reason: `not the credential of agent ${agent.id}` };
  if (credential.revokedAt !== undefined) return { ok: false, reason: `the credential of agent ${agent.id} was revoked at ${credential.revokedAt}` };
  return { ok: true };
}

/** Decides a registration under `agent` (undefined: an id the scheduler does not know, or none asked). */
export function admitRegistration(agent: Pick<AgentRecord, 'id' | 'credential'> | undefined, authorization: Authorization, joinHash: string): RegistrationAdmission {
  if (agent?.credential !== undefined) {
    const check = checkAgentCredential(agent, authorization);
    return check.ok ? { admitted: true, issue: false } : { admitted: false, reason: check.reason };
  }
  if (authorization.scheme !== 'bearer') return { admitted: false, reason: 'no Bearer join token' };
  if (!sameHash(hashSecret(authorization.token), joinHash)) return { admitted: false, reason: 'not the join token' };
  return { admitted: true, issue: true };
}
