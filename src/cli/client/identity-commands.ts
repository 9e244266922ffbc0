import type { Command } from 'commander';
import { action, family, leaf, UsageError, withJson } from './command-kit.ts';
import { grantBody, grantee } from './core/grant-args.ts';
import type { ClientProcess } from './output.ts';

type Json = Record<string, unknown>;

/** `--group a --group b,c` → `[a, b, c]`. */
const collect = (value: string, previous: string[] = []): string[] => [...previous, ...value.split(',').map((g) => g.trim()).filter((g) => g !== '')];
const names = (value: unknown): string => (Array.isArray(value) && value.length > 0 ? value.join(',') : '-');

/** `corral identity add|list|remove` and `corral grant add|list|remove`: the scheduler's `/v2/auth/{identities,grants}` (admin, with --auth). */
export function registerIdentityCommands(program: Command, proc: ClientProcess): void {
  const identity = family(program, 'identity', 'Add, list and remove identities: users and services that tokens are issued for (admin)', [
    'corral identity add alice --group team-a',
    'corral identity list',
    'corral identity remove alice',
  ]);

  withJson(leaf(identity, 'add <id>', 'Add (or replace) an identity; then grant it actions and issue it a token', [
    'corral identity add alice --group team-a',
    'corral identity add ci --kind service',
  ]))
    .option('--kind <kind>', 'user or service (default user)')
    .option('--group <group>', 'an identity group it belongs to (repeatable, or comma-separated); grants to the group apply to it', collect)
    .action(action(proc, async (ctx, id: string) => {
      const kind = ctx.flags.kind as string | undefined;
      if (kind !== undefined && kind !== 'user' && kind !== 'service') throw new UsageError(`--kind must be user or service, not '${kind}'`);
      const groups = ctx.flags.group as string[] | undefined;
      const { json } = await ctx.client.call<Json>('POST', '/v2/auth/identities', { id, ...(kind === undefined ? {} : { kind }), ...(groups === undefined ? {} : { groups }) });
      if (ctx.out.json) return ctx.out.printJson(json);
      ctx.out.line(`Added identity ${String(json.id)} (${String(json.kind)})${Array.isArray(json.groups) && json.groups.length > 0 ? `, groups ${json.groups.join(', ')}` : ''}`);
    }));

  withJson(leaf(identity, 'list', 'List identities: id, kind, groups, whether a password (Basic) is set', ['corral identity list', 'corral identity list --json']))
    .action(action(proc, async (ctx) => {
      const { identities } = await ctx.client.get<{ identities: Json[] }>('/v2/auth/identities');
      if (ctx.out.json) return ctx.out.printJson(identities);
      ctx.out.table([{ header: 'ID' }, { header: 'KIND' }, { header: 'GROUPS', shrink: true }, { header: 'PASSWORD' }],
        identities.map((i) => [String(i.id), String(i.kind), names(i.groups), i.basic === true ? 'yes' : 'no']));
    }));

  withJson(leaf(identity, 'remove <id>', 'Remove an identity: its tokens are revoked and the grants naming it removed', ['corral identity remove alice']))
    .action(action(proc, async (ctx, id: string) => {
      const { json } = await ctx.client.call<Json>('DELETE', `/v2/auth/identities/${encodeURIComponent(id)}`);
      if (ctx.out.json) return ctx.out.printJson(json);
      const tokens = Array.isArray(json.revokedTokens) ? json.revokedTokens.length : 0;
      ctx.out.line(`Removed identity ${id}: ${tokens} token${tokens === 1 ? '' : 's'} revoked, grants removed: ${names(json.removedGrants)}`);
    }));

  const grant = family(program, 'grant', 'Add, list and remove grants: actions on a path for an identity or an identity group (admin)', [
    'corral grant add alice read,update /team-a',
    'corral grant add --group team-a create,read,update,delete /team-a',
    'corral grant list',
    'corral grant remove \'alice /team-a\'',
  ]);

  withJson(leaf(grant, 'add <identity-actions-path...>', 'Grant actions (comma-separated) on a path: IDENTITY ACTIONS PATH, or --group G ACTIONS PATH', [
    'corral grant add alice read,update /team-a',
    'corral grant add --group team-a create,read,update,delete,scale,restart,logs /team-a',
    'corral grant add ops admin / --id ops-admin',
  ]))
    .option('--group <group>', 'grant to every member of this identity group instead of one identity')
    .option('--id <id>', 'the grant\'s id (default: "IDENTITY PATH", or "group:G PATH")')
    .action(action(proc, async (ctx, words: string[]) => {
      const parsed = grantBody(words, ctx.flags.group as string | undefined, ctx.flags.id as string | undefined);
      if (!parsed.ok) throw new UsageError(parsed.error);
      const { json } = await ctx.client.call<Json>('POST', '/v2/auth/grants', parsed.body);
      if (ctx.out.json) return ctx.out.printJson(json);
      ctx.out.line(`Granted ${(json.actions as string[]).join(',')} on ${String(json.path)} to ${grantee(json)} (grant id '${String(json.id)}')`);
    }));

  withJson(leaf(grant, 'list', 'List grants: id, identity or group, actions, path', ['corral grant list', 'corral grant list --json']))
    .action(action(proc, async (ctx) => {
      const { grants } = await ctx.client.get<{ grants: Json[] }>('/v2/auth/grants');
      if (ctx.out.json) return ctx.out.printJson(grants);
      ctx.out.table([{ header: 'ID' }, { header: 'TO' }, { header: 'ACTIONS' }, { header: 'PATH' }],
        grants.map((g) => [String(g.id), grantee(g), names(g.actions), String(g.path)]));
    }));

  leaf(grant, 'remove <id>', 'Remove a grant by its id (as grant list shows it; quote it: it holds a space)', ['corral grant remove \'alice /team-a\'', 'corral grant remove \'group:team-a /team-a\''])
    .action(action(proc, async (ctx, id: string) => {
      await ctx.client.call('DELETE', `/v2/auth/grants/${encodeURIComponent(id)}`);
      ctx.out.line(`Removed grant '${id}'`);
    }));
}
