import type { AddressInfo, Server, Socket } from 'node:net';

/**
 * Binds `server` and resolves with the port actually bound (port 0 = ephemeral). In a `--workers`
 * worker the primary binds it once and every worker accepts on that one socket (cluster's
 * SCHED_NONE); `exclusive` would give each worker a socket of its own, which fails on the second.
 */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, exclusive: false }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Counts open client connections (the active-connections gauge). */
export interface ConnectionGauge {
  inc(): void;
  dec(): void;
}

/** Every socket a server accepted and that is still open, so close() can end them. */
export function trackConnections(server: Server, gauge?: ConnectionGauge): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    gauge?.inc();
    socket.once('close', () => {
      sockets.delete(socket);
      gauge?.dec();
    });
  });
  return sockets;
}

/**
 * Stops accepting; with `destroy`, also cuts every open connection (shutdown must not wait for
 * idle keep-alive clients). Without it, open connections finish on their own (draining).
 */
export function closeServer(server: Server, sockets: Set<Socket>, destroy: boolean): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      if (destroy) for (const socket of sockets) socket.destroy();
      resolve();
      return;
    }
    server.close(() => resolve());
    if (destroy) for (const socket of sockets) socket.destroy();
  });
}
