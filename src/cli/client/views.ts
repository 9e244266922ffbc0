import type { ClientContext } from './command-kit.ts';
import { formatAge } from './core/durations.ts';

type Json = Record<string, unknown>;

/** Running, healthy (`-` without health checks) and asked instances of Marathon's app JSON. */
export function instanceCounts(app: Json): [running: string, healthy: string, asked: string] {
  const checked = Array.isArray(app.healthChecks) && app.healthChecks.length > 0;
  return [String(app.tasksRunning ?? 0), checked ? String(app.tasksHealthy ?? 0) : '-', String(app.instances ?? 0)];
}

/** `healthy`, `unhealthy`, or `-` while a task has no health results. */
function health(task: Json): string {
  const results = Array.isArray(task.healthCheckResults) ? (task.healthCheckResults as Json[]) : [];
  if (results.length === 0) return '-';
  return results.every((r) => r.alive === true) ? 'healthy' : 'unhealthy';
}

/** The task table of `task list` and `app show`. */
export function printTasks(ctx: ClientContext, tasks: readonly Json[], withApp: boolean): void {
  const { out } = ctx;
  const now = Date.now();
  const stateColour = (text: string): string => (text === 'TASK_RUNNING' ? out.green(text) : /FAILED|LOST|GONE|UNREACHABLE/.test(text) ? out.red(text) : out.yellow(text));
  out.table(
    [
      // A cut id still names its task: task kill and logs take a unique prefix.
      { header: 'ID', shrink: true, min: 20 }, ...(withApp ? [{ header: 'APP' }] : []), { header: 'HOST' }, { header: 'PORTS' },
      { header: 'STATE', style: stateColour }, { header: 'HEALTH' }, { header: 'AGE', align: 'right' as const },
    ],
    tasks.map((t) => [
      String(t.id), ...(withApp ? [String(t.appId)] : []), String(t.host), Array.isArray(t.ports) ? t.ports.join(',') : '',
      String(t.state), health(t), formatAge(Date.parse(String(t.startedAt ?? t.stagedAt)), now),
    ]),
  );
}
