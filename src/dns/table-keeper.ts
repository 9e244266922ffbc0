import type { ClusterView } from '../events/view.ts';
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
 * Holds the one current RecordTable. Views arrive from the follower; after a short debounce the
 * latest is turned into a table, dropped when its records equal the current ones, else swapped
 * in whole with the next SOA serial. Readers never see a half-built table.
 */
export class TableKeeper implements TableSource {
  readonly #options: TableKeeperOptions;
  readonly #now: () => number;
  #current: RecordTable;
  #pending: ClusterView | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: TableKeeperOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#current = unsyncedTable({ ...this.#recordOptions(), serial: nextSerial(0, this.#now() / 1000) });
  }

  get current(): RecordTable {
    return this.#current;
  }

  /** Queues a view; only the latest queued one is built. */
  offer(view: ClusterView): void {
    this.#pending = view;
    this.#timer ??= setTimeout(() => this.flush(), this.#options.debounceMs);
  }

  /** Builds the queued view now (tests and shutdown use it); returns whether the table changed. */
  flush(): boolean {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const view = this.#pending;
    this.#pending = undefined;
    if (view === undefined) return false;
    const previous = this.#current;
    let next: RecordTable;
    try {
      next = buildRecords(view, { ...this.#recordOptions(), serial: nextSerial(previous.soa.serial, this.#now() / 1000) });
    } catch (err) {
      // A broken invariant in the builder must not take DNS down: keep serving the last table.
      this.#options.logger.error({ eventId: view.eventId, err: (err as Error).message }, 'cannot build records, keeping the previous table');
      return false;
    }
    if (previous.synced && next.digest === previous.digest) return false;
    this.#current = next;
    this.#options.logger.debug({ eventId: next.eventId, serial: next.soa.serial, names: next.names.size }, 'records swapped');
    if (next.skipped.length > 0 && next.skipped.length !== previous.skipped.length) {
      this.#options.logger.warn({ skipped: next.skipped.slice(0, 10), count: next.skipped.length }, 'serving instances without DNS records');
    }
    return true;
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
  }

  #recordOptions(): { domain: string; ttl: number; nameserverAddress?: string } {
    const { domain, ttl, nameserverAddress } = this.#options;
    return nameserverAddress === undefined ? { domain, ttl } : { domain, ttl, nameserverAddress };
  }
}
