import type { Action } from '../types.ts';
import { jobPath } from './paths.ts';

/**
 * What a scheduler route asks of the caller, decided from the route pattern (fastify's, e.g.
 * `/v2/apps/*`), its params and body, before the handler runs:
 * - `open`: no credentials (health checks);
 * - `agent`: the agent protocol, admitted by its own credentials (agent admission), not by a user's;
 * - `authenticated`: any identity (who am I, may I);
 * - `filter-listing`: any identity, and the answer shows only what it may read;
 * - `{action, paths}`: that action on every path (an app or group id; `/` for cluster-wide ones);
 * - `{all}`: each of those (a batch that creates some apps and updates others).
 */
export interface Ask { action: Action; paths: string[] }
export type RouteRequirement = 'open' | 'agent' | 'authenticated' | 'filter-listing' | Ask | { all: Ask[] };

export interface RouteRequest {
  method: string;
  /** The route as registered, e.g. `/v2/apps/*`. */
  route: string;
  params: Readonly<Record<string, string | undefined>>;
  body: unknown;
  /** The app a task belongs to, for kills by task id. */
  appOfTask: (taskId: string) => string;
  /** Whether an app exists: a PUT that creates one asks `create`. */
  appExists: (appId: string) => boolean;
  /** The apps of a deployment's plan; undefined for an unknown deployment. */
  appsOfDeployment: (deploymentId: string) => readonly string[] | undefined;
}

const AGENT_API = '/corral/v1/agents';
const CLUSTER = (action: Action): RouteRequirement => ({ action, paths: ['/'] });
const READ_ALL = CLUSTER('read');
const ADMIN = CLUSTER('admin');

/** `web`, `/web/` → `/web`: ids as Marathon resolves them against the root (a `..` stays, and is refused by authorize). */
function absolute(id: string): string {
  const trimmed = id.replace(/\/+$/, '');
  return trimmed.startsWith('/') ? trimmed || '/' : `/${trimmed}`;
}

const idOf = (body: unknown): string | undefined =>
  typeof body === 'object' && body !== null && 'id' in body && typeof body.id === 'string' ? body.id : undefined;

/** The ids of a bulk app write (`[{id}, ...]`); one without an id is asked on `/`. */
function bodyIds(body: unknown): string[] {
  const items = Array.isArray(body) ? body : [body];
  const ids = items.map((item) => absolute(idOf(item) ?? '/'));
  return ids.length === 0 ? ['/'] : ids;
}

/**
 * `/v2/apps/<id>/<sub-resource>` → the app id and sub-resource, as the apps routes split them.
 * Stripping a suffix that was in fact part of an id yields a group above the app, which needs
 * a broader grant, never a narrower one.
 */
export function appPathOf(wildcard: string): { id: string; sub: 'app' | 'tasks' | 'versions' | 'restart' } {
  const patterns: Array<[RegExp, 'tasks' | 'versions' | 'restart']> = [
    [/^(.+)\/tasks(?:\/[^/]+)?\/?$/, 'tasks'],
    [/^(.+)\/versions(?:\/[^/]+)?\/?$/, 'versions'],
    [/^(.+)\/restart\/?$/, 'restart'],
  ];
  for (const [pattern, sub] of patterns) {
    const match = pattern.exec(wildcard);
    if (match !== null) return { id: absolute(match[1] ?? ''), sub };
  }
  return { id: absolute(wildcard), sub: 'app' };
}

function groupPathOf(wildcard: string): string {
  const versions = /^(?:(.*)\/)?versions(?:\/[^/]+)?$/.exec(wildcard);
  return absolute(versions === null ? wildcard : (versions[1] ?? ''));
}

function taskIdsOf(body: unknown): string[] {
  const ids = typeof body === 'object' && body !== null && 'ids' in body && Array.isArray(body.ids) ? body.ids : [];
  return ids.filter((id): id is string => typeof id === 'string');
}

/** The scope asked of `POST /corral/v1/agents/{id}/token` (`metrics` unless said). */
export const scopeOf = (body: unknown): string =>
  typeof body === 'object' && body !== null && 'scope' in body && typeof body.scope === 'string' ? body.scope : 'metrics';

/** A job id as its path; a body without one is asked on `/` (and then refused by validation). */
const jobPathOf = (jobId: string | undefined): string => (jobId === undefined || jobId === '' ? '/' : jobPath(jobId));

type Rule = (request: RouteRequest) => RouteRequirement;

/** `GET /master/<name>` and `GET /<name>`, each with the rule. */
const mesosRoutes = (names: readonly string[], rule: Rule): Record<string, Rule> =>
  Object.fromEntries(names.flatMap((name) => [[`GET /master/${name}`, rule], [`GET /${name}`, rule]]));

/** A PUT creates the apps that do not exist yet: `create` on those, `update` on the others. */
function putApps(request: RouteRequest, ids: string[]): RouteRequirement {
  const asks = (['create', 'update'] as const)
    .map((action): Ask => ({ action, paths: ids.filter((id) => request.appExists(id) === (action === 'update')) }))
    .filter((ask) => ask.paths.length > 0);
  return asks.length === 1 ? (asks[0] as Ask) : { all: asks };
}

