import bcrypt from 'bcryptjs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { filterListing, readableBy } from '../../auth/core/listings.ts';
import { authorize } from '../../auth/core/policy.ts';
import { ROUTE_RULES, routeRequirement } from '../../auth/core/route-actions.ts';
import { checkToken, parseAuthorization, splitToken, tokenLapsed } from '../../auth/core/tokens.ts';
import type { Grant } from '../../auth/types.ts';
import { appIdOfTask } from '../core/app-id.ts';
import { SchedulerFailure } from '../errors.ts';
import type { SchedulerState } from '../state.ts';
import type { ClusterState, StoredIdentity } from '../types.ts';
import type { ApiContext } from './context.ts';

/** What a request was let in with: an identity, and the token if it came with one. */
export interface Credential { identityId: string; tokenId?: string }

type Authenticated = { ok: true; identity: StoredIdentity; credential: Credential } | { ok: false; reason: string };

/** Who sent a request: a token from the state store, or a Basic user with a bcrypt password hash. */
async function authenticate(header: string | undefined, state: SchedulerState): Promise<Authenticated> {
  const parsed = parseAuthorization(header);
  const current = state.current;
  switch (parsed.scheme) {
    case 'none':
      return { ok: false, reason: 'no Authorization header' };
    case 'invalid':
      return { ok: false, reason: parsed.reason };
    case 'basic': {
      const identity = current.identities.get(parsed.user);
      // A hash is compared even for an unknown user, so the answer's timing does not tell which users exist.
      const ok = await bcrypt.compare(parsed.password, identity?.passwordHash ?? UNKNOWN_USER_HASH);
      if (identity?.passwordHash === undefined || !ok) return { ok: false, reason: `Basic credentials of "${parsed.user}" do not check out` };
      return { ok: true, identity, credential: { identityId: identity.id } };
    }
    default: {
      const presented = splitToken(parsed.token);
      if (!presented.ok) return { ok: false, reason: presented.reason };
      const checked = checkToken(current.tokens.get(presented.id), presented, Date.now());
      if (!checked.ok) return { ok: false, reason: checked.reason };
      const identity = current.identities.get(checked.record.identityId);
      if (identity === undefined) return { ok: false, reason: `token ${checked.record.id}: its identity ${checked.record.identityId} is gone` };
      return { ok: true, identity, credential: { identityId: identity.id, tokenId: checked.record.id } };
    }
  }
}

// A bcrypt hash of nothing anyone can send (cost 10, as the stored ones).
const UNKNOWN_USER_HASH = bcrypt.hashSync('\u0000unknown-user', 10);

const identities = new WeakMap<FastifyRequest, StoredIdentity>();
const credentials = new WeakMap<FastifyRequest, Credential>();
const listings = new WeakSet<FastifyRequest>();

const taskReaders = new WeakMap<FastifyRequest, (taskId: string) => boolean>();

/**
 * With --auth, on a listing route: whether the caller may read a task, for a handler that must
 * filter before it pages (Mesos' `/master/tasks`); undefined when everything may be shown.
 */
export function taskReader(request: FastifyRequest): ((taskId: string) => boolean) | undefined {
  return taskReaders.get(request);
}

/** The authenticated identity of a request (with --auth), for the auth routes. */
export function identityOf(request: FastifyRequest): StoredIdentity | undefined {
  return identities.get(request);
}

export function credentialOf(request: FastifyRequest): Credential | undefined {
  return credentials.get(request);
}

/**
 * Why a credential no longer lets its holder in (its identity removed, its token revoked,
 * expired or gone), or undefined while it does: a long-lived connection ends then.
 */
export function credentialLapsed(credential: Credential, current: ClusterState, nowMs: number): string | undefined {
  if (!current.identities.has(credential.identityId)) return `identity ${credential.identityId} was removed`;
  return credential.tokenId === undefined ? undefined : tokenLapsed(current.tokens.get(credential.tokenId), nowMs);
}

export const grantsOf = (state: SchedulerState): Grant[] => [...state.current.grants.values()];

const isWrite = (method: string): boolean => method !== 'GET' && method !== 'HEAD';

/**
 * `--auth`: authenticates every request but /ping (onRequest), authorizes it by the route table
 * in src/auth/core/route-actions.ts once its params and body are known (preHandler), trims
 * listings to what the identity may read (preSerialization) and writes one audit line per write.
 * Registered before the routes: a route the table does not know stops the start-up.
 */
