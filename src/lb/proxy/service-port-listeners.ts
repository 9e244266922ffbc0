import type { Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type TlsOptions } from 'node:tls';
import type { TableSource } from '../../events/table-holder.ts';
import type { Logger } from '../../shared/log.ts';
import type { ClientLimits } from '../config.ts';
import type { Balancer } from '../core/balancer.ts';
import { findServicePortPool } from '../core/route-lookup.ts';
import type { BackendPool, RoutingTable } from '../core/routing-table.ts';
import type { RouteStats } from '../stats/route-stats.ts';
import type { CertificateStore } from './certificates.ts';
import { sendText, type HttpForwarder } from './http-forwarder.ts';
import { createProxyServer } from './http-server.ts';
import { closeServer, listen, trackConnections } from './listen.ts';
import { pipeToPool } from './tcp-pipe.ts';

export interface ServicePortListenersOptions {
  readonly bind: string;
  readonly tables: TableSource<RoutingTable>;
  readonly forwarder: HttpForwarder;
  readonly balancer: Balancer;
  readonly stats: RouteStats;
  readonly logger: Logger;
  readonly limits: ClientLimits;
  readonly certificates: CertificateStore;
  /** Ports the LB itself holds (shared HTTP/HTTPS, app-id, stats): a service port there is refused up front. */
  readonly reservedPorts: ReadonlySet<number>;
}

/** A service port the table asks for but that could not be opened. */
export interface ListenerFailure {
  readonly port: number;
  readonly appId: string;
  readonly portIndex: number;
  readonly reason: string;
}

interface OpenListener {
  /** Mode, address and certificates: a listener is reopened only when this changes. */
  readonly shape: string;
  readonly server: Server | TcpServer;
  /** Client connections plus, in tcp mode, their upstream connections. */
  readonly sockets: Set<Socket>;
}

function shapeOf(pool: BackendPool, bind: string): string {
  return `${pool.mode} ${pool.bindAddr ?? bind} ${pool.sslCerts.join(',')}`;
}

/**
 * One listener per service port, opened and closed individually as the table changes. Each
 * connection (tcp) or request (http) looks up its pool in the current table, so a change of
 * backends needs no reopen; only a new port, a gone port, or a change of mode, bind address or
 * certificates touches a listener.
 */