const wildcard = (request: RouteRequest): string => request.params['*'] ?? '';

/** Every route the scheduler registers, by `METHOD route`; a route missing here is refused at start-up. */
export const ROUTE_RULES: Readonly<Record<string, Rule>> = {
  'GET /ping': () => 'open',
  'GET /v2/leader': () => 'authenticated',
  'GET /v2/info': () => 'authenticated',
  'DELETE /v2/leader': () => ADMIN,
  'GET /metrics': () => READ_ALL,
  // DNS and LB read it with a read-only token (`read` on /, everything); a team's token sees its apps.
  'GET /corral/v1/discovery': () => 'filter-listing',
  // The Mesos master endpoints (api/master-state.ts), at /master/X and /X as Mesos serves them:
  // task lists show the readable tasks; agents, roles, counts, metrics and flags are the cluster's.
  ...mesosRoutes(['state', 'state.json', 'frameworks', 'tasks'], () => 'filter-listing'),
  ...mesosRoutes(['slaves', 'roles', 'state-summary', 'flags'], () => READ_ALL),
  ...mesosRoutes(['redirect'], () => 'authenticated'),
  ...mesosRoutes(['health'], () => 'open'),
  'GET /version': () => 'open',
  // The web UI's static files hold no data (the API calls they make carry the token); `/` sends browsers there.
  'GET /': () => 'open',
  'GET /ui': () => 'open',
  'GET /ui/*': () => 'open',
  'GET /metrics/snapshot': () => READ_ALL,
  // Any identity subscribes; api/events.ts sends each one only the events it may read (core/event-scope.ts).
  'GET /v2/events': () => 'authenticated',

  'GET /v2/apps': () => 'filter-listing',
  'POST /v2/apps': (r) => ({ action: 'create', paths: bodyIds(r.body) }),
  'PUT /v2/apps': (r) => putApps(r, bodyIds(r.body)),
  'PATCH /v2/apps': (r) => ({ action: 'update', paths: bodyIds(r.body) }),
  'GET /v2/apps/*': (r) => ({ action: 'read', paths: [appPathOf(wildcard(r)).id] }),
  'PUT /v2/apps/*': (r) => putApps(r, [appPathOf(wildcard(r)).id]),
  'PATCH /v2/apps/*': (r) => ({ action: 'update', paths: [appPathOf(wildcard(r)).id] }),
  'POST /v2/apps/*': (r) => ({ action: 'restart', paths: [appPathOf(wildcard(r)).id] }),
  'DELETE /v2/apps/*': (r) => {
    const { id, sub } = appPathOf(wildcard(r));
    return { action: sub === 'app' ? 'delete' : 'kill-tasks', paths: [id] };
  },

  'GET /v2/groups': () => 'filter-listing',
  'GET /v2/groups/*': (r) => {
    const id = groupPathOf(wildcard(r));
    return id === '/' ? 'filter-listing' : { action: 'read', paths: [id] };
  },
  'POST /v2/groups': (r) => ({ action: 'create', paths: [absolute(idOf(r.body) ?? '/')] }),
  'PUT /v2/groups': () => CLUSTER('update'),
  'PUT /v2/groups/*': (r) => ({ action: 'update', paths: [groupPathOf(wildcard(r))] }),
  'DELETE /v2/groups/*': (r) => ({ action: 'delete', paths: [groupPathOf(wildcard(r))] }),

  'GET /v2/tasks': () => 'filter-listing',
  'POST /v2/tasks/delete': (r) => {
    const paths = taskIdsOf(r.body).map(r.appOfTask);
    return { action: 'kill-tasks', paths: paths.length === 0 ? ['/'] : paths };
  },
  'GET /v2/queue': () => 'filter-listing',
  'DELETE /v2/queue/*': (r) => ({ action: 'update', paths: [absolute(wildcard(r).replace(/\/delay\/?$/, ''))] }),
  'GET /v2/deployments': () => 'filter-listing',
  // Rolling back (or stopping) a deployment changes every app of its plan; an unknown one is asked on /.
  'DELETE /v2/deployments/:id': (r) => {
    const apps = r.appsOfDeployment(r.params.id ?? '') ?? [];
    return { action: 'update', paths: apps.length === 0 ? ['/'] : [...apps] };
  },

  [`POST ${AGENT_API}/register`]: () => 'agent',
  [`GET ${AGENT_API}/:agentId/commands`]: () => 'agent',
  [`POST ${AGENT_API}/:agentId/heartbeat`]: () => 'agent',
  [`POST ${AGENT_API}/:agentId/status`]: () => 'agent',
  [`POST ${AGENT_API}/:agentId/volumes/destroyed`]: () => 'agent',
  [`POST ${AGENT_API}/:agentId/drain`]: () => ADMIN,
  [`DELETE ${AGENT_API}/:agentId/drain`]: () => ADMIN,
  [`DELETE ${AGENT_API}/:agentId/credential`]: () => ADMIN,
  [`GET ${AGENT_API}`]: () => ADMIN,
  // Tokens for an agent's own API (core/agent-tokens.ts): a task's sandbox needs `logs` on its app;
  // metrics and state need `read` on `/`; every sandbox of an agent (scope agent) `logs` on `/`.
  'POST /corral/v1/tasks/:taskId/files-token': (r) => ({ action: 'logs', paths: [r.appOfTask(r.params.taskId ?? '')] }),
  // The same sandbox read through the scheduler (the web UI's logs, src/scheduler/api/task-files.ts).
  'GET /corral/v1/tasks/:taskId/files/read': (r) => ({ action: 'logs', paths: [r.appOfTask(r.params.taskId ?? '')] }),
  'GET /corral/v1/tasks/:taskId/files/download': (r) => ({ action: 'logs', paths: [r.appOfTask(r.params.taskId ?? '')] }),
  // The app's DNS records and LB routes (api/reach.ts): what reading the app shows, from the followers.
  'GET /corral/v1/reach/*': (r) => ({ action: 'read', paths: [absolute(wildcard(r))] }),
  [`POST ${AGENT_API}/:agentId/token`]: (r) => (scopeOf(r.body) === 'agent' ? CLUSTER('logs') : READ_ALL),

  'GET /v2/auth/whoami': () => 'authenticated',
  'POST /v2/auth/check': () => 'authenticated',
  'GET /v2/auth/tokens': () => ADMIN,
  'POST /v2/auth/tokens': () => ADMIN,
  'DELETE /v2/auth/tokens/:id': () => ADMIN,
  'GET /v2/auth/identities': () => ADMIN,
  'POST /v2/auth/identities': () => ADMIN,
  'DELETE /v2/auth/identities/:id': () => ADMIN,
  'GET /v2/auth/grants': () => ADMIN,
  'POST /v2/auth/grants': () => ADMIN,
  'DELETE /v2/auth/grants/:id': () => ADMIN,

  // Quotas: setting is the cluster admin's; reading one needs `read` on its group, the listing shows the readable ones.
  'GET /v2/quotas': () => 'filter-listing',
  'GET /v2/quotas/*': (r) => ({ action: 'read', paths: [absolute(wildcard(r))] }),
  'PUT /v2/quotas/*': () => ADMIN,
  'DELETE /v2/quotas/*': () => ADMIN,

  // A callback receives every event of every team, and its URL may hold the receiver's secret: the cluster admin's.
  'GET /v2/eventSubscriptions': () => ADMIN,
  'POST /v2/eventSubscriptions': () => ADMIN,
  'DELETE /v2/eventSubscriptions': () => ADMIN,

  // Metronome's jobs, by path (`team.nightly` → /team/nightly); a schedule is part of its job, so changing one is an update.
  'GET /v1/jobs': () => 'filter-listing',
  'POST /v1/jobs': (r) => ({ action: 'create', paths: [jobPathOf(idOf(r.body))] }),
  'GET /v1/jobs/:jobId': (r) => ({ action: 'read', paths: [jobPathOf(r.params.jobId)] }),
  'PUT /v1/jobs/:jobId': (r) => ({ action: 'update', paths: [jobPathOf(r.params.jobId)] }),
  'DELETE /v1/jobs/:jobId': (r) => ({ action: 'delete', paths: [jobPathOf(r.params.jobId)] }),
  'GET /v1/jobs/:jobId/schedules': (r) => ({ action: 'read', paths: [jobPathOf(r.params.jobId)] }),
  'POST /v1/jobs/:jobId/schedules': (r) => ({ action: 'update', paths: [jobPathOf(r.params.jobId)] }),
  'GET /v1/jobs/:jobId/schedules/:scheduleId': (r) => ({ action: 'read', paths: [jobPathOf(r.params.jobId)] }),
  'PUT /v1/jobs/:jobId/schedules/:scheduleId': (r) => ({ action: 'update', paths: [jobPathOf(r.params.jobId)] }),
  'DELETE /v1/jobs/:jobId/schedules/:scheduleId': (r) => ({ action: 'update', paths: [jobPathOf(r.params.jobId)] }),
  // COMPAT(dcos): starting and stopping a job's runs is `update` on the job, as DC/OS grants it.
  'GET /v1/jobs/:jobId/runs': (r) => ({ action: 'read', paths: [jobPathOf(r.params.jobId)] }),
  'POST /v1/jobs/:jobId/runs': (r) => ({ action: 'update', paths: [jobPathOf(r.params.jobId)] }),
  'GET /v1/jobs/:jobId/runs/:runId': (r) => ({ action: 'read', paths: [jobPathOf(r.params.jobId)] }),
  'POST /v1/jobs/:jobId/runs/:runId/actions/stop': (r) => ({ action: 'update', paths: [jobPathOf(r.params.jobId)] }),
};

/** What the route asks; undefined for a route the table does not know (refused: deny by default). */
export function routeRequirement(request: RouteRequest): RouteRequirement | undefined {
  // HEAD is answered by the GET route.
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  return ROUTE_RULES[`${method} ${request.route}`]?.(request);
}
