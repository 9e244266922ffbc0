import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { appNotFound, SchedulerFailure } from '../errors.ts';
import {
  appInstancesToKill, killInstances, normalizePathId, removeApp, restartApp, versionKey, writeApp, writeApps, type AppChange, type KillChange, type WriteMode,
} from '../core/app-changes.ts';
import { deploymentsHolding } from '../core/deployments.ts';
import { appVersionsOf, instancesOfApp } from '../core/state-ops.ts';
import { matchesAppSearch, parseLabelSelectors, type LabelSelector } from '../core/label-selector.ts';
import { appDefinitionJson, appInstances, appJson, resolveAppEmbeds, taskJson, type AppEmbed } from '../core/marathon-json.ts';
import type { AppDefinition, ClusterState, Instance } from '../types.ts';
import type { ApiContext } from './context.ts';
import { dryRun } from './quotas.ts';
import { changeContext, commitChange, deploymentResult, flag, killScales, list, unknownPath, type Query } from './route-helpers.ts';

/** Splits `/v2/apps/<id>/<sub-resource>` paths: app ids are paths, so the sub-resource is matched at the end. */
function route(path: string): { id: string; sub: 'app' | 'tasks' | 'task' | 'versions' | 'version' | 'restart'; arg?: string } {
  const patterns: Array<[RegExp, 'tasks' | 'task' | 'versions' | 'version' | 'restart']> = [
    [/^(.+)\/tasks\/?$/, 'tasks'],
    [/^(.+)\/tasks\/([^/]+)$/, 'task'],
    [/^(.+)\/versions\/?$/, 'versions'],
    [/^(.+)\/versions\/([^/]+)$/, 'version'],
    [/^(.+)\/restart\/?$/, 'restart'],
  ];
  for (const [pattern, sub] of patterns) {
    const match = pattern.exec(path);
    if (match !== null) return { id: normalizePathId(match[1] as string), sub, ...(match[2] !== undefined ? { arg: match[2] } : {}) };
  }
  return { id: normalizePathId(path), sub: 'app' };
}

/** One app as `/v2/apps` and `/v2/groups` show it, with what `embeds` asks for. */
export function renderApp(current: ClusterState, app: AppDefinition, embeds: ReadonlySet<AppEmbed>, nowMs: number): Record<string, unknown> {
  return appJson(app, appInstances(current, app), deploymentsHolding(current, [app.id]), {
    embedTasks: embeds.has('tasks'),
    embedLastTaskFailure: embeds.has('lastTaskFailure'),
    lastTaskFailure: current.taskFailures.get(app.id),
    embedReadiness: embeds.has('readiness'),
    ...(embeds.has('taskStats') ? { taskStatsAt: nowMs } : {}),
  });
}

