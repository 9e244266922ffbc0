import type { Command } from 'commander';
import { action, family, forceQuery, leaf, pathId, readJsonInput, UsageError, withDeploymentFlags, withJson, type ClientContext } from './command-kit.ts';
import { parseAssignments } from './core/assignments.ts';
import { formatAge } from './core/durations.ts';
import { deployAndWait, written } from './deployment-watch.ts';
import type { ClientProcess } from './output.ts';
import { instanceCounts, printTasks } from './views.ts';

type Json = Record<string, unknown>;

const deploymentIds = (app: Json): string =>
  (Array.isArray(app.deployments) ? (app.deployments as Json[]).map((d) => String(d.id)) : []).join(',') || '-';

const command = (app: Json): string => (typeof app.cmd === 'string' ? app.cmd : Array.isArray(app.args) ? app.args.join(' ') : '');

/** An app definition from FILE/stdin, or from `key=value` words. */
async function changesOf(ctx: ClientContext, words: readonly string[]): Promise<unknown> {
  const first = words[0];
  if (words.length === 1 && first !== undefined && !first.includes('=')) return readJsonInput(first, ctx.proc.stdin);
  const parsed = parseAssignments(words);
  if (!parsed.ok) throw new UsageError(parsed.error);
  return parsed.patch;
}

