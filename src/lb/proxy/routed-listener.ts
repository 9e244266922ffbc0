import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { TableSource } from '../../events/table-holder.ts';
import type { Logger } from '../../shared/log.ts';
import type { ClientLimits } from '../config.ts';
import type { BackendPool, RoutingTable } from '../core/routing-table.ts';
import type { RouteStats } from '../stats/route-stats.ts';
import { sendText, type HttpForwarder } from './http-forwarder.ts';
import type { ListenerInfo } from './http-policy.ts';
import { createProxyServer } from './http-server.ts';
import { closeServer, listen, trackConnections } from './listen.ts';

export interface RoutedListenerOptions {
  readonly bind: string;
  readonly port: number;
  readonly tables: TableSource<RoutingTable>;
  readonly forwarder: HttpForwarder;
  readonly stats: RouteStats;
  readonly logger: Logger;
  readonly limits: ClientLimits;
  /** HTTPS: the certificate choice (SNI) and the default certificate. */
  readonly tls?: Pick<TlsOptions, 'SNICallback'> & SecureContextOptions;
  /** The pool a request goes to, from the table read once for it; undefined → 503 `why`. */
  readonly route: (table: RoutingTable, req: IncomingMessage) => BackendPool | undefined;
  readonly why: (req: IncomingMessage) => string;
}

/**
 * A shared frontend that never closes while the LB runs: the vhost HTTP and HTTPS ports
 * (marathon-lb's `marathon_http_in` / `marathon_https_in`) and the `X-Marathon-App-Id` port.
 * Each request reads the table once, so a swap never splits one request across two tables.
 */
export class RoutedListener {
  readonly #options: RoutedListenerOptions;
  readonly #server: Server;
  readonly #sockets: Set<Socket>;
  /** Known once bound (the port may be ephemeral); one object for every request. */
  #info: ListenerInfo;

  constructor(options: RoutedListenerOptions) {
    this.#options = options;
    const { tables, forwarder, stats } = options;
    this.#info = { port: options.port, proto: options.tls ? 'https' : 'http' };
    this.#server = createProxyServer({
      limits: options.limits,
      ...(options.tls ? { tls: options.tls } : {}),
      onClientError: (reason) => stats.clientError(reason),
      onRequest: (req, res) => {
        const pool = options.route(tables.current, req);
        if (pool === undefined) {
          stats.noRoute();
          sendText(res, 503, `503 Service Unavailable: ${options.why(req)}\n`);
          return;
        }
        forwarder.forward(req, res, pool, this.#info);
      },
      onUpgrade: (req, socket, head) => {
        const pool = options.route(tables.current, req);
        if (pool === undefined) {
          stats.noRoute();
          socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        forwarder.upgrade(req, socket, head, pool, this.#info);
      },
    });
    this.#sockets = trackConnections(this.#server, stats.active);
  }

  /** Binds and returns the port actually bound. */
  async listen(): Promise<number> {
    this.#info = { ...this.#info, port: await listen(this.#server, this.#options.bind, this.#options.port) };
    return this.#info.port;
  }

  get port(): number {
    return this.#info.port;
  }

  /** Stops listening and cuts open connections (shutdown). */
  close(): Promise<void> {
    return closeServer(this.#server, this.#sockets, true);
  }
}
