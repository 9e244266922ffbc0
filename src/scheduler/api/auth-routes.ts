import { Ajv, type ErrorObject } from 'ajv';
import bcrypt from 'bcryptjs';
import type { FastifyInstance } from 'fastify';
import { adminLockout } from '../../auth/core/admins.ts';
import { grantPath, normalizePath } from '../../auth/core/paths.ts';
import { authorize, validateGrants } from '../../auth/core/policy.ts';
import { newToken } from '../../auth/token-secrets.ts';
import { ACTIONS, type Action, type Grant, type IdentityKind } from '../../auth/types.ts';
import { MARATHON_ID_SEGMENT } from '../../shared/marathon-names.ts';
import { invalidObject, SchedulerFailure } from '../errors.ts';
import { applyOps } from '../core/state-ops.ts';
import type { ClusterState, StateOp, StoredIdentity } from '../types.ts';
import { grantsOf, identityOf } from './auth-hook.ts';
import type { ApiContext } from './context.ts';

/** An identity or grant change that would leave nobody holding admin on `/` is refused (409), in its transaction. */
function refuseLockout(before: ClusterState, ops: readonly StateOp[]): void {
  const after = applyOps(before, ops);
  const reason = adminLockout(
    { identities: before.identities.values(), grants: [...before.grants.values()] },
    { identities: after.identities.values(), grants: [...after.grants.values()] },
  );
  if (reason !== undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_LAST_ADMIN', reason });
}

const ajv = new Ajv({ allErrors: true, strict: false });
const NAME = { type: 'string', pattern: MARATHON_ID_SEGMENT.source, maxLength: 64 };
const ACTION_LIST = { type: 'array', minItems: 1, items: { enum: [...ACTIONS] } };

const validToken = ajv.compile({
  type: 'object',
  required: ['identity'],
  additionalProperties: false,
  properties: { identity: NAME, expiresInSeconds: { type: 'integer', minimum: 1, maximum: 10 * 365 * 24 * 3600 } },
});
const validCheck = ajv.compile({
  type: 'object',
  required: ['action', 'path'],
  additionalProperties: false,
  properties: { action: { enum: [...ACTIONS] }, path: { type: 'string', maxLength: 1024 } },
});
const validIdentity = ajv.compile({
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: {
    id: NAME,
    kind: { enum: ['user', 'service', 'agent'] },
    groups: { type: 'array', items: NAME, maxItems: 64 },
    password: { type: 'string', minLength: 8, maxLength: 72 },
  },
});
const validGrant = ajv.compile({
  type: 'object',
  required: ['actions', 'path'],
  additionalProperties: false,
  properties: { id: NAME, identity: NAME, group: NAME, actions: ACTION_LIST, path: { type: 'string', maxLength: 1024 } },
});

/** Marathon's 422 from ajv errors. */
function invalid(errors: ErrorObject[] | null | undefined): SchedulerFailure {
  return new SchedulerFailure(invalidObject((errors ?? []).map((e) => ({ path: e.instancePath || '/', errors: [e.message ?? 'invalid'] }))));
}

/** What a client may see of an identity: never its password hash. */
const publicIdentity = ({ passwordHash, ...identity }: StoredIdentity): StoredIdentity & { basic: boolean } => ({ ...identity, basic: passwordHash !== undefined });

/** `/v2/auth/*` (only with --auth): who am I, may I, and the admin's tokens, identities and grants. */
export function registerAuthRoutes(server: FastifyInstance, { state, logger }: ApiContext): void {
  const audit = logger.child({ component: 'audit' });
  const caller = (request: Parameters<typeof identityOf>[0]): StoredIdentity => {
    const identity = identityOf(request);
    if (identity === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_UNAUTHENTICATED' });
    return identity;
  };

  server.get('/v2/auth/whoami', async (request) => {
    const identity = caller(request);
    const grants = grantsOf(state).filter((g) => g.identity === identity.id || (g.group !== undefined && (identity.groups ?? []).includes(g.group)));
    return { id: identity.id, kind: identity.kind, groups: identity.groups ?? [], grants };
  });

  server.post('/v2/auth/check', async (request) => {
    if (!validCheck(request.body)) throw invalid(validCheck.errors);
    const { action, path } = request.body as { action: Action; path: string };
    return authorize(grantsOf(state), caller(request), action, grantPath(path));
  });

  server.get('/v2/auth/tokens', async () => ({
    tokens: [...state.current.tokens.values()].map(({ hash: _hash, ...token }) => token),
  }));

  server.post('/v2/auth/tokens', async (request, reply) => {
    if (!validToken(request.body)) throw invalid(validToken.errors);
    const { identity, expiresInSeconds } = request.body as { identity: string; expiresInSeconds?: number };
    if (!state.current.identities.has(identity)) throw new SchedulerFailure({ code: 'ERR_SCHED_IDENTITY_NOT_FOUND', identityId: identity });
    const { token, record } = newToken(identity, Date.now(), expiresInSeconds === undefined ? undefined : expiresInSeconds * 1000);
    await state.transact(() => ({ ops: [{ op: 'put', coll: 'tokens', key: record.id, value: record }], events: [], result: undefined }));
    audit.info({ identity: caller(request).id, tokenId: record.id, for: identity }, 'token issued');
    const { hash: _hash, ...shown } = record;
    // The secret is in this answer only; the store keeps its hash.
    return reply.code(201).send({ ...shown, token });
  });

  server.delete('/v2/auth/tokens/:id', async (request) => {
    const { id } = request.params as { id: string };
    const revoked = await state.transact((s) => {
      const record = s.tokens.get(id);
      if (record === undefined) return { ops: [], events: [], result: undefined };
      const value = { ...record, revokedAt: record.revokedAt ?? Date.now() };
      return { ops: [{ op: 'put', coll: 'tokens', key: id, value }], events: [], result: value };
    });
    if (revoked === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_TOKEN_NOT_FOUND', tokenId: id });
    const { hash: _hash, ...shown } = revoked;
    return shown;
  });

  server.post('/v2/auth/identities', async (request, reply) => {
    if (!validIdentity(request.body)) throw invalid(validIdentity.errors);
    const body = request.body as { id: string; kind?: IdentityKind; groups?: string[]; password?: string };
    const identity: StoredIdentity = {
      id: body.id,
      kind: body.kind ?? 'user',
      ...(body.groups === undefined ? {} : { groups: body.groups }),
      ...(body.password === undefined ? {} : { passwordHash: await bcrypt.hash(body.password, 10) }),
    };
    await state.transact((s) => {
      const ops: StateOp[] = [{ op: 'put', coll: 'identities', key: identity.id, value: identity }];
      refuseLockout(s, ops);
      return { ops, events: [], result: undefined };
    });
    return reply.code(201).send(publicIdentity(identity));
  });

  server.get('/v2/auth/identities', async () => ({ identities: [...state.current.identities.values()].map(publicIdentity) }));

  // Its tokens are revoked (kept, so the listing shows when) and the grants naming it go with it;
  // group grants stay (they belong to the group). An open event stream of it ends (api/events.ts).
  server.delete('/v2/auth/identities/:id', async (request) => {
    const { id } = request.params as { id: string };
    if (id === caller(request).id) throw new SchedulerFailure({ code: 'ERR_SCHED_FORBIDDEN', reason: `identity "${id}" may not remove itself (nobody might be left to administer the cluster)` });
    const removed = await state.transact((s) => {
      const identity = s.identities.get(id);
      if (identity === undefined) return { ops: [], events: [], result: undefined };
      const now = Date.now();
      const tokens = [...s.tokens.values()].filter((t) => t.identityId === id && t.revokedAt === undefined);
      const grants = [...s.grants].filter(([, g]) => g.identity === id).map(([key]) => key);
      const ops: StateOp[] = [
        { op: 'del', coll: 'identities', key: id },
        ...tokens.map((t): StateOp => ({ op: 'put', coll: 'tokens', key: t.id, value: { ...t, revokedAt: now } })),
        ...grants.map((key): StateOp => ({ op: 'del', coll: 'grants', key })),
      ];
      refuseLockout(s, ops);
      return { ops, events: [], result: { identity, revokedTokens: tokens.map((t) => t.id), removedGrants: grants } };
    });
    if (removed === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_IDENTITY_NOT_FOUND', identityId: id });
    audit.info({ identity: caller(request).id, removed: id, revokedTokens: removed.revokedTokens, removedGrants: removed.removedGrants }, 'identity removed');
    return { ...publicIdentity(removed.identity), revokedTokens: removed.revokedTokens, removedGrants: removed.removedGrants };
  });

  server.get('/v2/auth/grants', async () => ({ grants: [...state.current.grants].map(([id, grant]) => ({ id, ...grant })) }));

  server.delete('/v2/auth/grants/:id', async (request) => {
    const { id } = request.params as { id: string };
    const removed = await state.transact((s) => {
      const grant = s.grants.get(id);
      const ops: StateOp[] = grant === undefined ? [] : [{ op: 'del', coll: 'grants', key: id }];
      refuseLockout(s, ops);
      return { ops, events: [], result: grant };
    });
    if (removed === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_GRANT_NOT_FOUND', grantId: id });
    return { id, ...removed };
  });

  server.post('/v2/auth/grants', async (request, reply) => {
    if (!validGrant(request.body)) throw invalid(validGrant.errors);
    const { id, ...grant } = request.body as Grant & { id?: string };
    const problems = validateGrants([grant]);
    if (problems.length > 0) throw new SchedulerFailure(invalidObject([{ path: '/', errors: problems }]));
    const path = normalizePath(grantPath(grant.path));
    const stored = { ...grant, path: path.ok ? path.path : grant.path } as Grant;
    const key = id ?? `${stored.identity ?? `group:${stored.group ?? ''}`} ${stored.path}`;
    await state.transact((s) => {
      const ops: StateOp[] = [{ op: 'put', coll: 'grants', key, value: stored }];
      refuseLockout(s, ops);
      return { ops, events: [], result: undefined };
    });
    return reply.code(201).send({ id: key, ...stored });
  });
}