export class ServicePortListeners {
  readonly #options: ServicePortListenersOptions;
  readonly #open = new Map<number, OpenListener>();
  /** Closed listeners whose connections are still finishing. */
  readonly #draining = new Set<OpenListener>();
  #failures = new Map<number, ListenerFailure>();
  /** Reconciles run one after another: binding is asynchronous and tables can arrive meanwhile. */
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: ServicePortListenersOptions) {
    this.#options = options;
  }

  /** Ports currently listening, ascending. */
  get ports(): number[] {
    return [...this.#open.keys()].sort((a, b) => a - b);
  }

  get failures(): ListenerFailure[] {
    return [...this.#failures.values()].sort((a, b) => a.port - b.port);
  }

  /** Brings the listeners in line with `table`; never rejects (a port that fails is recorded). */
  reconcile(table: RoutingTable): Promise<void> {
    this.#queue = this.#queue.then(() => this.#reconcile(table));
    return this.#queue;
  }

  /** Closes every listener and cuts every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    const all = [...this.#open.values(), ...this.#draining];
    this.#open.clear();
    this.#draining.clear();
    await Promise.all(all.map((listener) => closeServer(listener.server, listener.sockets, true)));
  }

  async #reconcile(table: RoutingTable): Promise<void> {
    if (this.#closed) return;
    const { logger, bind } = this.#options;
    const wanted = new Map(Object.values(table.servicePorts).map((pool) => [pool.servicePort, pool]));

    for (const [port, listener] of this.#open) {
      const pool = wanted.get(port);
      if (pool !== undefined && shapeOf(pool, bind) === listener.shape) continue;
      this.#open.delete(port);
      // Existing connections drain (not awaited: a keep-alive client may hold on for long); only
      // new ones are refused. Shutdown cuts whatever is still draining.
      this.#draining.add(listener);
      void closeServer(listener.server, listener.sockets, false).then(() => this.#draining.delete(listener));
      logger.info({ port, shape: listener.shape }, 'service port closed');
    }

    const failures = new Map<number, ListenerFailure>();
    for (const [port, pool] of wanted) {
      if (this.#open.has(port)) continue;
      const fail = (reason: string): void => {
        failures.set(port, { port, appId: pool.appId, portIndex: pool.portIndex, reason });
        // Log a failure once, not on every table swap while it persists.
        if (this.#failures.get(port)?.reason !== reason) logger.warn({ port, app: pool.appId, reason }, 'service port rejected');
      };
      if (this.#options.reservedPorts.has(port)) {
        fail(`port ${port} is one of the LB's own ports`);
        continue;
      }
      // Never serve in the clear a port that asked for TLS.
      if (pool.sslCerts.length > 0 && this.#tls(pool) === undefined) {
        fail(`certificate ${pool.sslCerts[0] ?? ''} is not loaded`);
        continue;
      }
      const listener = this.#create(port, pool);
      const address = pool.bindAddr ?? bind;
      try {
        await listen(listener.server, address, port);
      } catch (err) {
        fail(`cannot listen on ${address}:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        continue;
      }
      if (this.#closed) {
        await closeServer(listener.server, listener.sockets, true);
        return;
      }
      this.#open.set(port, listener);
      logger.info({ port, shape: listener.shape, app: pool.appId }, 'service port open');
    }
    this.#failures = failures;
  }

  /** TLS settings for a pool with certificates: SNI picks among them, the first is the default. */
  #tls(pool: BackendPool): (Pick<TlsOptions, 'SNICallback'> & SecureContextOptions) | undefined {
    const { certificates } = this.#options;
    const first = pool.sslCerts[0];
    const pem = first === undefined ? undefined : certificates.pem(first);
    if (pem === undefined) return undefined;
    const paths = pool.sslCerts;
    return {
      cert: pem,
      key: pem,
      SNICallback: (servername, callback) => {
        const path = certificates.match(paths, servername);
        callback(null, path === undefined ? undefined : certificates.context(path));
      },
    };
  }

  #create(port: number, pool: BackendPool): OpenListener {
    const { tables, forwarder, balancer, stats, logger, limits, bind } = this.#options;
    const shape = shapeOf(pool, bind);
    const tls = this.#tls(pool);
    const current = (mode: string): BackendPool | undefined => {
      const found = findServicePortPool(tables.current, port);
      return found?.mode === mode ? found : undefined;
    };
    if (pool.mode === 'http') {
      const info = { port, proto: tls ? 'https' : 'http' } as const;
      const server = createProxyServer({
        limits,
        ...(tls ? { tls } : {}),
        onClientError: (reason) => stats.clientError(reason),
        onRequest: (req, res) => {
          const found = current('http');
          if (found === undefined) sendText(res, 503, `503 Service Unavailable: nothing is routed to port ${port}\n`);
          else forwarder.forward(req, res, found, info);
        },
        onUpgrade: (req, socket, head) => {
          const found = current('http');
          if (found === undefined) socket.destroy();
          else forwarder.upgrade(req, socket, head, found, info);
        },
      });
      return { shape, server, sockets: trackConnections(server, stats.active) };
    }
    const sockets = new Set<Socket>();
    const track = (socket: Socket): void => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    };
    const onClient = (client: Socket): void => {
      track(client);
      const found = current('tcp');
      if (found === undefined) client.destroy();
      else pipeToPool(client, found, { balancer, stats, logger, track });
    };
    const server = tls
      ? createTlsServer({ ...tls, allowHalfOpen: true, handshakeTimeout: limits.headersTimeoutMs }, onClient)
      : createTcpServer({ allowHalfOpen: true }, onClient);
    // A TLS handshake failure concerns that client only.
    server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy());
    trackConnections(server, stats.active);
    return { shape, server, sockets };
  }
}
