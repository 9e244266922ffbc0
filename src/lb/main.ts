import { ClusterFollower } from '../events/client.ts';
import { formatHostPort, type HostPort } from '../shared/address.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import type { Service } from '../shared/service.ts';
import type { Settings } from '../shared/settings.ts';
import { parseLbConfig, type LbConfig } from './config.ts';
import { LbError } from './errors.ts';
import { RoundRobin } from './core/round-robin.ts';
import type { RoutingTable } from './core/routing-table.ts';
import { HttpForwarder } from './proxy/http-forwarder.ts';
import { ServicePortListeners } from './proxy/service-port-listeners.ts';
import { VhostListener } from './proxy/vhost-listener.ts';
import { RoutingState } from './routing-state.ts';
import { RouteStats } from './stats/route-stats.ts';
import { StatsServer } from './stats/stats-server.ts';

/** A running `corral lb`: the addresses it bound, for `corral up` and tests. */
export interface LbService extends Service {
  /** The shared HTTP port; undefined for an east-west LB (`--no-http-https`). */
  readonly httpAddress: HostPort | undefined;
  readonly statsAddress: HostPort;
}

/**
 * Starts `corral lb`: binds the shared HTTP and stats ports, then follows the cluster and swaps in
 * a new routing table (and opens/closes service-port listeners) on each change.
 * Logs one `ready` line with the bound `http` and `stats` addresses once listening.
 */
export async function startLb(settings: Settings): Promise<LbService> {
  const config = parseLbConfig(settings);
  const logger = createLogger('lb', config.logLevel);
  const picker = new RoundRobin();
  const stats = new RouteStats();
  const forwarder = new HttpForwarder({ picker, stats, logger });
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
    // Filled once the shared ports are bound (they may be ephemeral); no table arrives before that.
    const reservedPorts = new Set<number>();
    const state = new RoutingState({
      groups: config.groups,
      debounceMs: config.debounceMs,
      onSwap: (table, previous) => {
        logSwap(logger, state.generation, table, previous);
        const live = new Set(Object.values(table.servicePorts).map((pool) => pool.id));
        picker.retain(live);
        stats.retain(live);
        void servicePorts.reconcile(table);
      },
    });
    const servicePorts = new ServicePortListeners({ bind: config.bind, tables: state, forwarder, picker, stats, logger, reservedPorts });
    closers.push(() => servicePorts.close());
    const follower = new ClusterFollower({ masters: config.masters, logger, onView: (view) => state.offer(view) });

    let vhost: VhostListener | undefined;
    if (config.httpHttps) {
      const listener = new VhostListener({ bind: config.bind, port: config.httpPort, tables: state, forwarder, stats, logger });
      closers.push(() => listener.close());
      await explainBind('--http-port', config.bind, config.httpPort, () => listener.listen());
      vhost = listener;
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
        stats: () => ({ generation: state.generation, eventId: follower.view.eventId, ...stats.snapshot() }),
      },
    });
    closers.push(() => statsServer.close());
    const statsPort = await explainBind('--stats-port', config.bind, config.statsPort, () => statsServer.listen());

    reservedPorts.add(statsPort);
    if (vhost) reservedPorts.add(vhost.port);

    // Closed first (closers run in reverse): no table swap may reopen a listener mid-shutdown.
    closers.push(() => {
      follower.close();
      state.close();
    });
    follower.start();

    const httpAddress = vhost ? { host: config.bind, port: vhost.port } : undefined;
    const statsAddress = { host: config.bind, port: statsPort };
    logReady(logger, config, httpAddress, statsAddress);
    return { httpAddress, statsAddress, close };
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

function logReady(logger: Logger, config: LbConfig, http: HostPort | undefined, stats: HostPort): void {
  const fields: Record<string, unknown> = { stats: formatHostPort(stats), groups: config.groups, masters: config.masters };
  if (http) fields.http = formatHostPort(http);
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
