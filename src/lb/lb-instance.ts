import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { readServiceToken } from '../auth/secret-files.ts';
import { ClusterFollower } from '../events/client.ts';
import { formatHostPort, type HostPort } from '../shared/address.ts';
import type { Logger } from '../shared/log.ts';
import type { LbConfig } from './config.ts';
import { LbConfigError, LbError } from './errors.ts';
import { Balancer, backendKey } from './core/balancer.ts';
import { findAppIdPool, findVhostPool, hostOfRequest } from './core/route-lookup.ts';
import type { RoutingTable } from './core/routing-table.ts';
import { CertificateStore } from './proxy/certificates.ts';
import { HttpForwarder } from './proxy/http-forwarder.ts';
import { RoutedListener } from './proxy/routed-listener.ts';
import { ServicePortListeners } from './proxy/service-port-listeners.ts';
import { RoutingTableHolder } from './routing-table-holder.ts';
import type { BackendState, TableBackends } from './stats/core/haproxy-csv.ts';
import { RouteStats, type StatsSnapshot } from './stats/route-stats.ts';

/** The shared ports an instance bound; all undefined for an east-west LB (`--no-http-https`). */
export interface SharedAddresses {
  readonly http?: HostPort;
  readonly https?: HostPort;
  readonly appId?: HostPort;
}

/** `/_corral/health` of one instance. */
export interface InstanceHealth {
  readonly synced: boolean;
  readonly eventId: number;
  readonly generation: number;
  /** Discovery snapshots read: 1 after the first sync; a failover between schedulers adds none. */
  readonly snapshots: number;
}

/** `/_corral/stats` of one instance. */
export interface InstanceStats extends StatsSnapshot {
  readonly generation: number;
  readonly eventId: number;
  /** Backends (`host:port`) passive health has ejected. */
  readonly ejected: readonly string[];
}

/**
 * Everything of `corral lb` but the stats port: follower, routing table, listeners, forwarder.
 * The whole LB in one process, or one `--workers` worker of several (each follows the cluster
 * itself: the table is a pure function of the view, so they agree without talking).
 */
export interface LbInstance {
  readonly bound: SharedAddresses;
  /** Starts following the cluster; `reserved` are the LB's other ports, which no service port may take. */
  follow(reserved: readonly number[]): void;
  health(): InstanceHealth;
  routes(): unknown;
  stats(): InstanceStats;
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  /** Prometheus text exposition. */
  metricsText(): Promise<{ contentType: string; body: string }>;
  /** What `/haproxy?stats;csv` is made of. */
  backends(): TableBackends;
  close(): Promise<void>;
}

