import type { Command } from 'commander';
import { action, family, leaf, pathId, UsageError, withJson } from './command-kit.ts';
import { QUOTA_COLUMNS, quotaBody, quotaCells, type QuotaColumn } from './core/quota-rows.ts';
import type { ClientProcess } from './output.ts';

type Json = Record<string, unknown>;

/** `corral quota list|set|rm`: per-group limits (`/v2/quotas`); setting and removing need admin under --auth. */
export function registerQuotaCommands(program: Command, proc: ClientProcess): void {
  const quota = family(program, 'quota', 'List, set and remove per-group quotas (cpus, mem, disk, gpus, instances)', [
    'corral quota list',
    'corral quota set /team-a --cpus 4 --mem 4096 --instances 10',
    'corral quota rm /team-a',
  ]);

  withJson(leaf(quota, 'list', 'List quotas: what everything under each group declares, over its limit', ['corral quota list', 'corral quota list --json']))
    .action(action(proc, async (ctx) => {
      const { quotas } = await ctx.client.get<{ quotas: Json[] }>('/v2/quotas');
      if (ctx.out.json) return ctx.out.printJson(quotas);
      if (quotas.length === 0) return ctx.out.line('No quotas set.');
      ctx.out.table([{ header: 'GROUP' }, ...QUOTA_COLUMNS.map((r) => ({ header: `${r.toUpperCase()} USED/LIMIT`, align: 'right' as const }))], quotas.map(quotaCells));
    }));

  const set = withJson(leaf(quota, 'set <group>', 'Set a group\'s limits (replaces them all; a resource left out is not limited)', ['corral quota set /team-a --cpus 4 --instances 10']));
  for (const r of QUOTA_COLUMNS) set.option(`--${r} <n>`, `limit of ${r} over everything under the group`);
  set.action(action(proc, async (ctx, group: string) => {
    const body = quotaBody(ctx.flags as Partial<Record<QuotaColumn, string>>);
    if (!body.ok) throw new UsageError(body.error);
    const { json } = await ctx.client.call<Json>('PUT', `/v2/quotas${pathId(group)}`, body.body);
    if (ctx.out.json) return ctx.out.printJson(json);
    ctx.out.line(`Quota of ${String(json.group)}: ${quotaCells(json).slice(1).map((cell, i) => `${QUOTA_COLUMNS[i]} ${cell}`).join(', ')}`);
  }));

  leaf(quota, 'rm <group>', 'Remove a group\'s quota', ['corral quota rm /team-a']).action(action(proc, async (ctx, group: string) => {
    await ctx.client.call('DELETE', `/v2/quotas${pathId(group)}`);
    ctx.out.line(`Quota of ${pathId(group)} removed`);
  }));
}
