import type { Command } from 'commander';
import { action, family, leaf, withDeploymentFlags, withJson } from './command-kit.ts';
import { formatAge } from './core/durations.ts';
import { deployAndWait, watchDeployment, written } from './deployment-watch.ts';
import type { ClientProcess } from './output.ts';

type Json = Record<string, unknown>;

const actionsOf = (deployment: Json): string =>
  (Array.isArray(deployment.currentActions) ? (deployment.currentActions as Json[]) : []).map((a) => `${String(a.action)} ${String(a.app)}`).join(', ');

export function registerDeploymentCommands(program: Command, proc: ClientProcess): void {
  const deployment = family(program, 'deployment', 'Follow, roll back and stop deployments', ['corral deployment list', 'corral deployment watch ID', 'corral deployment rollback ID']);

  withJson(leaf(deployment, 'list', 'List running deployments: apps, step, current actions', ['corral deployment list']))
    .action(action(proc, async (ctx) => {
      const deployments = await ctx.client.get<Json[]>('/v2/deployments');
      if (ctx.out.json) return ctx.out.printJson(deployments);
      if (deployments.length === 0) return ctx.out.line('No deployments running.');
      const now = Date.now();
      ctx.out.table([{ header: 'ID' }, { header: 'APPS' }, { header: 'STEP' }, { header: 'AGE', align: 'right' }, { header: 'ACTIONS', shrink: true }],
        deployments.map((d) => [
          String(d.id), (Array.isArray(d.affectedApps) ? d.affectedApps : []).join(','), `${String(d.currentStep)}/${String(d.totalSteps)}`,
          formatAge(Date.parse(String(d.version)), now), actionsOf(d),
        ]));
    }));

  withJson(leaf(deployment, 'watch <id>', 'Follow a running deployment until it ends: step n/m, instances started/healthy/killed; exit 1 if it fails', [
    'corral deployment watch 5ed4c0c5-9ff8-4a6f-a1b8-4a3b8e5b9f0e',
  ])).action(action(proc, async (ctx, id: string) => watchDeployment(ctx, id)));

  withDeploymentFlags(leaf(deployment, 'rollback <id>', 'Roll a deployment back: its apps return to what they were (a new deployment, followed)', [
    'corral deployment rollback 5ed4c0c5-9ff8-4a6f-a1b8-4a3b8e5b9f0e',
  ]), false).action(action(proc, async (ctx, id: string) =>
    deployAndWait(ctx, async () => written(await ctx.client.call('DELETE', `/v2/deployments/${encodeURIComponent(id)}`), `Rolling back deployment ${id}`))));

  leaf(deployment, 'stop <id>', 'Stop a deployment where it is, without rolling back (its apps keep their new definitions)', [
    'corral deployment stop 5ed4c0c5-9ff8-4a6f-a1b8-4a3b8e5b9f0e',
  ]).action(action(proc, async (ctx, id: string) => {
    await ctx.client.call('DELETE', `/v2/deployments/${encodeURIComponent(id)}?force=true`);
    ctx.out.line(`Stopped deployment ${id}`);
  }));
}
