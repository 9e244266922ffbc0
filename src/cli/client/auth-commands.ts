import type { Command } from 'commander';
import { action, family, leaf, UsageError, withJson } from './command-kit.ts';
import { formatAge } from './core/durations.ts';
import type { ClientProcess } from './output.ts';

type Json = Record<string, unknown>;

const grantLine = (g: Json): string => `${(g.actions as string[]).join(',')} on ${String(g.path)}${g.group === undefined ? '' : ` (via group ${String(g.group)})`}`;
const when = (ms: unknown, now: number): string => (typeof ms === 'number' ? (ms > now ? `in ${formatAge(now, ms)}` : `${formatAge(ms, now)} ago`) : '-');

/** `corral whoami` and `corral token create|list|revoke`: the scheduler's `/v2/auth/*` (a scheduler with --auth). */
export function registerAuthCommands(program: Command, proc: ClientProcess): void {
  withJson(leaf(program, 'whoami', 'Show the identity the token belongs to, and its grants', ['corral whoami', 'CORRAL_TOKEN=... corral whoami --json']))
    .action(action(proc, async (ctx) => {
      const me = await ctx.client.get<Json>('/v2/auth/whoami');
      if (ctx.out.json) return ctx.out.printJson(me);
      const groups = me.groups as string[];
      ctx.out.line(`${String(me.id)} (${String(me.kind)})${groups.length > 0 ? `, groups ${groups.join(', ')}` : ''}`);
      const grants = me.grants as Json[];
      if (grants.length === 0) ctx.out.line('no grants');
      for (const grant of grants) ctx.out.line(`  ${grantLine(grant)}`);
    }));

  const token = family(program, 'token', 'Issue, list and revoke tokens (admin)', ['corral token create ci --expires-in 86400 > ci.token', 'corral token list', 'corral token revoke ID']);

  leaf(token, 'create <identity>', 'Issue a token for an identity: stdout is the token alone (shown this once), so redirect it to a 0600 file', ['(umask 077; corral token create ci > ci.token)'])
    .option('--expires-in <seconds>', 'expiry, in seconds from now (default: never)')
    .action(action(proc, async (ctx, identity: string) => {
      const raw = ctx.flags.expiresIn as string | undefined;
      const seconds = raw === undefined ? undefined : Number(raw);
      if (seconds !== undefined && !(Number.isInteger(seconds) && seconds > 0)) throw new UsageError(`--expires-in: expected a whole number of seconds > 0, got '${String(raw)}'`);
      const issued = (await ctx.client.call<Json>('POST', '/v2/auth/tokens', { identity, ...(seconds === undefined ? {} : { expiresInSeconds: seconds }) })).json;
      ctx.out.line(String(issued.token));
      ctx.out.note(`token ${String(issued.id)} issued for ${identity}; this is the only time its secret is shown`);
    }));

  withJson(leaf(token, 'list', 'List tokens (ids, identities, expiry, revocation; never secrets)', ['corral token list', 'corral token list --json']))
    .action(action(proc, async (ctx) => {
      const { tokens } = await ctx.client.get<{ tokens: Json[] }>('/v2/auth/tokens');
      if (ctx.out.json) return ctx.out.printJson(tokens);
      const now = Date.now();
      ctx.out.table([{ header: 'ID' }, { header: 'IDENTITY' }, { header: 'CREATED', align: 'right' }, { header: 'EXPIRES', align: 'right' }, { header: 'REVOKED', align: 'right' }],
        tokens.map((t) => [String(t.id), String(t.identityId), when(t.createdAt, now), when(t.expiresAt, now), when(t.revokedAt, now)]));
    }));

  leaf(token, 'revoke <id>', 'Revoke a token by its id (the part before the dot): every later request with it gets 401', ['corral token revoke 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed'])
    .action(action(proc, async (ctx, id: string) => {
      await ctx.client.call('DELETE', `/v2/auth/tokens/${encodeURIComponent(id.split('.')[0] ?? id)}`);
      ctx.out.line(`Revoked token ${id.split('.')[0] ?? id}`);
    }));
}