export function registerAppRoutes(server: FastifyInstance, context: ApiContext): void {
  const { state } = context;

  const render = (current: ClusterState, appId: string, embeds: ReadonlySet<AppEmbed>): Record<string, unknown> | undefined => {
    const app = current.apps.get(appId);
    return app === undefined ? undefined : renderApp(current, app, embeds, Date.now());
  };

  server.get('/v2/apps', async (request) => {
    const query = request.query as Query;
    const selectors: LabelSelector[] = [];
    for (const text of list(query.label)) {
      const parsed = parseLabelSelectors(text);
      if (!parsed.ok) throw new SchedulerFailure({ code: 'ERR_SCHED_LABEL_SELECTOR', reason: parsed.error });
      selectors.push(...parsed.selectors);
    }
    const search = {
      ...(typeof query.id === 'string' ? { id: query.id } : {}),
      ...(typeof query.cmd === 'string' ? { cmd: query.cmd } : {}),
      selectors,
    };
    const embeds = resolveAppEmbeds(list(query.embed));
    const current = state.current;
    const apps = [...current.apps.values()]
      .filter((app) => matchesAppSearch(app, search))
      .map((app) => app.id)
      .sort()
      .map((id) => render(current, id, embeds));
    return { apps };
  });

  // Corral: `?dryRun=true` on an app write answers its plan and quota effect and does nothing (api/quotas.ts).
  const dry = (request: FastifyRequest): boolean => flag((request.query as Query).dryRun);

  server.post('/v2/apps', async (request, reply) => {
    if (dry(request)) return dryRun(state.current, changeContext(request, context), (s, ctx) => writeApp(s, request.body, 'create', ctx), 'app');
    const change = await commitChange(state, (s): AppChange => writeApp(s, request.body, 'create', changeContext(request, context)));
    const id = change.app?.id ?? '';
    return reply.code(201).header('Location', `/v2/apps${id}`).header('Marathon-Deployment-Id', change.deployment.id)
      .send(render(state.current, id, new Set(['tasks'])));
  });

  // COMPAT(marathon): a batch PUT is a partial update per app unless partialUpdate=false.
  server.put('/v2/apps', async (request, reply) => {
    const ctx = changeContext(request, context);
    const mode = list((request.query as Query).partialUpdate).includes('false') ? 'replace' : 'partial';
    if (dry(request)) return dryRun(state.current, ctx, (s, c) => writeApps(s, request.body, mode, c), 'app');
    const change = await commitChange(state, (s): AppChange => writeApps(s, request.body, mode, ctx));
    return deploymentResult(reply, change.deployment, ctx.now);
  });

  server.patch('/v2/apps', async (request, reply) => {
    const ctx = changeContext(request, context);
    if (dry(request)) return dryRun(state.current, ctx, (s, c) => writeApps(s, request.body, 'patch', c), 'app');
    const change = await commitChange(state, (s): AppChange => writeApps(s, request.body, 'patch', ctx));
    return deploymentResult(reply, change.deployment, ctx.now);
  });

  // App ids are paths: everything after /v2/apps/ is the id, except Marathon's sub-resources.
  server.get('/v2/apps/*', async (request) => {
    const { id, sub, arg } = route((request.params as { '*': string })['*']);
    const current = state.current;
    const app = current.apps.get(id);
    if (sub === 'restart' || sub === 'task') throw unknownPath(request);
    if (app === undefined) throw new SchedulerFailure(appNotFound(id));
    if (sub === 'tasks') return { tasks: instancesOfApp(current, id).map((i) => taskJson(i, app)) };
    if (sub === 'versions') {
      const versions = appVersionsOf(current, id).map((v) => v.version);
      // Newest first; ISO timestamps of one format sort as strings.
      return { versions: versions.sort().reverse() };
    }
    if (sub === 'version') {
      const stored = current.appVersions.get(versionKey(id, arg ?? ''));
      if (stored === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_APP_VERSION_NOT_FOUND', appId: id, version: arg ?? '' });
      return appDefinitionJson(stored);
    }
    // COMPAT(marathon): one app always embeds its tasks, counts, deployments and last task failure.
    const embeds = resolveAppEmbeds(list((request.query as Query).embed));
    embeds.add('tasks').add('lastTaskFailure');
    return { app: render(current, id, embeds) };
  });

  const update = (mode: WriteMode) => async (request: FastifyRequest, reply: FastifyReply) => {
    const { id, sub } = route((request.params as { '*': string })['*']);
    if (sub !== 'app') throw unknownPath(request);
    const ctx = changeContext(request, context);
    if (dry(request)) return dryRun(state.current, ctx, (s, c) => writeApp(s, request.body, mode, c, id), 'app');
    const change = await commitChange(state, (s): AppChange => writeApp(s, request.body, mode, ctx, id));
    // COMPAT(marathon): a PUT that creates the app answers like POST, with its Location.
    if (change.created) reply.header('Location', `/v2/apps${change.app?.id ?? id}`);
    return deploymentResult(reply, change.deployment, change.app?.version ?? ctx.now, change.created ? 201 : 200);
  };
  // COMPAT(marathon): PUT on one app is a partial update unless partialUpdate=false; PATCH always is, and never creates.
  server.put('/v2/apps/*', (request, reply) =>
    update(list((request.query as Query).partialUpdate).includes('false') ? 'replace' : 'partial')(request, reply));
  server.patch('/v2/apps/*', update('patch'));

  server.post('/v2/apps/*', async (request, reply) => {
    const { id, sub } = route((request.params as { '*': string })['*']);
    if (sub !== 'restart') throw unknownPath(request);
    const change = await commitChange(state, (s): AppChange => restartApp(s, id, changeContext(request, context)));
    return deploymentResult(reply, change.deployment, change.app?.version ?? '');
  });

  server.delete('/v2/apps/*', async (request, reply) => {
    const { id, sub, arg } = route((request.params as { '*': string })['*']);
    const query = request.query as Query;
    const ctx = changeContext(request, context);
    if (sub === 'app') {
      // COMPAT(marathon): force defaults to true for an app DELETE: an app stuck in its deployment
      // is removed (the deployment is cancelled); only force=false keeps the 409.
      const forced = { ...ctx, force: !list(query.force).includes('false') };
      const change = await commitChange(state, (s): AppChange => removeApp(s, id, forced));
      return deploymentResult(reply, change.deployment, ctx.now);
    }
    if (sub !== 'tasks' && sub !== 'task') throw unknownPath(request);
    const scale = killScales(query);
    // COMPAT(marathon): wipe=true releases a resident task's reservation and destroys its volumes; without it the task is relaunched on them.
    const host = typeof query.host === 'string' ? query.host : undefined;
    let selected: Instance[] = [];
    const change = await commitChange(state, (s): KillChange => {
      if (!s.apps.has(id)) return { ok: false, error: appNotFound(id) };
      selected = sub === 'task' ? appInstancesToKill(s, id).filter((i) => i.taskId === arg) : appInstancesToKill(s, id, host);
      // Beyond Marathon (which would start an empty deployment): an unknown task is a 404 even with scale=true.
      if (sub === 'task' && selected.length === 0) return { ok: false, error: { code: 'ERR_SCHED_TASK_NOT_FOUND', taskId: arg ?? '' } };
      return killInstances(s, selected, scale, ctx, flag(query.wipe));
    });
    if (change.deployment !== undefined) return deploymentResult(reply, change.deployment, ctx.now);
    const app = state.current.apps.get(id);
    const tasks = selected.map((i) => taskJson(i, app));
    return sub === 'task' ? { task: tasks[0] } : { tasks };
  });
}
