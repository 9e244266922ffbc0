import { readServiceToken } from '../auth/secret-files.ts';
import { ClusterFollower } from '../events/client.ts';
import type { Logger } from '../shared/log.ts';
import type { DnsConfig } from './config.ts';
import { ipFamily } from './core/ip.ts';
import { Forwarder } from './forwarder.ts';
import { RecordTableHolder } from './record-table-holder.ts';

/**
 * Builds are incremental (a change costs the records of the apps it touches), so the window is
 * short: it folds events that arrive together (a deployment's burst) and adds little to a lone change.
 */
const REBUILD_DEBOUNCE_MS = 2;

/** What answers queries: the table kept from the event stream, and the forwarder (when on). */
export interface Pipeline {
  readonly tables: RecordTableHolder;
  readonly follower: ClusterFollower;
  readonly forwarder: Forwarder | undefined;
}

/** The record table holder, the follower feeding it (not started) and the forwarder, as `config` says. */
export function createPipeline(config: DnsConfig, logger: Logger): Pipeline {
  const concreteListenIp = ipFamily(config.listen.host) !== undefined && !/^(0\.0\.0\.0|::)$/.test(config.listen.host);
  const tables = new RecordTableHolder({
    domain: config.domain,
    ttl: config.ttl,
    debounceMs: REBUILD_DEBOUNCE_MS,
    logger,
    rfc952: config.enforceRfc952,
    masters: config.masters,
    ...(config.ipSources === undefined ? {} : { ipSources: config.ipSources }),
    ...(concreteListenIp ? { nameserverAddress: config.listen.host } : {}),
  });
  const token = config.tokenFile === undefined ? {} : { token: readServiceToken(config.tokenFile) };
  const follower = new ClusterFollower({ masters: config.masters, logger, onView: (view) => tables.offer(view), ...token, ...(config.ca !== undefined ? { ca: config.ca } : {}) });
  const forwarder = config.resolvers.length === 0 ? undefined : new Forwarder({ resolvers: config.resolvers, timeoutMs: config.forwardTimeoutMs, logger });
  return { tables, follower, forwarder };
}
