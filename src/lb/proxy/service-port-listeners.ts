import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../shared/log.ts';
import type { RoundRobin } from '../core/round-robin.ts';
import type { PortMode } from '../core/labels.ts';
import { findServicePortPool } from '../core/route-lookup.ts';
import type { RoutingTable } from '../core/routing-table.ts';
import type { TableSource } from '../routing-state.ts';
import type { RouteStats } from '../stats/route-stats.ts';
import { sendText, type HttpForwarder } from './http-forwarder.ts';
import { closeServer, listen, trackConnections } from './listen.ts';
import { pipeToPool } from './tcp-pipe.ts';

export interface ServicePortListenersOptions {
  readonly bind: string;
  readonly tables: TableSource;
  readonly forwarder: HttpForwarder;
  readonly picker: RoundRobin;
  readonly stats: RouteStats;
  readonly logger: Logger;
  /** Ports the LB itself holds (shared HTTP, stats): a service port there is refused up front. */
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
  readonly mode: PortMode;
  readonly server: Server;
  /** Client connections plus, in tcp mode, their upstream connections. */
  readonly sockets: Set<Socket>;
}

/**
 * One listener per service port, opened and closed individually as the table changes. Each
 * connection (tcp) or request (http) looks up its pool in the current table, so a change of
 * backends needs no reopen; only a new port, a gone port or a mode change touches a listener.
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
    const { logger } = this.#options;
    const wanted = new Map(Object.values(table.servicePorts).map((pool) => [pool.servicePort, pool]));

    for (const [port, listener] of this.#open) {
      if (wanted.get(port)?.mode === listener.mode) continue;
      this.#open.delete(port);
      // Existing connections drain (not awaited: a keep-alive client may hold on for long); only
      // new ones are refused. Shutdown cuts whatever is still draining.
      this.#draining.add(listener);
      void closeServer(listener.server, listener.sockets, false).then(() => this.#draining.delete(listener));
      logger.info({ port, mode: listener.mode }, 'service port closed');
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
      const listener = this.#create(port, pool.mode);
      try {
        await listen(listener.server, this.#options.bind, port);
      } catch (err) {
        fail(`cannot listen on ${this.#options.bind}:${port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        continue;
      }
      if (this.#closed) {
        await closeServer(listener.server, listener.sockets, true);
        return;
      }
      this.#open.set(port, listener);
      logger.info({ port, mode: pool.mode, app: pool.appId }, 'service port open');
    }
    this.#failures = failures;
  }

  #create(port: number, mode: PortMode): OpenListener {
    const { tables, forwarder, picker, stats, logger } = this.#options;
    if (mode === 'http') {
      const server = createHttpServer((req, res) => {
        const pool = findServicePortPool(tables.current, port);
        if (pool === undefined || pool.mode !== 'http') {
          sendText(res, 503, `503 Service Unavailable: nothing is routed to port ${port}\n`);
          return;
        }
        forwarder.forward(req, res, pool, port);
      });
      return { mode, server, sockets: trackConnections(server) };
    }
    const sockets = new Set<Socket>();
    const track = (socket: Socket): void => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    };
    const server = createTcpServer({ allowHalfOpen: true }, (client) => {
      track(client);
      const pool = findServicePortPool(tables.current, port);
      if (pool === undefined || pool.mode !== 'tcp') {
        client.destroy();
        return;
      }
      pipeToPool(client, pool, { picker, stats, logger, track });
    });
    return { mode, server, sockets };
  }
}
