import { connect, type Socket } from 'node:net';
import type { Logger } from '../../shared/log.ts';
import type { RoundRobin } from '../core/round-robin.ts';
import type { Backend, BackendPool } from '../core/routing-table.ts';
import type { RouteStats } from '../stats/route-stats.ts';

export interface TcpPipeContext {
  readonly picker: RoundRobin;
  readonly stats: RouteStats;
  readonly logger: Logger;
  /** Registers an upstream socket so that shutdown can destroy it. */
  readonly track: (socket: Socket) => void;
}

/**
 * Connects `client` to a backend of `pool` and pipes bytes both ways, half-close included.
 * A backend that refuses the connection is skipped for the next one (nothing has been sent yet,
 * so this is always safe); the client is closed when none accepts.
 */
export function pipeToPool(client: Socket, pool: BackendPool, context: TcpPipeContext): void {
  if (pool.backends.length === 0) {
    context.stats.noBackend(pool.id);
    client.destroy();
    return;
  }
  context.stats.request(pool.id);
  let upstream: Socket | undefined;
  let connected = false;
  // Until connected the client's bytes wait in its buffer. A graceful close travels through the
  // pipes as end(), so pending bytes still flush; only a failure (or a close before the backend
  // answered) cuts the other side.
  client.on('error', () => undefined);
  client.once('close', (hadError) => {
    if (hadError || !connected) upstream?.destroy();
  });

  const attempt = (number: number): void => {
    const backend = context.picker.pick(pool.id, pool.backends) as Backend;
    const socket = connect({ host: backend.host, port: backend.port, allowHalfOpen: true });
    upstream = socket;
    context.track(socket);
    const onConnectError = (err: NodeJS.ErrnoException): void => {
      socket.destroy();
      if (client.destroyed) return;
      if (number < pool.backends.length) {
        context.logger.debug({ pool: pool.id, backend: backend.taskId, code: err.code }, 'backend refused, trying another');
        attempt(number + 1);
        return;
      }
      context.stats.upstreamError(pool.id);
      context.logger.warn({ pool: pool.id, backend: backend.taskId, code: err.code }, 'no backend accepted the connection');
      client.destroy();
    };
    socket.once('error', onConnectError);
    socket.once('connect', () => {
      socket.off('error', onConnectError);
      connected = true;
      socket.setNoDelay(true);
      socket.on('error', () => undefined);
      socket.once('close', (hadError) => {
        if (hadError) client.destroy();
      });
      client.pipe(socket);
      socket.pipe(client);
    });
  };
  attempt(1);
}
