import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { formatHostPort, parseHostPort } from '../../shared/address.ts';
import { mesosFrameworks, mesosMetricsSnapshot, mesosRoles, mesosSlaves, mesosStateSummary, mesosTasks, type MesosTasksQuery } from '../core/mesos-master.ts';
import { buildMesosState, UNSTAMPED_BUILD, type MesosState } from '../core/mesos-state.ts';
import { taskReader } from './auth-hook.ts';
import type { ApiContext } from './context.ts';
import { CORRAL_VERSION } from './info.ts';

/**
 * Mesos serves its master's endpoints at `/master/X` and, through libprocess' delegation, at
 * `/X` too: both are registered, one document each.
 */
const both = (name: string): string[] => [`/master/${name}`, `/${name}`];

/** Read-only Mesos master endpoints, so Mesos-DNS, the Mesos UI, exporters and other Mesos tools can read Corral. */
export const MASTER_STATE_PATHS = [...both('state'), ...both('state.json')];
export const MASTER_VIEW_PATHS = { slaves: both('slaves'), frameworks: both('frameworks'), tasks: both('tasks'), roles: both('roles'), 'state-summary': both('state-summary'), flags: both('flags'), health: both('health') } as const;
export const MASTER_REDIRECT_PATHS = both('redirect');
export const METRICS_SNAPSHOT_PATH = '/metrics/snapshot';
export const VERSION_PATH = '/version';

/** This build as Mesos describes its own: Corral has no build stamp, so the version only. */
export const CORRAL_BUILD = UNSTAMPED_BUILD(CORRAL_VERSION);

/**
 * The Mesos master endpoints (docs/mesos-endpoints.md): the state document (core/mesos-state.ts)
 * and views of it (core/mesos-master.ts), `/version`, `/health`, `/flags`, `/metrics/snapshot`,
 * and `/master/redirect`: 307 to the leader, which is this scheduler (a standby proxies it here).
 */
export function registerMasterStateRoutes(server: FastifyInstance, context: ApiContext): void {
  const stateOf = (request: FastifyRequest): MesosState =>
    buildMesosState(context.state.current, {
      advertised: reachableAddress(context.advertised, request),
      connectedAgents: context.links.connected(),
      startedAt: context.startedAt,
      completedTasks: context.completedTasks?.tasks ?? [],
      build: CORRAL_BUILD,
      flags: context.flags ?? {},
    });
  const get = (paths: readonly string[], answer: (request: FastifyRequest) => unknown): void => {
    for (const path of paths) server.get(path, async (request) => answer(request));
  };
  get(MASTER_STATE_PATHS, stateOf);
  get(MASTER_VIEW_PATHS.slaves, (request) => mesosSlaves(stateOf(request)));
  get(MASTER_VIEW_PATHS.frameworks, (request) => mesosFrameworks(stateOf(request)));
  // Mesos pages what the caller may see: a page holds `limit` readable tasks.
  get(MASTER_VIEW_PATHS.tasks, (request) => mesosTasks(stateOf(request), request.query as MesosTasksQuery, taskReader(request)));
  get(MASTER_VIEW_PATHS.roles, (request) => mesosRoles(stateOf(request)));
  get(MASTER_VIEW_PATHS['state-summary'], (request) => mesosStateSummary(stateOf(request)));
  get(MASTER_VIEW_PATHS.flags, () => ({ flags: context.flags ?? {} }));
  get([VERSION_PATH], () => CORRAL_BUILD);
  get([METRICS_SNAPSHOT_PATH], (request) =>
    mesosMetricsSnapshot(stateOf(request), {
      nowMs: Date.now(),
      endedByState: context.completedTasks?.endedByState ?? new Map(),
      system: { cpus: cpus().length, load: loadavg() as [number, number, number], memTotalBytes: totalmem(), memFreeBytes: freemem() },
    }),
  );
  // Mesos answers 200 with no body while it serves.
  for (const path of MASTER_VIEW_PATHS.health) server.get(path, async (_request, reply) => reply.code(200).send());

  // COMPAT(mesos): a protocol-relative `//host:port`, so that the client keeps the scheme it used.
  for (const path of MASTER_REDIRECT_PATHS) {
    server.get(path, async (request, reply) => reply.code(307).header('location', `//${reachableAddress(context.advertised, request)}`).send());
  }
}

/**
 * The address to hand out: the advertised one, unless it is a wildcard (`--listen 0.0.0.0:…`),
 * which no client can dial; then the local address this request came in on.
 */
function reachableAddress(advertised: string, request: FastifyRequest): string {
  let parsed;
  try {
    parsed = parseHostPort(advertised);
  } catch {
    return advertised;
  }
  if (!['0.0.0.0', '::', ''].includes(parsed.host)) return advertised;
  const local = request.socket.localAddress;
  if (local === undefined) return advertised;
  return formatHostPort({ host: local.replace(/^::ffff:/, ''), port: parsed.port });
}
