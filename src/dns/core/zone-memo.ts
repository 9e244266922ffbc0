import type { DiscoveryTask } from '../../events/types.ts';
import type { ClusterView } from '../../events/core/view.ts';
import { compare, recordKey, type AppFragment, type ClusterFragment, type Fragment, type InstanceEntry } from './fragment.ts';
import { NameIndex } from './name-index.ts';
import type { DnsRecord, NameRecords, RecordOptions, RecordType, SkippedTask } from './record-types.ts';
import { TaskIndex } from './task-index.ts';

/** Contributions to one owner name: fragments with records there, and how many see it as an empty non-terminal. */
interface NameContributions {
  readonly filled: Map<string, NameRecords>;
  empty: number;
}

/**
 * The state that makes `buildRecords` incremental; owned by one caller (the RecordTableHolder) and
 * only ever read by the builder. Readers of published tables never see it.
 */
export class ZoneMemo {
  #apps: ReadonlyMap<string, AppFragment> = new Map();
  #cluster: ClusterFragment | undefined;
  #skipped: readonly SkippedTask[] = Object.freeze([]);
  #tasks = new TaskIndex();
  #instances = new WeakMap<DiscoveryTask, InstanceEntry>();
  #contributions = new Map<string, NameContributions>();
  #index = NameIndex.empty();
  #xor = Buffer.alloc(20);
  #optionsKey = '';

  get apps(): ReadonlyMap<string, AppFragment> {
    return this.#apps;
  }

  get tasks(): TaskIndex {
    return this.#tasks;
  }

  /** Records per instance, so that rebuilding an app's fragment recomputes only new instances. */
  get instances(): WeakMap<DiscoveryTask, InstanceEntry> {
    return this.#instances;
  }

  get index(): NameIndex {
    return this.#index;
  }

  /** Identifies the records apart from the SOA serial: equal digests, equal answers. */
  get digest(): string {
    return this.#xor.toString('hex');
  }

  /** Starts over when the options the fragments were built with change. */
  reset(options: RecordOptions): void {
    const key = JSON.stringify([options.domain, options.ttl, options.nameserverAddress, options.rfc952 === true, options.masters, options.ipSources]);
    if (key === this.#optionsKey) return;
    this.#optionsKey = key;
    this.#apps = new Map();
    this.#cluster = undefined;
    this.#skipped = Object.freeze([]);
    this.#tasks = new TaskIndex();
    this.#instances = new WeakMap();
    this.#contributions = new Map();
    this.#index = NameIndex.empty();
    this.#xor = Buffer.alloc(20);
  }

  /** The cluster fragment, rebuilt (by `build`, from every agent IP) only when the schedulers or the agents changed. */
  cluster(view: ClusterView, hostsChanged: boolean, build: (agentIps: ReadonlySet<string>) => Fragment): ClusterFragment {
    const schedulers = JSON.stringify([view.leader, view.masters]);
    const previous = this.#cluster;
    if (previous !== undefined && !hostsChanged && previous.schedulers === schedulers && previous.agents === view.agents) return previous;
    // The scheduler's agents when it names them (events keep them current); else (an older
    // scheduler) every task's host stands in for its agent.
    const agentIps = new Set(view.agents === undefined ? this.tasks.hosts : view.agents.map((agent) => agent.ip));
    return { schedulers, agents: view.agents, fragment: build(agentIps) };
  }

  /** Served instances that got no records, across every app. */
  get skipped(): readonly SkippedTask[] {
    return this.#skipped;
  }

  /**
   * Replaces the fragments, patching only the names of fragments that changed; `changed` holds
   * every app whose entry in `apps` may differ from the current one.
   */
  apply(apps: ReadonlyMap<string, AppFragment>, changed: Iterable<string>, cluster: ClusterFragment): void {
    const touched = new Set<string>();
    let skippedChanged = false;
    for (const key of changed) {
      const previous = this.#apps.get(key);
      const fragment = apps.get(key);
      if (previous === fragment) continue;
      if (previous !== undefined) this.#retract(previous, touched);
      if (fragment !== undefined) this.#contribute(fragment, touched);
      skippedChanged ||= (previous?.skipped.length ?? 0) > 0 || (fragment?.skipped.length ?? 0) > 0;
    }
    if (skippedChanged) this.#skipped = Object.freeze([...apps.values()].flatMap((fragment) => fragment.skipped));
    if (this.#cluster !== cluster) {
      if (this.#cluster !== undefined) this.#retract(this.#cluster.fragment, touched);
      this.#contribute(cluster.fragment, touched);
    }
    this.#apps = apps;
    this.#cluster = cluster;
    const changes = new Map<string, NameRecords | undefined>();
    for (const name of touched) changes.set(name, this.#merged(name));
    this.#index = this.#index.patch(changes);
  }

  #retract(fragment: Fragment, touched: Set<string>): void {
    xorInto(this.#xor, fragment.hash);
    for (const [name, records] of fragment.names) {
      const entry = this.#contributions.get(name);
      if (entry === undefined) continue;
      if (isEmpty(records)) entry.empty -= 1;
      else entry.filled.delete(fragment.key);
      if (entry.empty === 0 && entry.filled.size === 0) this.#contributions.delete(name);
      touched.add(name);
    }
  }

  #contribute(fragment: Fragment, touched: Set<string>): void {
    xorInto(this.#xor, fragment.hash);
    for (const [name, records] of fragment.names) {
      let entry = this.#contributions.get(name);
      if (entry === undefined) {
        entry = { filled: new Map(), empty: 0 };
        this.#contributions.set(name, entry);
      }
      if (isEmpty(records)) entry.empty += 1;
      else entry.filled.set(fragment.key, records);
      touched.add(name);
    }
  }

  #merged(name: string): NameRecords | undefined {
    const entry = this.#contributions.get(name);
    if (entry === undefined) return undefined;
    if (entry.filled.size === 0) return EMPTY_NAME;
    if (entry.filled.size === 1) return entry.filled.values().next().value as NameRecords;
    // Several apps share the name (equal task labels, one IP's PTR): union of their RRsets.
    const byType = new Map<RecordType, Map<string, DnsRecord>>();
    for (const key of [...entry.filled.keys()].sort(compare)) {
      for (const [type, records] of Object.entries(entry.filled.get(key) as NameRecords) as [RecordType, readonly DnsRecord[]][]) {
        const set = byType.get(type) ?? new Map<string, DnsRecord>();
        byType.set(type, set);
        for (const record of records) if (!set.has(recordKey(record))) set.set(recordKey(record), record);
      }
    }
    const merged: Partial<Record<RecordType, readonly DnsRecord[]>> = {};
    for (const type of [...byType.keys()].sort(compare)) {
      const set = byType.get(type) as Map<string, DnsRecord>;
      merged[type] = Object.freeze([...set.keys()].sort(compare).map((k) => set.get(k) as DnsRecord));
    }
    return Object.freeze(merged) as NameRecords;
  }
}

const EMPTY_NAME: NameRecords = Object.freeze({});

function isEmpty(records: NameRecords): boolean {
  for (const key in records) if (Object.hasOwn(records, key)) return false;
  return true;
}

function xorInto(target: Buffer, hash: Buffer): void {
  for (let i = 0; i < target.length; i++) target[i] = (target[i] as number) ^ (hash[i] as number);
}
