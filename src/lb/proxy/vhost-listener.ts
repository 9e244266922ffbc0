import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../shared/log.ts';
import { findVhostPool } from '../core/route-lookup.ts';
import type { TableSource } from '../routing-state.ts';
import type { RouteStats } from '../stats/route-stats.ts';
import { sendText, type HttpForwarder } from './http-forwarder.ts';
import { closeServer, listen, trackConnections } from './listen.ts';

export interface VhostListenerOptions {
  readonly bind: string;
  readonly port: number;
  readonly tables: TableSource;
  readonly forwarder: HttpForwarder;
  readonly stats: RouteStats;
  readonly logger: Logger;
}

/** The shared HTTP frontend: routes by Host and path prefix (marathon-lb's `marathon_http_in`). */
export class VhostListener {
  readonly #options: VhostListenerOptions;
  readonly #server: Server;
  readonly #sockets: Set<Socket>;
  #port = 0;

  constructor(options: VhostListenerOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => {
      // Read the table once: this request is routed by this table even if a swap happens meanwhile.
      const table = options.tables.current;
      const pool = findVhostPool(table, req.headers.host, req.url);
      if (pool === undefined) {
        options.stats.noRoute();
        sendText(res, 503, `503 Service Unavailable: no route for host '${req.headers.host ?? ''}'\n`);
        return;
      }
      options.forwarder.forward(req, res, pool, this.#port);
    });
    this.#sockets = trackConnections(this.#server);
  }

  /** Binds and returns the port actually bound. */
  async listen(): Promise<number> {
    this.#port = await listen(this.#server, this.#options.bind, this.#options.port);
    return this.#port;
  }

  get port(): number {
    return this.#port;
  }

  /** Stops listening and cuts open connections (shutdown). */
  close(): Promise<void> {
    return closeServer(this.#server, this.#sockets, true);
  }
}
