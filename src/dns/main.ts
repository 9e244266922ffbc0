import { readFileSync } from 'node:fs';
import { ClusterFollower } from '../events/client.ts';
import { formatHostPort, type HostPort } from '../shared/address.ts';
import { createLogger } from '../shared/log.ts';
import type { Service } from '../shared/service.ts';
import type { Settings } from '../shared/settings.ts';
import { parseDnsConfig } from './config.ts';
import { ipFamily } from './core/ip.ts';
import { startHttpApi } from './http-api.ts';
import { DnsServer } from './server.ts';
import { TableKeeper } from './table-keeper.ts';

/** The running `corral dns`; the addresses are the ones actually bound (port 0 resolved). */
export interface DnsService extends Service {
  readonly dns: HostPort;
  readonly http: HostPort;
}

/** Short enough to be invisible next to event latency, long enough to fold a deployment's burst. */
const REBUILD_DEBOUNCE_MS = 5;

/**
 * `corral dns`: follows the cluster through the event stream and serves its names over DNS
 * (UDP + TCP, one port) and HTTP. Logs one `ready` line with the bound addresses.
 */
export async function startDns(settings: Settings): Promise<DnsService> {
  const config = parseDnsConfig(settings);
  const logger = createLogger('dns', config.logLevel);
  const { version, url } = packageInfo();
  const concreteListenIp = ipFamily(config.listen.host) !== undefined && !/^(0\.0\.0\.0|::)$/.test(config.listen.host);
  const keeper = new TableKeeper({
    domain: config.domain,
    ttl: config.ttl,
    debounceMs: REBUILD_DEBOUNCE_MS,
    logger,
    ...(concreteListenIp ? { nameserverAddress: config.listen.host } : {}),
  });
  if (config.resolvers.length > 0) {
    logger.info({ resolvers: config.resolvers.map(formatHostPort) }, 'forwarding is not implemented yet: names outside the domain get REFUSED');
  }

  // Ordered close hooks, run in reverse on close or on a failed start.
  const closers: (() => Promise<void> | void)[] = [() => keeper.close()];
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
    const dns = await DnsServer.listen({ host: config.listen.host, port: config.listen.port, tables: keeper, logger });
    closers.push(() => dns.close());
    const follower = new ClusterFollower({ masters: config.masters, logger, onView: (view) => keeper.offer(view) });
    const http = await startHttpApi({
      host: config.http.host,
      port: config.http.port,
      tables: keeper,
      health: () => ({ synced: follower.synced, eventId: follower.view.eventId, lastContact: follower.lastContact }),
      version,
      url,
      config,
      logger,
    });
    closers.push(() => http.close());
    follower.start();
    closers.push(() => follower.close());
    addresses = { dns: dns.address, http: http.address };
    logger.info({ dns: formatHostPort(dns.address), http: formatHostPort(http.address), domain: config.domain, masters: config.masters }, 'ready');
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

function packageInfo(): { version: string; url: string } {
  try {
    // src/dns/main.ts and dist/dns/main.js both sit two levels below package.json.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown; homepage?: unknown };
    return { version: typeof pkg.version === 'string' ? pkg.version : 'unknown', url: typeof pkg.homepage === 'string' ? pkg.homepage : '' };
  } catch {
    return { version: 'unknown', url: '' };
  }
}
