import type { Grant, Identity } from '../types.ts';
import { jobPath } from './paths.ts';
import { filterReadable } from './policy.ts';

type Who = Pick<Identity, 'id' | 'groups'>;

interface GroupNode {
  id: string;
  apps?: unknown[];
  groups?: unknown[];
  [key: string]: unknown;
}

const record = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function keepReadable(items: unknown, field: 'id' | 'appId' | 'group', readable: (path: string) => boolean): unknown {
  if (!Array.isArray(items)) return items;
  return items.filter((item) => record(item) && typeof item[field] === 'string' && readable(item[field]));
}

/** A group tree with only the readable apps, and the groups on the way to them (a readable group is kept whole). */
function pruneGroup(node: GroupNode, readable: (path: string) => boolean): GroupNode | undefined {
  if (readable(node.id)) return node;
  const apps = keepReadable(node.apps, 'id', readable) as unknown[] | undefined;
  const groups = (node.groups ?? []).flatMap((child) => {
    const kept = record(child) && typeof child.id === 'string' ? pruneGroup(child as GroupNode, readable) : undefined;
    return kept === undefined ? [] : [kept];
  });
  if ((apps?.length ?? 0) === 0 && groups.length === 0 && node.id !== '/') return undefined;
  return { ...node, apps: apps ?? [], groups };
}

/** A Mesos framework with only the tasks of readable apps (its own fields, and the agents' totals, stay). */
function pruneFramework(framework: unknown, readable: (path: string) => boolean, appOfTask: (taskId: string) => string): unknown {
  if (!record(framework)) return framework;
  const keep = (tasks: unknown): unknown =>
    Array.isArray(tasks) ? tasks.filter((task) => record(task) && typeof task.id === 'string' && readable(appOfTask(task.id))) : tasks;
  return { ...framework, tasks: keep(framework.tasks), unreachable_tasks: keep(framework.unreachable_tasks), completed_tasks: keep(framework.completed_tasks) };
}

/** A deployment concerns every app of its plan; whoever may read one of them sees it whole, as DC/OS shows it. */
const deploymentReadable = (deployment: unknown, readable: (path: string) => boolean): boolean =>
  record(deployment) && Array.isArray(deployment.affectedApps) && deployment.affectedApps.some((id) => typeof id === 'string' && readable(id));

/** Whether `who` may read a path (an app or group id). */
export const readableBy = (grants: readonly Grant[], who: Who) => (path: string): boolean => filterReadable(grants, who, [path]).length === 1;

/** The routes whose answers filterListing trims (the route table says `filter-listing` for them). */
export const FILTERED_ROUTES = [
  '/v2/apps', '/v2/tasks', '/v2/groups', '/v2/groups/*', '/v2/deployments', '/v2/queue',
  '/master/state', '/master/state.json', '/corral/v1/discovery', '/v2/quotas',
  '/state', '/state.json', '/master/frameworks', '/frameworks', '/master/tasks', '/tasks', '/v1/jobs',
] as const;

const MESOS_STATE_ROUTES: ReadonlySet<string> = new Set(['/master/state', '/master/state.json', '/state', '/state.json', '/master/frameworks', '/frameworks']);

/**
 * A listing answer with only what `who` may read: `/v2/apps`, `/v2/tasks`, a `/v2/groups` tree,
 * `/v2/deployments` (those with a readable app), `/v2/queue`, the Mesos `/master/state*` and
 * `/master/frameworks` (tasks of readable apps; agents, with their totals, stay), `/master/tasks`, the discovery snapshot DNS and LB read
 * (apps and tasks; agents stay), `/v2/quotas` (readable groups), `/v1/jobs` (jobs by their path). `appOfTask` names a task's app (Mesos tasks carry only their
 * id). Other answers (errors, plain text) pass as they are.
 */
export function filterListing(route: string, payload: unknown, grants: readonly Grant[], who: Who, appOfTask: (taskId: string) => string = () => '/'): unknown {
  const readable = readableBy(grants, who);
  if (route === '/v2/deployments' && Array.isArray(payload)) return payload.filter((d) => deploymentReadable(d, readable));
  if (route === '/v1/jobs' && Array.isArray(payload)) return payload.filter((job) => record(job) && typeof job.id === 'string' && readable(jobPath(job.id)));
  if (!record(payload)) return payload;
  if (route === '/v2/apps' && Array.isArray(payload.apps)) return { ...payload, apps: keepReadable(payload.apps, 'id', readable) };
  if (route === '/v2/tasks' && Array.isArray(payload.tasks)) return { ...payload, tasks: keepReadable(payload.tasks, 'appId', readable) };
  if (route === '/v2/quotas' && Array.isArray(payload.quotas)) return { ...payload, quotas: keepReadable(payload.quotas, 'group', readable) };
  if (route.startsWith('/v2/groups') && typeof payload.id === 'string') {
    return pruneGroup(payload as GroupNode, readable) ?? { ...payload, apps: [], groups: [] };
  }
  if (route === '/v2/queue' && Array.isArray(payload.queue)) {
    return { ...payload, queue: payload.queue.filter((entry) => record(entry) && record(entry.app) && typeof entry.app.id === 'string' && readable(entry.app.id)) };
  }
  if (MESOS_STATE_ROUTES.has(route) && Array.isArray(payload.frameworks)) {
    return { ...payload, frameworks: payload.frameworks.map((f) => pruneFramework(f, readable, appOfTask)) };
  }
  // Mesos' /master/tasks: the handler pages the readable tasks (api/auth-hook.ts taskReader); this trims again, whatever it did.
  if ((route === '/master/tasks' || route === '/tasks') && Array.isArray(payload.tasks)) {
    return { ...payload, tasks: payload.tasks.filter((task) => record(task) && typeof task.id === 'string' && readable(appOfTask(task.id))) };
  }
  if (route === '/corral/v1/discovery' && Array.isArray(payload.apps) && Array.isArray(payload.tasks)) {
    return { ...payload, apps: keepReadable(payload.apps, 'id', readable), tasks: keepReadable(payload.tasks, 'appId', readable) };
  }
  return payload;
}
