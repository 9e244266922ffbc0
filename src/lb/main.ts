import { ClusterFollower } from '../events/client.ts';
import { formatHostPort, type HostPort } from '../shared/address.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import type { Service } from '../shared/service.ts';
import type { Settings } from '../shared/settings.ts';
import { parseLbConfig, type LbConfig } from './config.ts';
import { LbConfigError, LbError } from './errors.ts';
import { Balancer, backendKey } from './core/balancer.ts';
import { findAppIdPool, findVhostPool, hostOfRequest } from './core/route-lookup.ts';
import type { RoutingTable } from './core/routing-table.ts';
import { CertificateStore } from './proxy/certificates.ts';
import { HttpForwarder } from './proxy/http-forwarder.ts';
import { RoutedListener } from './proxy/routed-listener.ts';
import { ServicePortListeners } from './proxy/service-port-listeners.ts';
import { RoutingState } from './routing-state.ts';
import { RouteStats } from './stats/route-stats.ts';
import { haproxyStatsCsv } from './stats/haproxy-csv.ts';
import { StatsServer } from './stats/stats-server.ts';

/** A running `corral lb`: the addresses it bound, for `corral up` and tests. */
export interface LbService extends Service {
  /** The shared ports; undefined for an east-west LB (`--no-http-https`). */
  readonly httpAddress: HostPort | undefined;
  readonly httpsAddress: HostPort | undefined;
  readonly appIdAddress: HostPort | undefined;
  readonly statsAddress: HostPort;
}

/**
 * Starts `corral lb`: binds the shared HTTP, HTTPS, app-id and stats ports, then follows the
 * cluster and swaps in a new routing table (and opens/closes service-port listeners) on each
 * change. Logs one `ready` line with the bound addresses once listening.
 */
export async function startLb(settings: Settings): Promise<LbService> {
  const config = parseLbConfig(settings);
  const logger = createLogger('lb', config.logLevel);
  const balancer = new Balancer();
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
    // Filled once the shared ports are bound (they may be ephemeral); no table arrives before that.
    const reservedPorts = new Set<number>();
    const state = new RoutingState({
      groups: config.groups,
      strictMode: config.strictMode,
      debounceMs: config.debounceMs,
      checkCertificates: (paths) => certificates.refresh([...config.sslCerts, ...paths]),
      onSwap: (table, previous) => {
        logSwap(logger, state.generation, table, previous);
        const pools = Object.values(table.servicePorts);
        balancer.retain(new Set(pools.map((pool) => pool.id)), new Set(pools.flatMap((pool) => [...pool.backends, ...pool.draining].map(backendKey))));
        stats.retain(new Set(pools.map((pool) => pool.id)));
        stats.generation.set(state.generation);
        stats.lastChange.set(Date.now() / 1000);
        stats.rejectedRoutes.set(table.rejected.length);
        void servicePorts.reconcile(table).then(() => stats.failedListeners.set(servicePorts.failures.length));
      },
    });
    const servicePorts = new ServicePortListeners({ bind: config.bind, tables: state, forwarder, balancer, stats, logger, limits: config.limits, certificates, reservedPorts });
    closers.push(() => servicePorts.close());
    const follower = new ClusterFollower({ masters: config.masters, logger, onView: (view) => state.offer(view) });

    const shared = { bind: config.bind, tables: state, forwarder, stats, logger, limits: config.limits };
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
                const path = state.current.sniCerts[name] ?? certificates.match(config.sslCerts, name);
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

    const statsServer = new StatsServer({
      bind: config.bind,
      port: config.statsPort,
      logger,
      sources: {
        health: () => ({ synced: follower.synced, eventId: follower.view.eventId, generation: state.generation }),
        routes: () => ({
          generation: state.generation,
          changedAt: state.changedAt ?? null,
          table: state.current,
          listeners: { open: servicePorts.ports, failed: servicePorts.failures },
        }),
        stats: () => ({ generation: state.generation, eventId: follower.view.eventId, ejected: balancer.ejected(Date.now()), ...stats.snapshot() }),
        metrics: async () => ({ contentType: stats.registry.contentType, body: await stats.registry.metrics() }),
        haproxyCsv: () => {
          const now = Date.now();
          return haproxyStatsCsv(state.current, (host, port) => balancer.state(host, port, now));
        },
      },
    });
    closers.push(() => statsServer.close());
    const statsPort = await explainBind('--stats-port', config.bind, config.statsPort, () => statsServer.listen());

    reservedPorts.add(statsPort);
    for (const address of Object.values(bound)) reservedPorts.add(address.port);

    // Closed first (closers run in reverse): no table swap may reopen a listener mid-shutdown.
    closers.push(() => {
      follower.close();
      state.close();
    });
    follower.start();

    const statsAddress = { host: config.bind, port: statsPort };
    logReady(logger, config, bound, statsAddress);
    return { httpAddress: bound.http, httpsAddress: bound.https, appIdAddress: bound.appId, statsAddress, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A port the operator asked for that cannot be bound is a start-up error naming the flag. */
async function explainBind(flag: string, host: string, port: number, bind: () => Promise<number>): Promise<number> {
  try {
    return await bind();
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new LbError('ERR_LB_LISTEN', `cannot listen on ${formatHostPort({ host, port })} (${flag}): ${reason}`);
  }
}

function logReady(logger: Logger, config: LbConfig, bound: Partial<Record<string, HostPort>>, stats: HostPort): void {
  const fields: Record<string, unknown> = { stats: formatHostPort(stats), groups: config.groups, masters: config.masters };
  for (const [name, address] of Object.entries(bound)) if (address) fields[name] = formatHostPort(address);
  logger.info(fields, 'ready');
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
