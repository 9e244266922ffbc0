import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, appNotFound } from '../errors.ts';
import { normalizePathId, removeApp, writeApp, type AppChange, type ChangeContext, type WriteMode } from '../core/app-changes.ts';
import { deploymentsHolding } from '../core/deployments.ts';
import { appJson, taskJson } from '../core/marathon-json.ts';
import type { ClusterState, Instance } from '../types.ts';
import type { ApiContext } from './context.ts';

type Query = Record<string, string | string[] | undefined>;

const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const flag = (value: string | string[] | undefined): boolean => list(value).includes('true');

export function instancesOf(state: ClusterState, appId: string): Instance[] {
  return [...state.instances.values()].filter((i) => i.appId === appId);
}

export function registerAppRoutes(server: FastifyInstance, context: ApiContext): void {
  const { state } = context;

  const render = (appId: string, embedTasks: boolean): Record<string, unknown> | undefined => {
    const current = state.current;
    const app = current.apps.get(appId);
    if (app === undefined) return undefined;
    return appJson(app, instancesOf(current, appId), deploymentsHolding(current, [appId]), { embedTasks });
  };

  const changeContext = (request: FastifyRequest): ChangeContext => ({
    now: new Date().toISOString(),
    deploymentId: randomUUID(),
    force: flag((request.query as Query).force),
    clientIp: request.ip,
    uri: request.url.split('?')[0] ?? request.url,
  });

  /** Commits a change (or throws its ApiError) and sets Marathon's deployment header. */
  const commit = async (reply: FastifyReply, compute: (s: ClusterState) => AppChange) => {
    const change = await state.transact<AppChange>((s) => {
      const result = compute(s);
      return result.ok ? { ops: result.ops, events: result.events, result } : { ops: [], events: [], result };
    });
    if (!change.ok) throw change.error;
    void reply.header('Marathon-Deployment-Id', change.deployment.id);
    return change;
  };

  server.get('/v2/apps', async (request) => {
    const query = request.query as Query;
    // Answering every app to a client that asked for some would be worse than saying no.
    if (query.label !== undefined) throw new ApiError(400, 'ERR_SCHED_UNSUPPORTED', 'label selectors are not supported yet');
    const embed = list(query.embed);
    const embedTasks = embed.includes('apps.tasks') || embed.includes('app.tasks');
    const idFilter = typeof query.id === 'string' ? query.id : undefined;
    const apps = [...state.current.apps.keys()]
      .filter((id) => idFilter === undefined || id.includes(idFilter))
      .sort()
      .map((id) => render(id, embedTasks));
    return { apps };
  });

  server.post('/v2/apps', async (request, reply) => {
    const context = changeContext(request);
    const change = await commit(reply, (s) => writeApp(s, request.body, 'create', context));
    const id = change.app?.id ?? '';
    return reply.code(201).header('Location', `/v2/apps${id}`).send(render(id, true));
  });

  // App ids are paths: everything after /v2/apps/ is the id, except Marathon's sub-resources.
  server.get('/v2/apps/*', async (request) => {
    const path = (request.params as { '*': string })['*'];
    if (path.endsWith('/tasks')) {
      const id = normalizePathId(path.slice(0, -'/tasks'.length));
      const current = state.current;
      const app = current.apps.get(id);
      if (app === undefined) throw appNotFound(id);
      return { tasks: instancesOf(current, id).map((i) => taskJson(i, app)) };
    }
    const id = normalizePathId(path);
    const app = render(id, true);
    if (app === undefined) throw appNotFound(id);
    return { app };
  });

  server.put('/v2/apps/*', async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    // COMPAT(marathon): PUT on one app is a partial update unless partialUpdate=false.
    const mode: WriteMode = list((request.query as Query).partialUpdate).includes('false') ? 'replace' : 'partial';
    const context = changeContext(request);
    const change = await commit(reply, (s) => writeApp(s, request.body, mode, context, path));
    return reply.code(change.created ? 201 : 200).send({ version: change.app?.version, deploymentId: change.deployment.id });
  });

  server.delete('/v2/apps/*', async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    const context = changeContext(request);
    const change = await commit(reply, (s) => removeApp(s, path, context));
    return reply.code(200).send({ version: context.now, deploymentId: change.deployment.id });
  });
}
