import type { FastifyReply, FastifyRequest } from 'fastify';
import { hashSecret, parseAuthorization } from '../../auth/core/tokens.ts';
import { newToken } from '../../auth/token-secrets.ts';
import type { Logger } from '../../shared/log.ts';
import { checkAgentCredential } from '../core/agent-admission.ts';
import { fullBucket, takeToken, type Bucket, type BucketLimits } from '../core/token-bucket.ts';
import type { RegistrationCheck } from '../orchestrator.ts';
import type { AgentRecord } from '../types.ts';

/** Registrations, cluster-wide: a thousand agents coming back after a restart join within a minute. */
export const REGISTRATION_LIMITS: BucketLimits = { ratePerSecond: 20, burst: 100 };

/**
 * Agent admission (--join-token-file), the scheduler's side: registrations are rate-limited and
 * judged by the join token or the agent's credential; every other agent call must carry the
 * credential of the agent its path names.
 */
export class AgentAdmission {
  readonly #joinHash: string;
  readonly #logger: Logger;
  readonly #limits: BucketLimits;
  #bucket: Bucket;

  constructor(joinToken: string, logger: Logger, limits = REGISTRATION_LIMITS) {
    this.#joinHash = hashSecret(joinToken);
    this.#logger = logger;
    this.#limits = limits;
    this.#bucket = fullBucket(limits, Date.now());
  }

  /** False (and a 429 sent) when registrations come faster than the limits allow. */
  takeRegistration(reply: FastifyReply): boolean {
    const take = takeToken(this.#bucket, this.#limits, Date.now());
    this.#bucket = take.bucket;
    if (take.allowed) return true;
    void reply.code(429).header('retry-after', String(Math.ceil(take.retryAfterMs / 1000))).send({ message: 'Too many agent registrations; retry later' });
    return false;
  }

  /** What the orchestrator judges a registration by, with a credential ready in case it is admitted. */
  registrationCheck(request: FastifyRequest): RegistrationCheck {
    const { token, record } = newToken('agent', Date.now());
    return {
      authorization: parseAuthorization(request.headers.authorization),
      joinHash: this.#joinHash,
      fresh: { token, credential: { id: record.id, hash: record.hash, issuedAt: new Date(record.createdAt).toISOString() } },
    };
  }

  /** True when the call carries `agent`'s credential; otherwise a 401 is sent. */
  authenticate(request: FastifyRequest, reply: FastifyReply, agent: AgentRecord): boolean {
    const check = checkAgentCredential(agent, parseAuthorization(request.headers.authorization));
    if (check.ok) return true;
    this.refuse(request, reply, check.reason);
    return false;
  }

  /** The same 401 for every failure; the reason goes to the log only. */
  refuse(request: FastifyRequest, reply: FastifyReply, reason: string): void {
    this.#logger.warn({ url: request.url, remote: request.ip, reason }, 'agent call refused');
    void reply.code(401).header('www-authenticate', 'Bearer realm="corral-agents"').send({ message: 'Unauthorized: this call needs the agent\'s credential (or the join token to register)' });
  }
}
