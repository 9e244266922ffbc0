import type { Command } from 'commander';
import { action, leaf, pathId, withJson } from './command-kit.ts';
import { formatAge } from './core/durations.ts';
import { ApiFailure } from './http-client.ts';
import type { ClientProcess } from './output.ts';
import { instanceCounts } from './views.ts';

type Json = Record<string, unknown>;

const appIdOf = (entry: Json): string => String((entry.app as Json | undefined)?.id);

const delayOf = (entry: Json): string => {
  const delay = (entry.delay ?? {}) as Json;
  return delay.overdue === false ? `${String(delay.timeLeftSeconds)}s` : '-';
};

export function registerQueueCommands(program: Command, proc: ClientProcess): void {
  withJson(leaf(program, 'queue', 'List apps with instances waiting to be placed, and why they wait', ['corral queue', 'corral queue --json']))
    .action(action(proc, async (ctx) => {
      const { queue } = await ctx.client.get<{ queue: Json[] }>('/v2/queue');
      if (ctx.out.json) return ctx.out.printJson(queue);
      if (queue.length === 0) return ctx.out.line('Nothing is waiting to be placed.');
      const now = Date.now();
      ctx.out.table([{ header: 'APP' }, { header: 'WAITING', align: 'right' }, { header: 'DELAY', align: 'right' }, { header: 'SINCE', align: 'right' }, { header: 'REASON', shrink: true }],
        queue.map((e) => [appIdOf(e), String(e.count), delayOf(e), formatAge(Date.parse(String(e.since)), now), String(e.reason ?? '')]));
    }));

  withJson(leaf(program, 'why <app>', 'Say why an app\'s instances are not placed: the scheduler\'s reasons and the agents that refused', ['corral why /hello']))
    .action(action(proc, async (ctx, app: string) => {
      const id = pathId(app);
      const { queue } = await ctx.client.get<{ queue: Json[] }>('/v2/queue');
      const entry = queue.find((e) => appIdOf(e) === id);
      if (ctx.out.json) return ctx.out.printJson(entry ?? null);
      if (entry === undefined) {
        // Not waiting: say how the app stands, or that it does not exist (exit 1).
        const { app: found } = await ctx.client.get<{ app: Json }>(`/v2/apps${id}`).catch((error: unknown) => {
          if (error instanceof ApiFailure && error.status === 404) throw new Error(`app ${id} does not exist; see: corral app list`);
          throw error;
        });
        const [running, healthy, asked] = instanceCounts(found);
        return ctx.out.line(`App ${id} has nothing waiting to be placed: ${running} running, ${healthy} healthy, ${asked} asked.`);
      }
      const summary = (entry.processedOffersSummary ?? {}) as Json;
      const rejects = Array.isArray(summary.rejectSummaryLastOffers) ? (summary.rejectSummaryLastOffers as Json[]) : [];
      ctx.out.line(`App ${id}: ${String(entry.count)} instance(s) waiting since ${String(entry.since)}`);
      ctx.out.line(`Reason: ${String(entry.reason ?? 'unknown')}`);
      if (delayOf(entry) !== '-') ctx.out.line(`Launch delay (backoff): ${delayOf(entry)} left`);
      if (String(entry.reason ?? '').includes('waiting for quota')) {
        ctx.out.line('A quota has no room for them now: they start once instances being stopped have ended, or the quota is raised (see: corral quota list)');
      }
      if (String(entry.reason ?? '').includes('waiting for agent')) {
        ctx.out.line('Its instances hold persistent volumes on that agent: they start there again once it is back (a kill with wipe=true gives up their data and starts over elsewhere)');
      }
      if (rejects.length > 0) {
        ctx.out.line(`Agents tried at the last placement: ${String(summary.processedOffersCount ?? 0)}`);
        ctx.out.table([{ header: 'REFUSED FOR' }, { header: 'AGENTS', align: 'right' }], rejects.map((r) => [String(r.reason), `${String(r.declined)}/${String(r.processed)}`]));
      }
      if (rejects.some((r) => r.reason === 'AgentMaintenance')) {
        // The queue counts draining agents; the operator needs their names to undo a drain.
        const { agents } = await ctx.client.get<{ agents: Json[] }>('/corral/v1/agents');
        const draining = agents.filter((a) => a.draining === true).map((a) => `${String(a.id)} (${String(a.hostname)})`);
        ctx.out.line(`Draining agents (no new instances; 'corral agent drain <agent> --cancel' ends one): ${draining.join(', ')}`);
      }
    }));
}
