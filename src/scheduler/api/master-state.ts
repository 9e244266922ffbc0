import type { FastifyInstance, FastifyRequest } from 'fastify';
import { formatHostPort, parseHostPort } from '../../shared/address.ts';
import { buildMesosState } from '../core/mesos-state.ts';
import type { ApiContext } from './context.ts';

/** Read-only Mesos master endpoints, so Mesos-DNS and other Mesos tools can read Corral. */
export const MASTER_STATE_PATHS = ['/master/state', '/master/state.json'] as const;
export const MASTER_REDIRECT_PATH = '/master/redirect';

/**
 * `GET /master/state` (alias `/master/state.json`): the cluster in Mesos' shape (see
 * core/mesos-state.ts); `GET /master/redirect`: 307 to the leader, which is this scheduler.
 */
export function registerMasterStateRoutes(server: FastifyInstance, context: ApiContext): void {
  for (const path of MASTER_STATE_PATHS) {
    server.get(path, async (request) =>
      buildMesosState(context.state.current, {
        advertised: reachableAddress(context.advertised, request),
        connectedAgents: context.links.connected(),
        startedAt: context.startedAt,
      }),
    );
  }

  // COMPAT(mesos): Mesos answers with a protocol-relative `//host:port`; an absolute http URL
  // is followed by the same clients and names the scheme Corral serves.
  server.get(MASTER_REDIRECT_PATH, async (request, reply) =>
    reply.code(307).header('location', `http://${reachableAddress(context.advertised, request)}`).send(),
  );
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
