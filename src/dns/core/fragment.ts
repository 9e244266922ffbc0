import { createHash } from 'node:crypto';
import type { DiscoveryApp, DiscoveryTask } from '../../events/types.ts';
import type { ClusterView } from '../../events/core/view.ts';
import type { DnsRecord, NameRecords, RecordType, ServedApp, SkippedTask } from './record-types.ts';

/** The records one source (an app with its served instances, or the cluster itself) contributes. */
export interface Fragment {
  readonly key: string;
  readonly names: ReadonlyMap<string, NameRecords>;
  /** SHA-1 of the key and the records: the table digest is the XOR of every fragment's. */
  readonly hash: Buffer;
}

/** An app's records; it also serves as the app's entry in `RecordTable.apps`. */
export interface AppFragment extends Fragment, ServedApp {
  /** The served tasks in view order: the same objects in the same order mean the same records. */
  readonly sources: readonly DiscoveryTask[];
  readonly skipped: readonly SkippedTask[];
}

/** An instance's records as last computed, valid while the task and its app are the same objects. */
export interface InstanceEntry {
  readonly app: DiscoveryApp;
  readonly records: readonly DnsRecord[];
  readonly reason: string | undefined;
}

/** The apex NS, `ns1`, the schedulers (`leader`, `master`, `masterN`, `_leader._tcp|_udp`) and `slave`. */
export interface ClusterFragment {
  /** What the fragment was built from besides the task hosts: the same inputs, the same fragment. */
  readonly schedulers: string;
  readonly agents: ClusterView['agents'];
  readonly fragment: Fragment;
}

/** Where `instanceRecords` puts the records it works out. */
export interface RecordSink {
  add(record: DnsRecord): void;
}

/** Collects one fragment's records, deduplicated (an RRset is a set), each RRset sorted. */
export class FragmentBuilder implements RecordSink {
  readonly #domain: string;
  readonly #names = new Map<string, Map<RecordType, Map<string, DnsRecord>>>();

  constructor(domain: string) {
    this.#domain = domain;
  }

  add(record: DnsRecord): void {
    let byType = this.#names.get(record.name);
    if (byType === undefined) {
      byType = new Map();
      this.#names.set(record.name, byType);
      this.#touchParents(record.name);
    }
    let set = byType.get(record.type);
    if (set === undefined) {
      set = new Map();
      byType.set(record.type, set);
    }
    const key = recordKey(record);
    if (!set.has(key)) set.set(key, Object.freeze(record));
  }

  /**
   * Registers the names between `name` and the apex as empty non-terminals, so `marathon.D`
   * answers NODATA rather than NXDOMAIN — an NXDOMAIN there would tell resolvers that
   * minimise query names (RFC 9156) that nothing exists below it. Mesos-DNS got this wrong.
   * Reverse names get none: `in-addr.arpa` is not our zone.
   */
  #touchParents(name: string): void {
    if (!name.endsWith(`.${this.#domain}`)) return;
    for (let current = name.slice(name.indexOf('.') + 1); current.length > this.#domain.length; current = current.slice(current.indexOf('.') + 1)) {
      if (this.#names.has(current)) return;
      this.#names.set(current, new Map());
    }
  }

  finish(key: string): Fragment {
    const names = new Map<string, NameRecords>();
    const hash = createHash('sha1').update(key).update('\0');
    for (const name of [...this.#names.keys()].sort(compare)) {
      const entry: Partial<Record<RecordType, readonly DnsRecord[]>> = {};
      hash.update(name).update('\0');
      const byType = this.#names.get(name) as Map<RecordType, Map<string, DnsRecord>>;
      for (const type of [...byType.keys()].sort(compare)) {
        const set = byType.get(type) as Map<string, DnsRecord>;
        const keys = [...set.keys()].sort(compare);
        entry[type] = Object.freeze(keys.map((k) => set.get(k) as DnsRecord));
        hash.update(type).update(keys.join('\t')).update('\n');
      }
      names.set(name, Object.freeze(entry) as NameRecords);
    }
    return { key, names, hash: hash.digest() };
  }
}

/** What makes a record distinct within its RRset (owner, type and TTL are shared). */
export function recordKey(record: DnsRecord): string {
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return record.address;
    case 'SRV':
      return `${record.priority} ${record.weight} ${String(record.port).padStart(5, '0')} ${record.target}`;
    case 'NS':
    case 'PTR':
      return record.host;
    case 'SOA':
      return record.mname;
  }
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
