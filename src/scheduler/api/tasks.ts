import type { FastifyInstance } from 'fastify';
import type { TaskState } from '../../events/types.ts';
import { instancesByTaskIds, killInstances, type KillChange } from '../core/app-changes.ts';
import { taskJson } from '../core/marathon-json.ts';
import type { Instance } from '../types.ts';
import type { ApiContext } from './context.ts';
import { changeContext, commitChange, deploymentResult, flag, killScales, list, type Query } from './route-helpers.ts';

/**
 * COMPAT(marathon): `status=running|staging` (case-insensitive, repeatable, also as `status[]`);
 * values Marathon does not know are ignored, so only unknown values means no filter. Beyond
 * Marathon, a full state name (`TASK_KILLING`) filters on that state.
 */
export function statusFilter(values: readonly string[]): Set<TaskState> {
  const wanted = new Set<TaskState>();
  for (const value of values) {
    const lower = value.toLowerCase();
    if (lower === 'running') wanted.add('TASK_RUNNING');
    else if (lower === 'staging') wanted.add('TASK_STAGING');
    else if (/^task_[a-z]+$/.test(lower)) wanted.add(value.toUpperCase() as TaskState);
  }
  return wanted;
}

export function registerTaskRoutes(server: FastifyInstance, context: ApiContext): void {
  const { state } = context;
  server.get('/v2/tasks', async (request) => {
    const query = request.query as Query;
    const wanted = statusFilter([...list(query.status), ...list(query['status[]'])]);
    const current = state.current;
    const tasks = [...current.instances.values()]
      // COMPAT(marathon): Metronome's tasks are not Marathon's (they are in /v1/jobs and /master/state).
      .filter((i) => i.run === undefined && (wanted.size === 0 || wanted.has(i.state)))
      .map((i) => taskJson(i, current.apps.get(i.appId)));
    return { tasks };
  });

  // Body `{"ids": [...]}`: without scale answers the tasks killed, with scale the deployment.
  server.post('/v2/tasks/delete', async (request, reply) => {
    const scale = killScales(request.query as Query);
    const ctx = changeContext(request, context);
    const body = request.body as { ids?: unknown } | undefined;
    let selected: Instance[] = [];
    const change = await commitChange(state, (s): KillChange => {
      const found = instancesByTaskIds(s, typeof body === 'object' && body !== null ? body.ids : undefined);
      if (!found.ok) return found;
      selected = found.instances;
      return killInstances(s, selected, scale, ctx, flag((request.query as Query).wipe));
    });
    if (change.deployment !== undefined) return deploymentResult(reply, change.deployment, ctx.now);
    const apps = state.current.apps;
    return { tasks: selected.map((i) => taskJson(i, apps.get(i.appId))) };
  });
}
