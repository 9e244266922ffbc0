import type { Command } from 'commander';
import { action, family, forceQuery, leaf, pathId, withDeploymentFlags, withJson, type ClientContext } from './command-kit.ts';
import { deployAndWait, written } from './deployment-watch.ts';
import type { ClientProcess } from './output.ts';
import { printTasks } from './views.ts';

type Json = Record<string, unknown>;

/** Tasks by id, or by a prefix of an id that only one task has (tables may cut long ids). */
export async function findTasks(ctx: ClientContext, keys: readonly string[]): Promise<Json[]> {
  const { tasks } = await ctx.client.get<{ tasks: Json[] }>('/v2/tasks');
  return keys.map((key) => {
    const exact = tasks.find((t) => t.id === key);
    if (exact !== undefined) return exact;
    const matches = tasks.filter((t) => String(t.id).startsWith(key));
    if (matches.length === 1) return matches[0] as Json;
    if (matches.length === 0) throw new Error(`no task '${key}'; see: corral task list`);
    throw new Error(`'${key}' starts ${matches.length} task ids; give more of it: ${matches.map((t) => String(t.id)).join(', ')}`);
  });
}

export function registerTaskCommands(program: Command, proc: ClientProcess): void {
  const task = family(program, 'task', 'List and kill tasks (running instances of apps)', ['corral task list /hello', 'corral task kill TASK_ID --scale']);

  withJson(leaf(task, 'list [app]', 'List tasks, of every app or of one: host, ports, state, health', ['corral task list', 'corral task list /hello --json']))
    .action(action(proc, async (ctx, app?: string) => {
      const { tasks } = await ctx.client.get<{ tasks: Json[] }>(app === undefined ? '/v2/tasks' : `/v2/apps${pathId(app)}/tasks`);
      if (ctx.out.json) return ctx.out.printJson(tasks);
      if (tasks.length === 0) return ctx.out.line('No tasks.');
      printTasks(ctx, [...tasks].sort((a, b) => String(a.appId).localeCompare(String(b.appId))), app === undefined);
    }));

  withDeploymentFlags(leaf(task, 'kill <ids...>', 'Kill tasks (by id or a unique prefix): they are replaced, unless --scale lowers their apps\' instances', [
    'corral task kill hello.6b2c9a40-1c7e-4c55-9a3e-1f0b7d2e8c11',
    'corral task kill hello.6b2c… hello.91f0… --scale',
  ])).option('--scale', 'lower the app\'s instances by the tasks killed (a deployment) instead of replacing them')
    .action(action(proc, async (ctx, keys: string[]) => {
      const scale = ctx.flags.scale === true;
      const query = [scale ? 'scale=true' : '', forceQuery(ctx).slice(1)].filter(Boolean).join('&');
      const found = (await findTasks(ctx, keys)).map((t) => String(t.id));
      return deployAndWait(ctx, async () => {
        const reply = await ctx.client.call<Json>('POST', `/v2/tasks/delete${query === '' ? '' : `?${query}`}`, { ids: found });
        const killed = Array.isArray(reply.json.tasks) ? (reply.json.tasks as Json[]).map((t) => String(t.id)) : found;
        return written(reply, scale ? `Killing ${found.length} task(s) and scaling down` : `Killed ${killed.length} task(s): ${killed.join(', ')}`);
      });
    }));
}
