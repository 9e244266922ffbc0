import { readFileSync } from 'node:fs';
import { formatHostPort, type HostPort } from '../shared/address.ts';
import { createLogger } from '../shared/log.ts';
import type { Service } from '../shared/service.ts';
import type { Settings } from '../shared/settings.ts';
import { serverTls } from '../shared/tls.ts';
import { parseDnsConfig } from './config.ts';
import { startHttpApi } from './http-api.ts';
import { createDnsMetrics, QueryCounters } from './metrics.ts';
import { createPipeline } from './pipeline.ts';
import { DnsServer } from './server.ts';
import { UdpHelperPool } from './udp-helper-pool.ts';

/** The running `corral dns`; the addresses are the ones actually bound (port 0 resolved). */
export interface DnsService extends Service {
  readonly dns: HostPort;
  readonly http: HostPort;
}

/**
 * `corral dns`: follows the cluster through the event stream and serves its names over DNS
 * (UDP + TCP, one port) and HTTP. Logs one `ready` line with the bound addresses.
 */
export async function startDns(settings: Settings): Promise<DnsService> {
  const config = parseDnsConfig(settings);
  const logger = createLogger('dns', config.logLevel);
  const version = packageVersion();
  const { tables, follower, forwarder } = createPipeline(config, logger);
  const counters = new QueryCounters();

  // Ordered close hooks, run in reverse on close or on a failed start.
  const closers: (() => Promise<void> | void)[] = [() => tables.close()];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'error while closing');
      }
    }
    closers.length = 0;
  };

  let addresses: { dns: HostPort; http: HostPort };
  try {
    const dns = await DnsServer.listen({
      host: config.listen.host,
      port: config.listen.port,
      tables,
      logger,
      counters,
      ...(forwarder === undefined ? {} : { forwarder }),
    });
    closers.push(() => dns.close());
    // More processes reading the same UDP socket: one process is held to what Node can send.
    const helpers = config.udpWorkers === 0 ? undefined : await UdpHelperPool.start(config.udpWorkers, dns.udpSocket, settings, logger);
    if (helpers !== undefined) closers.push(() => helpers.close());
    const metrics = createDnsMetrics({
      queries: () => [counters.snapshot(), ...(helpers?.queries ?? [])],
      forwarding: () => [...(forwarder === undefined ? [] : [forwarder.stats]), ...(helpers?.forwarding ?? [])],
      table: () => tables.current,
      changedAt: () => (tables.changedAt === undefined ? undefined : Date.parse(tables.changedAt)),
      lastContact: () => follower.lastContact,
    });
    const http = await startHttpApi({
      host: config.http.host,
      port: config.http.port,
      tables,
      health: () => ({ synced: follower.synced, eventId: follower.view.eventId, lastContact: follower.lastContact, snapshots: follower.snapshots }),
      version,
      config: { ...config, ca: config.ca, dns: dns.address },
      metrics,
      logger,
      tls: serverTls(config),
    });
    closers.push(() => http.close());
    follower.start();
    closers.push(() => follower.close());
    addresses = { dns: dns.address, http: http.address };
    logger.info(
      { dns: formatHostPort(dns.address), http: formatHostPort(http.address), domain: config.domain, masters: config.masters, resolvers: config.resolvers.map(formatHostPort) },
      'ready',
    );
  } catch (err) {
    await closeAll();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return Object.freeze({
    ...addresses,
    close: () => (closing ??= closeAll()),
  });
}

function packageVersion(): string {
  try {
    // src/dns/main.ts and dist/dns/main.js both sit two levels below package.json.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
