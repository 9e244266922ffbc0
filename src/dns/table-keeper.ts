import { TableHolder } from '../events/table-holder.ts';
import type { Logger } from '../shared/log.ts';
import { buildRecords, nextSerial, unsyncedTable } from './core/records.ts';
import type { RecordTable } from './core/record-types.ts';
import type { TableSource } from './server.ts';

export interface TableKeeperOptions {
  domain: string;
  ttl: number;
  nameserverAddress?: string;
  /** Bursts of events (a deployment, a scale-out) become one rebuild. */
  debounceMs: number;
  logger: Logger;
  /** Epoch ms; injected so tests can pin the serial. */
  now?: () => number;
}

/**
 * Holds the one current RecordTable: each new view becomes a table with the next SOA serial,
 * dropped when its records equal the current ones (so the serial moves only on real changes).
 */
export class TableKeeper extends TableHolder<RecordTable> implements TableSource {
  constructor(options: TableKeeperOptions) {
    const { domain, ttl, nameserverAddress, logger } = options;
    const now = options.now ?? Date.now;
    const recordOptions = nameserverAddress === undefined ? { domain, ttl } : { domain, ttl, nameserverAddress };
    super({
      initial: unsyncedTable({ ...recordOptions, serial: nextSerial(0, now() / 1000) }),
      debounceMs: options.debounceMs,
      build: (view, previous) => buildRecords(view, { ...recordOptions, serial: nextSerial(previous.soa.serial, now() / 1000) }),
      same: (next, previous) => previous.synced && next.digest === previous.digest,
      // A broken invariant in the builder must not take DNS down: keep serving the last table.
      onBuildError: (err, view) => logger.error({ eventId: view.eventId, err: (err as Error).message }, 'cannot build records, keeping the previous table'),
      onSwap: (next, previous) => {
        logger.debug({ eventId: next.eventId, serial: next.soa.serial, names: next.names.size }, 'records swapped');
        if (next.skipped.length > 0 && next.skipped.length !== previous.skipped.length) {
          logger.warn({ skipped: next.skipped.slice(0, 10), count: next.skipped.length }, 'serving instances without DNS records');
        }
      },
    });
  }
}
