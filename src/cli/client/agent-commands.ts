import type { Command } from 'commander';
import { action, leaf, withJson, type ClientContext } from './command-kit.ts';
import { agentState, agentUsage, formatAttributes, usedOfTotal } from './core/agent-rows.ts';
import type { ClientProcess } from './output.ts';

type Json = Record<string, unknown>;

/** The scheduler's agents (`/corral/v1/agents`). */
export async function listAgents(ctx: ClientContext): Promise<Json[]> {
  return (await ctx.client.get<{ agents: Json[] }>('/corral/v1/agents')).agents;
}

/** An agent by id, hostname or ip; a clear error naming what exists otherwise. */
export function findAgent(agents: readonly Json[], key: string): Json {
  const found = agents.filter((a) => a.id === key || a.hostname === key || a.ip === key);
  if (found.length === 1) return found[0] as Json;
  const known = agents.map((a) => `${String(a.id)} (${String(a.hostname)})`).join(', ') || 'none';
  throw new Error(found.length === 0 ? `no agent '${key}'; agents: ${known}` : `'${key}' names ${found.length} agents; use an id: ${known}`);
}

export function registerAgentCommands(program: Command, proc: ClientProcess): void {
  // `corral agent` itself runs an agent: list, drain and revoke are its subcommands (they come first on the line).
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent').description('List agents and put them in or out of maintenance');

  withJson(leaf(agent, 'list', 'List agents: state, resources used/total and free, ports, attributes', ['corral agent list', 'corral agent list --json']))
    .action(action(proc, async (ctx) => {
      const [agents, state] = await Promise.all([listAgents(ctx), ctx.client.get<{ slaves?: Json[] }>('/master/state')]);
      const slaves = new Map((state.slaves ?? []).map((s) => [String(s.id), s]));
      const rows = agents.map((a) => ({ agent: a, usage: agentUsage(slaves.get(String(a.id))) }));
      if (ctx.out.json) {
        return ctx.out.printJson(rows.map(({ agent: a, usage }) => ({
          id: a.id, hostname: a.hostname, ip: a.ip, endpoint: a.endpoint, connected: a.connected, draining: a.draining === true,
          attributes: a.attributes, total: usage.total, used: usage.used, free: usage.free, ports: usage.ports,
        })));
      }
      if (rows.length === 0) return ctx.out.line('No agents registered.');
      ctx.out.table(
        [{ header: 'ID' }, { header: 'HOST' }, { header: 'STATE', style: (t) => (t.startsWith('connected') && !t.includes('draining') ? ctx.out.green(t) : ctx.out.yellow(t)) },
          { header: 'CPUS USED/TOTAL' }, { header: 'MEM USED/TOTAL' }, { header: 'FREE CPUS/MEM' }, { header: 'PORTS', shrink: true }, { header: 'ATTRIBUTES', shrink: true }],
        rows.map(({ agent: a, usage }) => [
          String(a.id), String(a.hostname), agentState(a), usedOfTotal(usage, 'cpus'), usedOfTotal(usage, 'mem'),
          `${usage.free.cpus}/${usage.free.mem}`, usage.ports, formatAttributes(a.attributes),
        ]),
      );
    }));

  leaf(agent, 'drain <agent>', 'Put an agent in maintenance: no new tasks; its tasks are started elsewhere, then stopped (--cancel ends it)', [
    'corral agent drain 127.0.0.11',
    'corral agent drain 3f2a… --cancel',
  ]).option('--cancel', 'end the maintenance: the agent takes new tasks again')
    .action(action(proc, async (ctx, key: string) => {
      const found = findAgent(await listAgents(ctx), key);
      const cancel = ctx.flags.cancel === true;
      await ctx.client.call(cancel ? 'DELETE' : 'POST', `/corral/v1/agents/${encodeURIComponent(String(found.id))}/drain`);
      ctx.out.line(cancel ? `Agent ${String(found.id)} (${String(found.hostname)}) takes tasks again` : `Agent ${String(found.id)} (${String(found.hostname)}) is draining: its tasks move elsewhere`);
    }));

  leaf(agent, 'revoke <agent>', 'Revoke an agent\'s credential (agent admission, --join-token-file): its calls are refused and its command stream is cut; its tasks are replaced elsewhere once it times out', [
    'corral agent revoke 127.0.0.11',
  ]).action(action(proc, async (ctx, key: string) => {
    const found = findAgent(await listAgents(ctx), key);
    await ctx.client.call('DELETE', `/corral/v1/agents/${encodeURIComponent(String(found.id))}/credential`);
    ctx.out.line(`Agent ${String(found.id)} (${String(found.hostname)}) is revoked: its calls are refused from now on`);
  }));
}
