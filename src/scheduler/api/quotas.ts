import { Ajv, type ErrorObject } from 'ajv';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { normalizePath } from '../../auth/core/paths.ts';
import { validateQuotas } from '../../auth/core/quota.ts';
import { QUOTA_RESOURCES, type QuotaLimits } from '../../auth/types.ts';
import type { AppChange, ChangeContext } from '../core/app-changes.ts';
import { changeEffect, quotaRows } from '../core/quotas.ts';
import type { ClusterState } from '../types.ts';
import { invalidObject, SchedulerFailure } from '../errors.ts';
import { identityOf } from './auth-hook.ts';
import type { ApiContext } from './context.ts';

const ajv = new Ajv({ allErrors: true, strict: false });
const validLimits = ajv.compile({
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, { type: 'number', minimum: 0 }])),
});

function invalid(errors: ErrorObject[] | null | undefined): SchedulerFailure {
  return new SchedulerFailure(invalidObject((errors ?? []).map((e) => ({ path: e.instancePath || '/', errors: [e.message ?? 'invalid'] }))));
}

/** The group in `/v2/quotas/<group>`, canonical (`team-a/` → `/team-a`), or a 422. */
function groupOf(request: FastifyRequest): string {
  const raw = (request.params as { '*': string })['*'];
  const path = normalizePath(`/${raw}`);
  if (!path.ok) throw new SchedulerFailure(invalidObject([{ path: '/group', errors: [path.reason] }]));
  return path.path;
}

/**
 * `/v2/quotas`: limits per group on what everything under it may declare (cpus, mem, disk, gpus,
 * instances), and what it declares now. Enforced on every app write (core/quotas.ts) with or
 * without --auth; with --auth, setting needs `admin` and the listing shows only readable groups.
 */
export function registerQuotaRoutes(server: FastifyInstance, { state, logger }: ApiContext): void {
  const audit = logger.child({ component: 'audit' });

  server.get('/v2/quotas', async () => ({ quotas: quotaRows(state.current) }));

  server.get('/v2/quotas/*', async (request) => {
    const group = groupOf(request);
    if (!state.current.quotas.has(group)) throw new SchedulerFailure({ code: 'ERR_SCHED_QUOTA_NOT_FOUND', group });
    return quotaRows(state.current, [group])[0];
  });

  server.put('/v2/quotas/*', async (request) => {
    const group = groupOf(request);
    if (!validLimits(request.body)) throw invalid(validLimits.errors);
    const limits = request.body as QuotaLimits;
    const problems = validateQuotas({ [group]: limits });
    if (problems.length > 0) throw new SchedulerFailure(invalidObject([{ path: '/', errors: problems }]));
    // A lowered limit is kept even below what the group declares: it then refuses only writes that grow (checkWrite).
    await state.transact(() => ({ ops: [{ op: 'put', coll: 'quotas', key: group, value: limits }], events: [], result: undefined }));
    audit.info({ identity: identityOf(request)?.id ?? null, group, limits }, 'quota set');
    return quotaRows(state.current, [group])[0];
  });

  server.delete('/v2/quotas/*', async (request) => {
    const group = groupOf(request);
    const removed = await state.transact((s) => ({
      ops: s.quotas.has(group) ? [{ op: 'del', coll: 'quotas', key: group }] : [],
      events: [],
      result: s.quotas.has(group),
    }));
    if (!removed) throw new SchedulerFailure({ code: 'ERR_SCHED_QUOTA_NOT_FOUND', group });
    audit.info({ identity: identityOf(request)?.id ?? null, group }, 'quota removed');
    return { group };
  });
}

/**
 * `?dryRun=true` on an app or group write: the change computed on the current state, quotas
 * ignored, and nothing stored, deployed or published; the answer is its plan and what it would
 * do to each quota on the path of the apps it touches (`fits: false` and the refusals when it
 * would be refused). Other refusals (422, 409) answer as the write would.
 */
export function dryRun(current: ClusterState, context: ChangeContext, compute: (s: ClusterState, ctx: ChangeContext) => AppChange, shape: 'app' | 'group'): Record<string, unknown> {
  const planned = compute(current, { ...context, ignoreQuotas: true });
  if (!planned.ok) throw new SchedulerFailure(planned.error);
  const quotas = changeEffect(current, planned.ops);
  const steps = planned.deployment.plan.steps;
  // COMPAT(marathon): a group's dry run answers `{steps}`; the quota part only when a quota is on the path.
  if (shape === 'group' && quotas.length === 0) return { steps };
  return { steps, fits: quotas.every((q) => q.fits), quotas };
}
