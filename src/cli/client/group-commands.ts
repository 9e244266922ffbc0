import type { Command } from 'commander';
import { action, family, forceQuery, leaf, pathId, readJsonInput, UsageError, withDeploymentFlags, withJson } from './command-kit.ts';
import { deployAndWait, written } from './deployment-watch.ts';
import type { ClientProcess } from './output.ts';
import { instanceCounts } from './views.ts';

type Json = Record<string, unknown>;

/** Every app of a group tree, depth first. */
function appsOf(group: Json): Json[] {
  const apps = Array.isArray(group.apps) ? (group.apps as Json[]) : [];
  const groups = Array.isArray(group.groups) ? (group.groups as Json[]) : [];
  return [...apps, ...groups.flatMap(appsOf)];
}

function countGroups(group: Json): number {
  const groups = Array.isArray(group.groups) ? (group.groups as Json[]) : [];
  return groups.length + groups.reduce((n, g) => n + countGroups(g), 0);
}

export function registerGroupCommands(program: Command, proc: ClientProcess): void {
  const group = family(program, 'group', 'Create, inspect, change, scale and remove groups of apps', ['corral group add shop.json', 'corral group show /shop', 'corral group scale /shop 2']);

  withDeploymentFlags(leaf(group, 'add <file>', 'Create a group (and its apps) from a Marathon group definition (JSON file, or - for stdin)', [
    'corral group add shop.json',
  ]), false).action(action(proc, async (ctx, file: string) => {
    const body = await readJsonInput(file, proc.stdin);
    const id = typeof body === 'object' && body !== null && typeof (body as Json).id === 'string' ? pathId((body as Json).id as string) : '/';
    return deployAndWait(ctx, async () => written(await ctx.client.call('POST', '/v2/groups', body), `Created group ${id}`));
  }));

  withJson(leaf(group, 'show [id]', 'Show a group: its apps (with instances running/healthy/asked) and subgroups; the root by default', [
    'corral group show /shop',
    'corral group show --json',
  ])).action(action(proc, async (ctx, id?: string) => {
    const found = await ctx.client.get<Json>(`/v2/groups${id === undefined ? '' : pathId(id)}`);
    if (ctx.out.json) return ctx.out.printJson(found);
    const apps = appsOf(found);
    ctx.out.fields([['group', String(found.id)], ['version', String(found.version ?? '-')], ['apps', String(apps.length)], ['subgroups', String(countGroups(found))]]);
    if (apps.length === 0) return;
    ctx.out.line();
    ctx.out.table([{ header: 'APP' }, { header: 'RUNNING', align: 'right' }, { header: 'HEALTHY', align: 'right' }, { header: 'ASKED', align: 'right' }],
      apps.map((a) => [String(a.id), ...instanceCounts(a)]));
  }));

  withDeploymentFlags(leaf(group, 'update <id> <file>', 'Change a group from a group definition (JSON file, or - for stdin)', ['corral group update /shop shop.json']))
    .action(action(proc, async (ctx, id: string, file: string) => {
      const body = await readJsonInput(file, proc.stdin);
      return deployAndWait(ctx, async () => written(await ctx.client.call('PUT', `/v2/groups${pathId(id)}${forceQuery(ctx)}`, body), `Updated group ${pathId(id)}`));
    }));

  withDeploymentFlags(leaf(group, 'scale <id> <factor>', 'Multiply the instances of every app in a group by a factor', ['corral group scale /shop 2', 'corral group scale /shop 0.5']))
    .action(action(proc, async (ctx, id: string, factor: string) => {
      const scaleBy = Number(factor);
      if (factor.trim() === '' || !Number.isFinite(scaleBy) || scaleBy < 0) throw new UsageError(`factor must be a number of at least 0, not '${factor}'`);
      return deployAndWait(ctx, async () => written(await ctx.client.call('PUT', `/v2/groups${pathId(id)}${forceQuery(ctx)}`, { scaleBy }), `Scaling group ${pathId(id)} by ${scaleBy}`));
    }));

  withDeploymentFlags(leaf(group, 'remove <id>', 'Remove a group with all its apps', ['corral group remove /shop']))
    .action(action(proc, async (ctx, id: string) =>
      deployAndWait(ctx, async () => written(await ctx.client.call('DELETE', `/v2/groups${pathId(id)}${forceQuery(ctx)}`), `Removing group ${pathId(id)}`))));
}
