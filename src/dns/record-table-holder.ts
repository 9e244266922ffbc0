import { TableHolder } from '../events/table-holder.ts';
import type { ClusterView } from '../events/core/view.ts';
import type { Logger } from '../shared/log.ts';
import { buildRecords, nextSerial, unsyncedTable, type RecordOptions } from './core/records.ts';
import type { IpSource } from './core/ip-sources.ts';
import type { RecordTable } from './core/record-types.ts';
import type { ChangeHint } from './core/task-index.ts';
import { ZoneMemo } from './core/zone-memo.ts';

export interface RecordTableHolderOptions {
  domain: string;
  ttl: number;
  nameserverAddress?: string;
  /** `--enforce-rfc952`. */
  rfc952?: boolean;
  /** `--master` URLs: `leader.D`/`master.D` until a snapshot names the schedulers. */
  masters?: readonly string[];
  /** `--ip-sources`. */
  ipSources?: readonly IpSource[];
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
export class RecordTableHolder extends TableHolder<RecordTable> {
  readonly #changes: ChangeGatherer;

  constructor(options: RecordTableHolderOptions) {
    const { domain, ttl, nameserverAddress, logger } = options;
    const now = options.now ?? Date.now;
    const recordOptions: Omit<RecordOptions, 'serial'> = {
      domain,
      ttl,
      rfc952: options.rfc952 === true,
      ...(nameserverAddress === undefined ? {} : { nameserverAddress }),
      ...(options.masters === undefined ? {} : { masters: options.masters }),
      ...(options.ipSources === undefined ? {} : { ipSources: options.ipSources }),
    };
    // Incremental builds: unchanged apps keep their records between views, and the ids the
    // folded events touched say which tasks to look at.
    let memo = new ZoneMemo();
    const changes = new ChangeGatherer();
    super({
      initial: unsyncedTable({ ...recordOptions, serial: nextSerial(0, now() / 1000) }),
      debounceMs: options.debounceMs,
      build: (view, previous) => {
        try {
          return buildRecords(view, { ...recordOptions, serial: nextSerial(previous.soa.serial, now() / 1000) }, memo, changes.take());
        } catch (err) {
          // A build that threw may have left the memo half-applied: the next one starts afresh.
          memo = new ZoneMemo();
          throw err;
        }
      },
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
    this.#changes = changes;
  }

  override offer(view: ClusterView): void {
    this.#changes.note(view);
    super.offer(view);
  }
}

/**
 * Gathers what every offered view changed since the last build, as long as the views form an
 * unbroken chain (each `changed.after` the id of the view before); a snapshot view or a gap
 * means the next build compares everything.
 */
class ChangeGatherer {
  #last: number | undefined;
  #taskIds = new Set<string>();
  #appIds = new Set<string>();
  #complete = false;

  note(view: ClusterView): void {
    const change = view.changed;
    if (this.#complete && change !== undefined && change.after === this.#last) {
      for (const id of change.taskIds) this.#taskIds.add(id);
      for (const id of change.appIds) this.#appIds.add(id);
    } else {
      this.#complete = false;
    }
    this.#last = view.eventId;
  }

  /** The hint for building the last noted view; gathering starts over from that view. */
  take(): ChangeHint | undefined {
    const hint = this.#complete ? { taskIds: this.#taskIds, appIds: this.#appIds } : undefined;
    this.#taskIds = new Set();
    this.#appIds = new Set();
    this.#complete = true;
    return hint;
  }
}
