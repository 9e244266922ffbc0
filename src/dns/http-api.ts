import Fastify, { type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { TableSource } from '../events/table-holder.ts';
import type { HostPort } from '../shared/address.ts';
import type { Logger } from '../shared/log.ts';
import { withTls, type ServerTls } from '../shared/tls.ts';
import { appRecords, enumerate, lookupHosts, lookupServices } from './core/lookup.ts';
import { axfrBody, configBody, versionBody, type ConfigFacts } from './core/mesos-dns-api.ts';
import type { RecordTable } from './core/record-types.ts';

/** What `/v1/health` reports about the follower. */
export interface HealthSource {
  readonly synced: boolean;
  readonly eventId: number;
  /** Epoch ms of the last contact with a scheduler; 0 before the first. */
  readonly lastContact: number;
  /** Discovery snapshots read: 1 after the first sync; a failover between schedulers adds none. */
  readonly snapshots: number;
}

export interface HttpApiOptions {
  host: string;
  port: number;
  tables: TableSource<RecordTable>;
  health: () => HealthSource;
  version: string;
  /** The settings `/v1/config` shows in Mesos-DNS' fields (the HTTP address is the one bound). */
  config: Omit<ConfigFacts, 'http'>;
  metrics: Registry;
  logger: Logger;
  now?: () => number;
  /** Serve HTTPS with this certificate and key. */
  tls?: ServerTls;
}

export interface HttpApi {
  readonly address: HostPort;
  close(): Promise<void>;
}

/** Mesos-DNS' HTTP interface over the current table; every body, errors included, is JSON. */
export async function startHttpApi(options: HttpApiOptions): Promise<HttpApi> {
  const app = Fastify(withTls({ logger: false, return503OnClosing: true }, options.tls));
  const address = { host: options.host, port: options.port };
  registerRoutes(app, options, address);
  await app.listen({ host: options.host, port: options.port });
  const bound = app.server.address();
  if (typeof bound === 'object' && bound !== null) address.port = bound.port;
  return { address, close: () => app.close() };
}

/** `http`: the address the API is served on (read per request: port 0 resolves at listen). */
export function registerRoutes(app: FastifyInstance, options: HttpApiOptions, http: HostPort): void {
  const now = options.now ?? Date.now;

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send({ message: `no route for ${request.method} ${request.url}` });
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, _request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) options.logger.error({ err: err.message }, 'http api error');
    void reply.code(status).send({ message: err.message });
  });

  app.get('/v1/version', async () => versionBody(options.version));
  app.get('/v1/config', async () => configBody({ ...options.config, http }, options.tables.current));
  app.get('/v1/axfr', async () => axfrBody(options.tables.current));
  app.get<{ Params: { host: string } }>('/v1/hosts/:host', async (request) => lookupHosts(options.tables.current, request.params.host));
  app.get<{ Params: { service: string } }>('/v1/services/:service', async (request) =>
    lookupServices(options.tables.current, request.params.service),
  );
  app.get('/v1/enumerate', async () => enumerate(options.tables.current));
  // Corral's: one app's records (the web UI's "How to reach it", through the scheduler), `*` = its id.
  app.get<{ Params: { '*': string } }>('/corral/v1/apps/*', async (request) => appRecords(options.tables.current, `/${request.params['*'].replace(/^\/+|\/+$/g, '')}`));
  app.get('/v1/health', async (_request, reply) => {
    const health = options.health();
    const table = options.tables.current;
    // Seconds since the last snapshot or event: after losing the scheduler the last table keeps
    // serving, and this says how old its picture of the cluster may be.
    const staleSeconds = health.lastContact === 0 ? null : Math.max(0, (now() - health.lastContact) / 1000);
    // 503 until the first snapshot: a probe must not route clients to a server that knows nothing.
    void reply.code(health.synced ? 200 : 503);
    return {
      synced: health.synced,
      eventId: health.eventId,
      snapshots: health.snapshots,
      staleSeconds,
      lastContact: health.lastContact === 0 ? null : new Date(health.lastContact).toISOString(),
      serial: table.soa.serial,
      names: table.names.size,
    };
  });
  app.get('/metrics', async (_request, reply) => reply.type(options.metrics.contentType).send(await options.metrics.metrics()));
}
