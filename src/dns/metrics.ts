import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { QTYPE, RCODE } from './core/answer.ts';
import type { RecordTable } from './core/record-types.ts';

/** Query types with a label of their own; everything else counts as `other`. */
const TYPE_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(QTYPE).map(([name, number]) => [number, name]));
const RCODE_NAMES: ReadonlyMap<number, string> = new Map([...Object.entries(RCODE).map(([name, number]) => [number, name] as const), [16, 'BADVERS']]);
const TYPE_SLOTS = 256;
const RCODE_SLOTS = 32;

/**
 * Per-query counting without touching prom-client on the hot path: plain numbers in a typed
 * array, read into the Prometheus counters only when `/metrics` is scraped.
 */
export class QueryCounters {
  readonly #counts = new Float64Array(2 * TYPE_SLOTS * RCODE_SLOTS);
  dropped = 0;
  malformed = 0;
  /** TCP connections closed to make room under a cap. */
  tcpEvicted = 0;
  /** TCP connections closed because a message did not arrive whole in time. */
  tcpSlow = 0;

  count(qtype: number, rcode: number, transport: 'udp' | 'tcp'): void {
    const type = TYPE_NAMES.has(qtype) ? qtype : 0;
    const slot = ((transport === 'udp' ? 0 : 1) * TYPE_SLOTS + type) * RCODE_SLOTS + Math.min(rcode, RCODE_SLOTS - 1);
    this.#counts[slot] = (this.#counts[slot] as number) + 1;
  }

  /** Plain data (it crosses from UDP helper processes to the main one). */
  snapshot(): QueryStats {
    return { entries: [...this.entries()], dropped: this.dropped, malformed: this.malformed, tcpEvicted: this.tcpEvicted, tcpSlow: this.tcpSlow };
  }

  /** Every non-zero count with its labels. */
  *entries(): Generator<{ type: string; rcode: string; transport: string; count: number }> {
    for (let slot = 0; slot < this.#counts.length; slot++) {
      const count = this.#counts[slot] as number;
      if (count === 0) continue;
      const rcode = slot % RCODE_SLOTS;
      const type = Math.floor(slot / RCODE_SLOTS) % TYPE_SLOTS;
      yield {
        type: TYPE_NAMES.get(type) ?? 'other',
        rcode: RCODE_NAMES.get(rcode) ?? String(rcode),
        transport: slot >= TYPE_SLOTS * RCODE_SLOTS ? 'tcp' : 'udp',
        count,
      };
    }
  }
}

export interface QueryStats {
  entries: { type: string; rcode: string; transport: string; count: number }[];
  dropped: number;
  malformed: number;
  tcpEvicted: number;
  tcpSlow: number;
}

export interface ForwardingStats {
  answered: number;
  failed: number;
  cacheHits: number;
  cacheSize: number;
}

/** Every process serving queries reports its own counts; `/metrics` shows their sums. */
export interface DnsMetricsSources {
  queries: () => readonly QueryStats[];
  forwarding: () => readonly ForwardingStats[];
  table: () => RecordTable;
  /** Epoch ms of the last table swap; undefined before the first. */
  changedAt: () => number | undefined;
  /** Epoch ms of the last contact with a scheduler; 0 before the first. */
  lastContact: () => number;
  now?: () => number;
}

/** `corral dns` metrics in a registry of its own (several parts share one process in `corral up` and tests). */
export function createDnsMetrics(sources: DnsMetricsSources, options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  const registers = [registry];
  const now = sources.now ?? Date.now;
  /** A counter whose values are read from the sources at scrape time. */
  const counter = (name: string, help: string, labelNames: string[], values: () => readonly [Record<string, string>, number][]): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const [labels, value] of values()) this.inc(labels, value);
      },
    });
  };
  counter('corral_dns_queries_total', 'DNS queries answered, by query type, response code and transport.', ['type', 'rcode', 'transport'], () => {
    const sums = new Map<string, [Record<string, string>, number]>();
    for (const stats of sources.queries()) {
      for (const { count, ...labels } of stats.entries) {
        const key = `${labels.type} ${labels.rcode} ${labels.transport}`;
        sums.set(key, [labels, (sums.get(key)?.[1] ?? 0) + count]);
      }
    }
    return [...sums.values()];
  });
  counter('corral_dns_messages_rejected_total', 'Messages dropped unanswered (not a query) or answered FORMERR/NOTIMP (malformed).', ['reason'], () => {
    const all = sources.queries();
    return [[{ reason: 'dropped' }, sum(all, (s) => s.dropped)], [{ reason: 'malformed' }, sum(all, (s) => s.malformed)]];
  });
  counter('corral_dns_tcp_connections_closed_total', 'TCP connections closed by the server: to stay within the caps (evicted), or a message not whole in time (slow).', ['reason'], () => {
    const all = sources.queries();
    return [[{ reason: 'evicted' }, sum(all, (s) => s.tcpEvicted)], [{ reason: 'slow' }, sum(all, (s) => s.tcpSlow)]];
  });
  counter('corral_dns_forwarded_total', 'Queries sent to an upstream resolver (cache misses), by outcome.', ['result'], () => {
    const all = sources.forwarding();
    return [[{ result: 'answered' }, sum(all, (s) => s.answered)], [{ result: 'failed' }, sum(all, (s) => s.failed)]];
  });
  counter('corral_dns_forward_cache_hits_total', 'Forwarded questions answered from the cache.', [], () => [[{}, sum(sources.forwarding(), (s) => s.cacheHits)]]);
  const gauge = (name: string, help: string, value: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value());
      },
    });
  };
  gauge('corral_dns_forward_cache_entries', 'Replies held in the forwarding caches (one per serving process).', () => sum(sources.forwarding(), (s) => s.cacheSize));
  gauge('corral_dns_table_names', 'Owner names in the current table.', () => sources.table().names.size);
  gauge('corral_dns_table_instances', 'Instances served in the current table.', () => sum([...sources.table().apps.values()], (app) => app.tasks.length));
  gauge('corral_dns_table_serial', 'SOA serial of the current table.', () => sources.table().soa.serial);
  gauge('corral_dns_last_change_age_seconds', 'Seconds since the table last changed (-1 before the first table).', () => {
    const changedAt = sources.changedAt();
    return changedAt === undefined ? -1 : (now() - changedAt) / 1000;
  });
  gauge('corral_dns_stale_seconds', 'Seconds since the last snapshot or event from a scheduler (-1 before the first).', () => {
    const last = sources.lastContact();
    return last === 0 ? -1 : (now() - last) / 1000;
  });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}