/** Binds the shared HTTP, HTTPS and app-id ports; service ports open once the cluster is followed. */
export async function startLbInstance(config: LbConfig, logger: Logger): Promise<LbInstance> {
  const balancer = new Balancer({ random: Math.random });
  const stats = new RouteStats();
  const certificates = new CertificateStore();
  const forwarder = new HttpForwarder({ balancer, stats, logger });
  const closers: (() => Promise<void> | void)[] = [() => forwarder.close()];
  const close = async (): Promise<void> => {
    // Reverse order of start; closers.splice(0) makes a second close() a no-op.
    for (const closer of closers.reverse().splice(0)) {
      try {
        await closer();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'error while closing');
      }
    }
  };

  try {
    const badDefaults = certificates.refresh(config.sslCerts);
    if (badDefaults.size > 0) throw new LbConfigError(`--ssl-certs: ${[...badDefaults.values()].join('; ')}`);
    // Filled by follow(), once every port of the LB is bound (they may be ephemeral); no table arrives before that.
    const reservedPorts = new Set<number>();
    const tables = new RoutingTableHolder({
      groups: config.groups,
      strictMode: config.strictMode,
      debounceMs: config.debounceMs,
      checkCertificates: (paths) => certificates.refresh([...config.sslCerts, ...paths]),
      onSwap: (table, previous) => {
        logSwap(logger, tables.generation, table, previous);
        const pools = Object.values(table.servicePorts);
        balancer.retain(new Set(pools.map((pool) => pool.id)), new Set(pools.flatMap((pool) => [...pool.backends, ...pool.draining].map(backendKey))));
        stats.retain(new Set(pools.map((pool) => pool.id)));
        stats.generation.set(tables.generation);
        stats.lastChange.set(Date.now() / 1000);
        stats.rejectedRoutes.set(table.rejected.length);
        void servicePorts.reconcile(table).then(() => stats.failedListeners.set(servicePorts.failures.length));
      },
    });
    const servicePorts = new ServicePortListeners({ bind: config.bind, tables, forwarder, balancer, stats, logger, limits: config.limits, certificates, reservedPorts });
    closers.push(() => servicePorts.close());
    const token = config.tokenFile === undefined ? {} : { token: readServiceToken(config.tokenFile) };
    const follower = new ClusterFollower({ masters: config.masters, logger, onView: (view) => tables.offer(view), ...token, ...(config.ca !== undefined ? { ca: config.ca } : {}) });

    const shared = { bind: config.bind, tables, forwarder, stats, logger, limits: config.limits };
    const vhostRoute = (table: RoutingTable, req: { headers: { host?: string }; url?: string }) => findVhostPool(table, req.headers.host, req.url);
    const noVhost = (req: { headers: { host?: string } }) => `no route for host '${hostOfRequest(req.headers.host) ?? ''}'`;
    const bound: { http?: HostPort; https?: HostPort; appId?: HostPort } = {};
    if (config.httpHttps) {
      const defaultPem = config.sslCerts[0] === undefined ? undefined : certificates.pem(config.sslCerts[0]);
      const listeners: [keyof typeof bound, string, number, RoutedListener][] = [
        ['http', '--http-port', config.httpPort, new RoutedListener({ ...shared, port: config.httpPort, route: vhostRoute, why: noVhost })],
        [
          'https',
          '--https-port',
          config.httpsPort,
          new RoutedListener({
            ...shared,
            port: config.httpsPort,
            route: vhostRoute,
            why: noVhost,
            tls: {
              ...(defaultPem === undefined ? {} : { cert: defaultPem, key: defaultPem }),
              // A route's own certificate for its vhost first, then any --ssl-certs naming the host.
              SNICallback: (servername, callback) => {
                const name = servername.toLowerCase();
                const path = tables.current.sniCerts[name] ?? certificates.match(config.sslCerts, name);
                callback(null, path === undefined ? undefined : certificates.context(path));
              },
            },
          }),
        ],
        [
          'appId',
          '--app-id-port',
          config.appIdPort,
          new RoutedListener({
            ...shared,
            port: config.appIdPort,
            route: (table, req) => findAppIdPool(table, req.headers['x-marathon-app-id']),
            why: (req) => `no http app '${String(req.headers['x-marathon-app-id'] ?? '')}'`,
          }),
        ],
      ];
      for (const [name, flag, port, listener] of listeners) {
        closers.push(() => listener.close());
        bound[name] = { host: config.bind, port: await explainBind(flag, config.bind, port, () => listener.listen()) };
      }
    }

    return {
      bound,
      follow: (reserved) => {
        for (const port of [...reserved, ...Object.values(bound).map((address) => address.port)]) reservedPorts.add(port);
        // Closed first (closers run in reverse): no table swap may reopen a listener mid-shutdown.
        closers.push(() => {
          follower.close();
          tables.close();
        });
        follower.start();
      },
      health: () => ({ synced: follower.synced, eventId: follower.view.eventId, generation: tables.generation, snapshots: follower.snapshots }),
      routes: () => ({
        generation: tables.generation,
        changedAt: tables.changedAt ?? null,
        table: tables.current,
        listeners: { open: servicePorts.ports, failed: servicePorts.failures },
      }),
      stats: () => ({ generation: tables.generation, eventId: follower.view.eventId, ejected: balancer.ejected(Date.now()), ...stats.snapshot() }),
      metrics: () => stats.registry.getMetricsAsJSON(),
      metricsText: async () => ({ contentType: stats.registry.contentType, body: await stats.registry.metrics() }),
      backends: () => {
        const table = tables.current;
        const now = Date.now();
        const backends: Record<string, BackendState> = {};
        for (const pool of Object.values(table.servicePorts)) {
          for (const backend of [...pool.backends, ...pool.draining]) backends[backendKey(backend)] = balancer.state(backend.host, backend.port, now);
        }
        return { table, backends, pools: stats.traffic(now) };
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A port the operator asked for that cannot be bound is a start-up error naming the flag. */
export async function explainBind(flag: string, host: string, port: number, bind: () => Promise<number>): Promise<number> {
  try {
    return await bind();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new LbError('ERR_LB_LISTEN', `cannot listen on ${formatHostPort({ host, port })} (${flag}): ${reason}`);
  }
}

function logSwap(logger: Logger, generation: number, table: RoutingTable, previous: RoutingTable): void {
  const pools = Object.values(table.servicePorts);
  logger.info(
    {
      generation,
      servicePorts: pools.length,
      vhosts: Object.keys(table.vhosts).length,
      backends: pools.reduce((sum, pool) => sum + pool.backends.length, 0),
      rejected: table.rejected.length,
    },
    'routing table swapped',
  );
  // A rejection is logged when it appears, not again on every swap while it persists.
  const known = new Set(previous.rejected.map((r) => `${r.appId}#${r.portIndex}#${r.reason}`));
  for (const rejection of table.rejected) {
    if (!known.has(`${rejection.appId}#${rejection.portIndex}#${rejection.reason}`)) {
      logger.warn({ app: rejection.appId, portIndex: rejection.portIndex, reason: rejection.reason }, 'route rejected');
    }
  }
}