export function registerAuth(app: FastifyInstance, context: ApiContext): void {
  const { state } = context;
  const audit = context.logger.child({ component: 'audit' });
  const appOfTask = (taskId: string): string => state.current.instances.get(taskId)?.appId ?? appIdOfTask(taskId);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      if (ROUTE_RULES[`${method} ${route.url}`] === undefined) throw new Error(`auth: no rule for ${method} ${route.url} in src/auth/core/route-actions.ts`);
    }
  });

  const refuse = (request: FastifyRequest, reply: FastifyReply, reason: string): never => {
    audit.info({ identity: null, method: request.method, path: request.url.split('?')[0], result: 401, reason }, 'unauthenticated');
    reply.header('WWW-Authenticate', 'Bearer realm="corral", Basic realm="corral"');
    throw new SchedulerFailure({ code: 'ERR_SCHED_UNAUTHENTICATED' });
  };

  app.addHook('onRequest', async (request, reply) => {
    const rule = request.routeOptions.url === undefined ? undefined : ROUTE_RULES[`${request.method === 'HEAD' ? 'GET' : request.method} ${request.routeOptions.url}`];
    const open = rule?.({ method: request.method, route: request.routeOptions.url ?? '', params: {}, body: undefined, appOfTask: () => '/', appExists: () => true, appsOfDeployment: () => undefined });
    // The agent protocol is admitted by the agents' own credentials (agent admission), not by a user's token.
    if (open === 'open' || open === 'agent') return;
    const who = await authenticate(request.headers.authorization, state);
    if (!who.ok) refuse(request, reply, who.reason);
    else {
      identities.set(request, who.identity);
      credentials.set(request, who.credential);
    }
  });

  app.addHook('preHandler', async (request) => {
    const identity = identities.get(request);
    // No route (the not-found handler): an authenticated caller gets its 404, not a missing-rule 403.
    if (identity === undefined || request.routeOptions.url === undefined) return;
    const requirement = routeRequirement({
      method: request.method,
      route: request.routeOptions.url ?? '',
      params: request.params as Record<string, string | undefined>,
      body: request.body,
      appOfTask,
      appExists: (appId) => state.current.apps.has(appId),
      appsOfDeployment: (id) => state.current.deployments.get(id)?.affectedApps,
    });
    const line = { identity: identity.id, method: request.method, path: request.url.split('?')[0] };
    const refused = (reason: string): never => {
      if (isWrite(request.method)) audit.info({ ...line, result: 403, reason }, 'refused');
      throw new SchedulerFailure({ code: 'ERR_SCHED_FORBIDDEN', reason });
    };
    if (requirement === undefined) refused(`no authorization rule for ${request.method} ${request.routeOptions.url ?? request.url}`);
    else if (requirement === 'filter-listing') {
      listings.add(request);
      const readable = readableBy(grantsOf(state), identity);
      taskReaders.set(request, (taskId) => readable(appOfTask(taskId)));
    }
    else if (typeof requirement === 'object') {
      const grants = grantsOf(state);
      const asks = 'all' in requirement ? requirement.all : [requirement];
      for (const { action, paths } of asks) {
        for (const path of paths) {
          const decision = authorize(grants, identity, action, path);
          if (!decision.allowed) refused(decision.reason);
        }
      }
      // Apps a write leaves running as root need run-as-root on top: decided in the write's
      // transaction, on the apps as written (ChangeContext.writer, src/auth/core/root-tasks.ts).
      if (isWrite(request.method)) audited.set(request, asks.map((ask) => ask.action).join(','));
    } else if (isWrite(request.method)) audited.set(request, 'authenticated');
  });

  const audited = new WeakMap<FastifyRequest, string>();
  app.addHook('onResponse', async (request, reply) => {
    const action = audited.get(request);
    if (action === undefined) return;
    audit.info({ identity: identities.get(request)?.id, method: request.method, path: request.url.split('?')[0], action, result: reply.statusCode }, 'write');
  });

  app.addHook('preSerialization', async (request, _reply, payload) => {
    const identity = identities.get(request);
    if (identity === undefined || !listings.has(request)) return payload;
    return filterListing(request.routeOptions.url ?? '', payload, grantsOf(state), identity, appOfTask);
  });
}
