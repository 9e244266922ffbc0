import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppChange } from '../core/app-changes.ts';
import { buildGroupTree, groupJson, groupNotFound, removeGroup, resolveId, writeGroup } from '../core/groups.ts';
import { groupVersionsOf } from '../core/group-versions.ts';
import { appDefinitionJson, resolveAppEmbeds } from '../core/marathon-json.ts';
import { invalidObject, SchedulerFailure } from '../errors.ts';
import type { ClusterState } from '../types.ts';
import { renderApp } from './apps.ts';
import { dryRun } from './quotas.ts';
import type { ApiContext } from './context.ts';
import { changeContext, commitChange, deploymentResult, flag, list, type Query } from './route-helpers.ts';

/** The group id in `/v2/groups/<id>` (ids are paths); the root for `/v2/groups`. */
function groupIdOf(request: FastifyRequest, raw = (request.params as { '*'?: string })['*'] ?? ''): string {
  const id = resolveId(raw, '/');
  if (id === undefined) throw new SchedulerFailure(invalidObject([{ path: '/id', errors: [`'${raw}' climbs above the root group`] }]));
  return id;
}

/** Marathon's `/v2/groups`, over the groups implied by app ids (see core/groups.ts). */
export function registerGroupRoutes(server: FastifyInstance, context: ApiContext): void {
  const { state } = context;

  const get = async (request: FastifyRequest): Promise<unknown> => {
    // COMPAT(marathon): `/v2/groups/{id}/versions` lists the group's versions, newest first;
    // `/versions/{version}` shows the group as it was then.
    const versions = /^(?:(.*)\/)?versions(?:\/([^/]+))?$/.exec((request.params as { '*'?: string })['*'] ?? '');
    if (versions !== null) return groupVersion(groupIdOf(request, versions[1] ?? ''), versions[2]);
    const id = groupIdOf(request);
    const current = state.current;
    const tree = buildGroupTree(current.apps.values(), id);
    if (tree === undefined) throw new SchedulerFailure(groupNotFound(id));
    // COMPAT(marathon): embed=group.apps.tasks etc.; counts and deployments are always there.
    const embeds = resolveAppEmbeds(list((request.query as Query).embed));
    const nowMs = Date.now();
    return groupJson(tree, (app) => renderApp(current, app, embeds, nowMs), context.startedAt);
  };
  const groupVersion = (id: string, version: string | undefined): unknown => {
    const current = state.current;
    const stored = groupVersionsOf(current, id);
    if (stored.length === 0 && buildGroupTree(current.apps.values(), id) === undefined) throw new SchedulerFailure(groupNotFound(id));
    if (version === undefined) return stored.map((v) => v.version);
    const found = stored.find((v) => v.version === decodeURIComponent(version));
    if (found === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_GROUP_VERSION_NOT_FOUND', groupId: id, version });
    const tree = buildGroupTree(found.apps, id) ?? { id, apps: [], groups: [], version: found.version };
    return groupJson(tree, appDefinitionJson, found.version);
  };
  server.get('/v2/groups', get);
  server.get('/v2/groups/*', get);

  /** Commits a group change, or with `dryRun=true` only answers its plan. */
  const change = async (request: FastifyRequest, reply: FastifyReply, compute: (s: ClusterState, ctx: ReturnType<typeof changeContext>) => AppChange, status: number, location?: string): Promise<FastifyReply> => {
    const ctx = changeContext(request, context);
    // COMPAT(marathon): dryRun answers the plan's steps; Corral adds what it would do to the quotas.
    if (flag((request.query as Query).dryRun)) return reply.send(dryRun(state.current, ctx, compute, 'group'));
    const result = await commitChange(state, (s) => compute(s, ctx));
    if (location !== undefined) reply.header('Location', location);
    return deploymentResult(reply, result.deployment, ctx.now, status);
  };

  server.post('/v2/groups', async (request, reply) => {
    const body = request.body;
    const rawId = typeof body === 'object' && body !== null && 'id' in body && typeof body.id === 'string' ? body.id : '/';
    const id = resolveId(rawId, '/');
    if (id === undefined) throw new SchedulerFailure(invalidObject([{ path: '/id', errors: [`'${rawId}' climbs above the root group`] }]));
    return change(request, reply, (s, ctx) => writeGroup(s, id, body, 'create', ctx), 201, `/v2/groups${id === '/' ? '' : id}`);
  });

  // COMPAT(marathon): the id in the path wins over an `id` in the body.
  const put = (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> =>
    change(request, reply, (s, ctx) => writeGroup(s, groupIdOf(request), request.body, 'update', ctx), 200);
  server.put('/v2/groups', put);
  server.put('/v2/groups/*', put);

  server.delete('/v2/groups/*', async (request, reply) => {
    const id = groupIdOf(request);
    if (id === '/') throw new SchedulerFailure({ code: 'ERR_SCHED_ROOT_GROUP_DELETE' });
    return change(request, reply, (s, ctx) => removeGroup(s, id, ctx), 200);
  });
}