function parseCount(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${what} must be a whole number of at least 0, not '${text}'`);
  return Number(text);
}

export function registerAppCommands(program: Command, proc: ClientProcess): void {
  const app = family(program, 'app', 'Create, inspect, change and remove apps (Marathon app definitions)', ['corral app add hello.json', 'corral app list', 'corral app scale /hello 3']);

  withDeploymentFlags(leaf(app, 'add <file>', 'Create an app from a Marathon app definition (a JSON file, or - for stdin) and follow its deployment', [
    'corral app add hello.json',
    'echo \'{"id": "/sleepy", "cmd": "sleep 1000", "cpus": 0.1, "mem": 32}\' | corral app add -',
  ]), false).action(action(proc, async (ctx, file: string) => {
    const body = await readJsonInput(file, proc.stdin);
    return deployAndWait(ctx, async () => {
      const reply = await ctx.client.call<Json>('POST', '/v2/apps', body);
      return written(reply, `Created app ${String(reply.json.id)}`);
    });
  }));

  withJson(leaf(app, 'list', 'List apps: instances running/healthy/asked, resources, deployments', ['corral app list', 'corral app list --label HAPROXY_GROUP==external --json']))
    .option('--label <selector>', 'only apps whose labels match (Marathon selector, e.g. tier==web)')
    .action(action(proc, async (ctx) => {
      const label = typeof ctx.flags.label === 'string' ? `?label=${encodeURIComponent(ctx.flags.label)}` : '';
      const { apps } = await ctx.client.get<{ apps: Json[] }>(`/v2/apps${label}`);
      if (ctx.out.json) return ctx.out.printJson(apps);
      if (apps.length === 0) return ctx.out.line('No apps. Create one with: corral app add FILE');
      ctx.out.table(
        [{ header: 'ID' }, { header: 'RUNNING', align: 'right' }, { header: 'HEALTHY', align: 'right' }, { header: 'ASKED', align: 'right' },
          { header: 'CPUS', align: 'right' }, { header: 'MEM', align: 'right' }, { header: 'DEPLOYMENT' }, { header: 'CMD', shrink: true }],
        apps.map((a) => [String(a.id), ...instanceCounts(a), String(a.cpus), String(a.mem), deploymentIds(a), command(a)]),
      );
    }));

  withJson(leaf(app, 'show <id>', 'Show an app: its definition, counts, tasks and last failure', ['corral app show /hello', 'corral app show hello --json']))
    .action(action(proc, async (ctx, id: string) => {
      const { app: found } = await ctx.client.get<{ app: Json }>(`/v2/apps${pathId(id)}`);
      if (ctx.out.json) return ctx.out.printJson(found);
      showApp(ctx, found);
    }));

  withDeploymentFlags(leaf(app, 'update <id> <changes...>', 'Change an app: a partial definition from FILE or - (stdin), or key=value pairs', [
    'corral app update /hello instances=3 env.GREETING=hi',
    'corral app update /hello changes.json',
    'corral app update /hello \'healthChecks=[{"protocol":"HTTP","path":"/"}]\' --no-wait',
  ])).action(action(proc, async (ctx, id: string, words: string[]) => {
    const body = await changesOf(ctx, words);
    return deployAndWait(ctx, async () => written(await ctx.client.call('PUT', `/v2/apps${pathId(id)}${forceQuery(ctx)}`, body), `Updated app ${pathId(id)}`));
  }));

  withDeploymentFlags(leaf(app, 'scale <id> <instances>', 'Set the number of instances of an app', ['corral app scale /hello 5']))
    .action(action(proc, async (ctx, id: string, count: string) => {
      const instances = parseCount(count, 'instances');
      return deployAndWait(ctx, async () =>
        written(await ctx.client.call('PUT', `/v2/apps${pathId(id)}${forceQuery(ctx)}`, { instances }), `Scaling app ${pathId(id)} to ${instances}`));
    }));

  withDeploymentFlags(leaf(app, 'restart <id>', 'Replace every instance of an app (rolling, per its upgradeStrategy)', ['corral app restart /hello']))
    .action(action(proc, async (ctx, id: string) =>
      deployAndWait(ctx, async () => written(await ctx.client.call('POST', `/v2/apps${pathId(id)}/restart${forceQuery(ctx)}`), `Restarting app ${pathId(id)}`))));

  withDeploymentFlags(leaf(app, 'remove <id>', 'Remove an app and kill its instances', ['corral app remove /hello']))
    .action(action(proc, async (ctx, id: string) =>
      deployAndWait(ctx, async () => written(await ctx.client.call('DELETE', `/v2/apps${pathId(id)}${forceQuery(ctx)}`), `Removing app ${pathId(id)}`))));

  withJson(leaf(app, 'versions <id>', 'List the stored versions of an app, newest first', ['corral app versions /hello']))
    .action(action(proc, async (ctx, id: string) => {
      const { versions } = await ctx.client.get<{ versions: string[] }>(`/v2/apps${pathId(id)}/versions`);
      if (ctx.out.json) return ctx.out.printJson(versions);
      const now = Date.now();
      ctx.out.table([{ header: 'VERSION' }, { header: 'AGE', align: 'right' }, { header: '' }],
        versions.map((v, i) => [v, formatAge(Date.parse(v), now), i === 0 ? 'current' : '']));
    }));

  withDeploymentFlags(leaf(app, 'rollback <id> [version]', 'Return an app to a stored version (default: the one before the current)', [
    'corral app rollback /hello',
    'corral app rollback /hello 2026-11-22T01:02:03.456Z',
  ])).action(action(proc, async (ctx, id: string, version?: string) => {
    let target = version;
    if (target === undefined) {
      const { versions } = await ctx.client.get<{ versions: string[] }>(`/v2/apps${pathId(id)}/versions`);
      target = versions[1];
      if (target === undefined) {
        ctx.out.error(`app ${pathId(id)} has no version before the current one; see: corral app versions ${pathId(id)}`);
        return 1;
      }
    }
    const to = target;
    return deployAndWait(ctx, async () => written(await ctx.client.call('PUT', `/v2/apps${pathId(id)}${forceQuery(ctx)}`, { version: to }), `Rolling app ${pathId(id)} back to ${to}`));
  }));
}

function showApp(ctx: ClientContext, app: Json): void {
  const { out } = ctx;
  const [running, healthy, asked] = instanceCounts(app);
  const ports = Array.isArray(app.portDefinitions) ? (app.portDefinitions as Json[]).map((p) => `${String(p.port)}${p.name === undefined ? '' : `(${String(p.name)})`}`).join(', ') : '';
  const map = (value: unknown): string => Object.entries((value ?? {}) as Json).map(([k, v]) => `${k}=${String(v)}`).join(' ') || '-';
  const failure = app.lastTaskFailure as Json | undefined;
  out.fields([
    ['id', String(app.id)],
    ['cmd', command(app) || '-'],
    ['instances', `${running} running, ${healthy} healthy, ${asked} asked`],
    ['resources', `cpus ${String(app.cpus)} · mem ${String(app.mem)} · disk ${String(app.disk)}`],
    ['service ports', ports || '-'],
    ['labels', map(app.labels)],
    ['env', map(app.env)],
    ['constraints', JSON.stringify(app.constraints ?? [])],
    ['health checks', String(Array.isArray(app.healthChecks) ? app.healthChecks.length : 0)],
    ['version', String(app.version)],
    ['deployments', deploymentIds(app)],
    ...(failure !== undefined ? [['last failure', `${String(failure.taskId)} ${String(failure.state)} at ${String(failure.timestamp)}: ${String(failure.message)}`] as const] : []),
  ]);
  const tasks = Array.isArray(app.tasks) ? (app.tasks as Json[]) : [];
  if (tasks.length > 0) {
    out.line();
    printTasks(ctx, tasks, false);
  }
}
