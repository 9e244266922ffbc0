import { fastify, type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { formatHostPort, type HostPort } from '../../shared/address.ts';
import type { Logger } from '../../shared/log.ts';
import { withTls, type ServerTls } from '../../shared/tls.ts';
import { appRoutes } from '../core/route-lookup.ts';
import { EMPTY_ROUTING_TABLE, type RoutingTable } from '../core/routing-table.ts';

/**
 * What the stats port reports; main.ts assembles it from the live parts (this process', or the
 * merged answers of `--workers` workers, hence the promises).
 */
export interface StatsSources {
  health(): { readonly synced: boolean } | Promise<{ readonly synced: boolean }>;
  /** `{table, …}`: the routing table (a worker's as JSON of the same shape) and what goes with it. */
  routes(): unknown;
  stats(): unknown;
  /** Prometheus text exposition. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** HAProxy's stats CSV. */
  haproxyCsv(): string | Promise<string>;
}

export interface StatsServerOptions {
  readonly bind: string;
  readonly port: number;
  readonly logger: Logger;
  readonly sources: StatsSources;
  /** Serve HTTPS with this certificate and key. */
  readonly tls?: ServerTls | undefined;
  /** The shared HTTP and HTTPS ports the proxies bound (none on an east-west LB), named in `?app=` answers. */
  readonly listening?: () => { readonly http?: HostPort; readonly https?: HostPort };
}

/**
 * `--stats-port`: health, the routing table and counters as JSON, and Prometheus metrics. Every answer, errors included,
 * is JSON with a `message` on failure, like the scheduler's API.
 */
export class StatsServer {
  readonly #options: StatsServerOptions;
  readonly #app: FastifyInstance;

  constructor(options: StatsServerOptions) {
    this.#options = options;
    // Our own logger reports errors; fastify's per-request logging would drown the LB's lines.
    const app = fastify(withTls({ logger: false, forceCloseConnections: true }, options.tls));
    const { sources, logger } = options;

    // 503 until the first snapshot: an LB that knows no routes should not receive traffic yet.
    app.get('/_corral/health', async (_request, reply) => {
      const health = await sources.health();
      return reply.code(health.synced ? 200 : 503).send(health);
    });
    // `?app=<id>`: that app's part only (the scheduler asks it for the web UI's "How to reach it").
    app.get<{ Querystring: { app?: string } }>('/_corral/routes', async (request) => {
      const answer = (await sources.routes()) as { table?: RoutingTable };
      if (request.query.app === undefined) return answer;
      const shared = options.listening?.() ?? {};
      const listening = {
        ...(shared.http === undefined ? {} : { http: formatHostPort(shared.http) }),
        ...(shared.https === undefined ? {} : { https: formatHostPort(shared.https) }),
      };
      return { ...appRoutes(answer.table ?? EMPTY_ROUTING_TABLE, request.query.app), listening };
    });
    app.get('/_corral/stats', async () => sources.stats());
    // COMPAT(marathon-lb): `/haproxy?stats;csv`, the URL its tools poll.
    app.get('/haproxy', async (request, reply) => {
      if (!request.url.includes('csv')) return reply.code(404).send({ message: 'only /haproxy?stats;csv is served' });
      return reply.type('text/plain; charset=utf-8').send(await sources.haproxyCsv());
    });
    app.get('/metrics', async (_request, reply) => {
      const { contentType, body } = await sources.metrics();
      return reply.type(contentType).send(body);
    });

    app.setNotFoundHandler(async (request, reply) =>
      reply.code(404).send({ message: `no such endpoint: ${request.method} ${request.url.split('?')[0] ?? ''}` }),
    );
    app.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
      const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
      if (status >= 500) logger.error({ err: error.message, url: request.url }, 'stats endpoint failed');
      return reply.code(status).send({ message: status >= 500 ? 'internal error' : error.message });
    });
    this.#app = app;
  }

  /** Binds and returns the port actually bound. */
  async listen(): Promise<number> {
    await this.#app.listen({ host: this.#options.bind, port: this.#options.port });
    return (this.#app.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return this.#app.close();
  }
}
