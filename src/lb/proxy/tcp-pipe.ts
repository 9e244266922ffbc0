import { connect, type Socket } from 'node:net';
import type { Logger } from '../../shared/log.ts';
import { backendKey, type Balancer } from '../core/balancer.ts';
import { inRanges } from '../core/cidr.ts';
import type { Backend, BackendPool } from '../core/routing-table.ts';
import type { RouteStats } from '../stats/route-stats.ts';

export interface TcpPipeContext {
  readonly balancer: Balancer;
  readonly stats: RouteStats;
  readonly logger: Logger;
  /** Registers an upstream socket so that shutdown can destroy it. */
  readonly track: (socket: Socket) => void;
}

/**
 * Connects `client` (plain, or the clear side of a TLS socket) to a backend of `pool` and pipes
 * bytes both ways, half-close included. A backend that refuses the connection is skipped for
 * the next one (nothing has been sent yet, so this is always safe); the client is closed when
 * none accepts, or when its address is outside the pool's network ACL.
 */
export function pipeToPool(client: Socket, pool: BackendPool, context: TcpPipeContext): void {
  const { balancer, stats, logger } = context;
  if (pool.allowedNetworks.length > 0 && !inRanges(client.remoteAddress, pool.allowedNetworks)) {
    stats.denied(pool.id);
    client.destroy();
    return;
  }
  if (pool.backends.length === 0) {
    stats.noBackend(pool.id);
    client.destroy();
    return;
  }
  stats.request(pool.id);
  let upstream: Socket | undefined;
  let connected = false;
  // Until connected the client's bytes wait in its buffer. A graceful close travels through the
  // pipes as end(), so pending bytes still flush; only a failure (or a close before the backend
  // answered) cuts the other side.
  client.on('error', () => undefined);
  client.once('close', (hadError) => {
    if (hadError || !connected) upstream?.destroy();
  });

  const tried = new Set<string>();
  const attempt = (): void => {
    const backend = balancer.pick(pool, { clientAddress: client.remoteAddress, exclude: tried }, Date.now()) as Backend;
    tried.add(backendKey(backend));
    const socket = connect({ host: backend.host, port: backend.port, allowHalfOpen: true });
    upstream = socket;
    context.track(socket);
    const onConnectError = (err: NodeJS.ErrnoException): void => {
      socket.destroy();
      balancer.failed(backend, Date.now());
      if (client.destroyed) return;
      if (tried.size < pool.backends.length) {
        logger.debug({ pool: pool.id, backend: backend.taskId, code: err.code }, 'backend refused, trying another');
        attempt();
        return;
      }
      stats.upstreamError(pool.id);
      logger.warn({ pool: pool.id, backend: backend.taskId, code: err.code }, 'no backend accepted the connection');
      client.destroy();
    };
    socket.once('error', onConnectError);
    socket.once('connect', () => {
      socket.off('error', onConnectError);
      connected = true;
      balancer.started(backend);
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.once('close', (hadError) => {
        balancer.finished(backend, !hadError, Date.now());
        if (hadError) client.destroy();
      });
      client.pipe(socket);
      socket.pipe(client);
    });
  };
  attempt();
}
