import type { FastifyInstance } from 'fastify';
import { taskJson } from '../core/marathon-json.ts';
import type { ApiContext } from './context.ts';

const STATUS_FILTER: Record<string, string[]> = {
  running: ['TASK_RUNNING'],
  staging: ['TASK_STAGING', 'TASK_STARTING'],
};

export function registerTaskRoutes(server: FastifyInstance, { state }: ApiContext): void {
  server.get('/v2/tasks', async (request) => {
    const status = (request.query as { status?: string | string[] }).status;
    const wanted = (Array.isArray(status) ? status : status === undefined ? [] : [status]).flatMap((s) => STATUS_FILTER[s] ?? []);
    const current = state.current;
    const tasks = [...current.instances.values()]
      .filter((i) => wanted.length === 0 || wanted.includes(i.state))
      .map((i) => taskJson(i, current.apps.get(i.appId)));
    return { tasks };
  });
}
