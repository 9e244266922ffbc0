import { createHash } from 'node:crypto';
import type { DiscoveryApp, DiscoveryTask, PortProtocol } from '../../events/types.ts';
import { isServing, type ClusterView } from '../../events/view.ts';
import { ipFamily } from './ip.ts';
import { NameIndex } from './name-index.ts';
import { canonicalLabel, sanitizeLabel, taskLabel } from './names.ts';
import { reverseName } from './reverse.ts';
import { TaskIndex, type ChangeHint } from './task-index.ts';
import type { DnsRecord, NameRecords, RecordTable, RecordType, ServedApp, SkippedTask, SoaRecord } from './record-types.ts';

export type * from './record-types.ts';

/** Mesos-DNS' framework label for Marathon apps: `<task>.marathon.<domain>`. */
export const MARATHON = 'marathon';

// COMPAT(mesos-dns): its SOA defaults (refresh 60 s, retry 600 s, expire 1 day).
const SOA_REFRESH = 60;
const SOA_RETRY = 600;
const SOA_EXPIRE = 86_400;

const CLUSTER_FRAGMENT = '\0cluster';

export interface RecordOptions {
  /** Lower-case, no trailing dot. */
  domain: string;
  /** TTL of every record, and the SOA minimum (negative-caching TTL). */
  ttl: number;
  /** SOA serial; the caller increases it whenever the records change. */
  serial: number;
  /** Address of `ns1.<domain>` when this server listens on a concrete IP; glue for the NS record. */
  nameserverAddress?: string;
  /** `--enforce-rfc952`: task labels without leading digits, at most 24 characters. */
  rfc952?: boolean;
  /** Schedulers as `host:port` (from `--master`), for `leader.D`/`master.D` when the view names none. */
  masters?: readonly string[];
}

/**
 * Builds the zone for a cluster view: records only for instances `isServing` admits.
 *
 * `memo` makes consecutive builds incremental: an app whose definition and served instances
 * are the same objects as last time keeps its records, and only the names of apps that changed
 * are patched into a copy-on-write index (see NameIndex). The result is the same as a build from
 * a fresh memo; equal views give equal digests. `hint` (what changed since the memo's last
 * view) spares the comparison of every task.
 */
export function buildRecords(view: ClusterView, options: RecordOptions, memo: ZoneMemo = new ZoneMemo(), hint?: ChangeHint): RecordTable {
  memo.reset(options);
  const soa = soaRecord(options);

  const changes = memo.tasks.sync(view, hint);
  const apps = new Map(memo.apps);
  for (const appId of changes.apps) {
    const app = view.apps.get(appId);
    const sources = app === undefined ? [] : [...memo.tasks.tasksOf(appId)].filter((task) => isServing(task, app));
    const previous = memo.apps.get(appId);
    if (app === undefined || sources.length === 0) apps.delete(appId);
    else if (previous === undefined || previous.app !== app || !sameItems(previous.sources, sources)) apps.set(appId, appFragment(appId, app, sources, options, memo.instances));
  }
  memo.apply(apps, changes.apps, memo.cluster(view, changes.hostsChanged, options));

  const apex = memo.index.get(options.domain) ?? {};
  const names = memo.index.patch(new Map([[options.domain, Object.freeze({ ...apex, SOA: Object.freeze([soa]) })]]));
  return Object.freeze({
    domain: options.domain,
    ttl: options.ttl,
    rfc952: options.rfc952 === true,
    synced: true,
    eventId: view.eventId,
    soa,
    names,
    apps,
    skipped: memo.skipped,
    digest: memo.digest,
  });
}

/** The table served before the first snapshot: the apex only, answering SERVFAIL below it. */
export function unsyncedTable(options: RecordOptions): RecordTable {
  const soa = soaRecord(options);
  return Object.freeze({
    domain: options.domain,
    ttl: options.ttl,
    rfc952: options.rfc952 === true,
    synced: false,
    eventId: 0,
    soa,
    names: NameIndex.empty().patch(new Map([[options.domain, Object.freeze({ SOA: Object.freeze([soa]) })]])),
    apps: new Map(),
    skipped: Object.freeze([]),
    digest: '',
  });
}

/** RFC 1982 serial that increases on every change and also across restarts (clock-based floor). */
export function nextSerial(previous: number, nowSeconds: number): number {
  const floor = Math.floor(nowSeconds) >>> 0;
  const next = (previous + 1) >>> 0;
  return floor > next ? floor : next;
}

/**
 * Every record one served instance gives rise to, as `sink.add` calls: the same function builds
 * the zone and answers `/v1/enumerate`. Returns why the instance got no records, if it got none.
 */
export function instanceRecords(sink: RecordSink, app: DiscoveryApp, task: DiscoveryTask, options: Pick<RecordOptions, 'domain' | 'ttl' | 'rfc952'>): string | undefined {
  const label = taskLabel(app.id, { rfc952: options.rfc952 === true });
  if (label === '') return `app id ${app.id} has no character usable in a DNS label`;
  const agentFamily = ipFamily(task.host);
  const taskIps = task.ipAddresses.map((ip) => ip.ipAddress).filter((ip) => ipFamily(ip) !== undefined);
  // DNS.md: the task's own IP when it has one, else the agent's.
  const instanceIps = taskIps.length > 0 ? taskIps : agentFamily === undefined ? [] : [task.host];
  if (instanceIps.length === 0) return `neither host '${task.host}' nor ipAddresses hold an IP literal`;

  const { domain, ttl } = options;
  const canonical = canonicalLabel(label, task.id, task.slaveId);
  const service = `${label}.${MARATHON}.${domain}`;
  const instance = `${canonical}.${MARATHON}.${domain}`;
  for (const ip of instanceIps) {
    addAddress(sink, service, ip, ttl);
    addAddress(sink, instance, ip, ttl);
    const reverse = reverseName(ip);
    if (reverse !== undefined) sink.add({ type: 'PTR', name: reverse, ttl, host: `${instance}.` });
  }
  const slaveService = `${label}.${MARATHON}.slave.${domain}`;
  const slaveInstance = `${canonical}.${MARATHON}.slave.${domain}`;
  if (agentFamily !== undefined) {
    addAddress(sink, slaveService, task.host, ttl, agentFamily);
    addAddress(sink, slaveInstance, task.host, ttl, agentFamily);
  }

  task.ports.forEach((port, index) => {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return;
    const definition = app.portDefinitions[index];
    const portName = definition?.name === undefined ? '' : sanitizeLabel(definition.name);
    for (const proto of protocols(definition?.protocol)) {
      sink.add(srv(`_${label}._${proto}.${MARATHON}.${domain}`, port, `${instance}.`, ttl));
      if (portName !== '') sink.add(srv(`_${portName}._${label}._${proto}.${MARATHON}.${domain}`, port, `${instance}.`, ttl));
      if (agentFamily !== undefined) sink.add(srv(`_${label}._${proto}.${MARATHON}.slave.${domain}`, port, `${slaveInstance}.`, ttl));
    }
  });
  return undefined;
}

export interface RecordSink {
  add(record: DnsRecord): void;
}

function addAddress(sink: RecordSink, name: string, address: string, ttl: number, family: 4 | 6 | undefined = ipFamily(address)): void {
  if (family === 4) sink.add({ type: 'A', name, ttl, address });
  else if (family === 6) sink.add({ type: 'AAAA', name, ttl, address: address.toLowerCase() });
}

function srv(name: string, port: number, target: string, ttl: number): DnsRecord {
  // DNS.md: `0 1 <port> <target>`; every instance weighs the same.
  return { type: 'SRV', name, ttl, priority: 0, weight: 1, port, target };
}

function soaRecord(options: RecordOptions): SoaRecord {
  return Object.freeze({
    type: 'SOA',
    name: options.domain,
    ttl: options.ttl,
    mname: `ns1.${options.domain}.`,
    rname: `root.ns1.${options.domain}.`,
    serial: options.serial >>> 0,
    refresh: SOA_REFRESH,
    retry: SOA_RETRY,
    expire: SOA_EXPIRE,
    minimum: options.ttl,
  });
}

function protocols(protocol: PortProtocol | undefined): readonly ('tcp' | 'udp')[] {
  switch (protocol) {
    case 'udp':
      return ['udp'];
    case 'udp,tcp':
      return ['tcp', 'udp'];
    default:
      return ['tcp'];
  }
}

/** The records one source (an app with its served instances, or the cluster itself) contributes. */
interface Fragment {
  readonly key: string;
  readonly names: ReadonlyMap<string, NameRecords>;
  /** SHA-1 of the key and the records: the table digest is the XOR of every fragment's. */
  readonly hash: Buffer;
}

/** An app's records; it also serves as the app's entry in `RecordTable.apps`. */
interface AppFragment extends Fragment, ServedApp {
  /** The served tasks in view order: the same objects in the same order mean the same records. */
  readonly sources: readonly DiscoveryTask[];
  readonly skipped: readonly SkippedTask[];
}

/** An instance's records as last computed, valid while the task and its app are the same objects. */
interface InstanceEntry {
  readonly app: DiscoveryApp;
  readonly records: readonly DnsRecord[];
  readonly reason: string | undefined;
}

function appFragment(appId: string, app: DiscoveryApp, sources: readonly DiscoveryTask[], options: RecordOptions, instances: WeakMap<DiscoveryTask, InstanceEntry>): AppFragment {
  const builder = new FragmentBuilder(options.domain);
  const skipped: SkippedTask[] = [];
  const tasks = [...sources].sort((a, b) => compare(a.id, b.id));
  for (const task of tasks) {
    // A scale-out of a large app rebuilds its fragment; only the new instances are worked out.
    let entry = instances.get(task);
    if (entry === undefined || entry.app !== app) {
      const records: DnsRecord[] = [];
      const reason = instanceRecords({ add: (record) => records.push(Object.freeze(record)) }, app, task, options);
      entry = { app, records, reason };
      instances.set(task, entry);
    }
    for (const record of entry.records) builder.add(record);
    if (entry.reason !== undefined) skipped.push(Object.freeze({ taskId: task.id, reason: entry.reason }));
  }
  return Object.freeze({ ...builder.finish(appId), app, tasks: Object.freeze(tasks), sources, skipped: Object.freeze(skipped) });
}

/** The apex NS, `ns1`, the schedulers (`leader`, `master`, `masterN`, `_leader._tcp|_udp`) and `slave`. */
interface ClusterFragment {
  /** What the fragment was built from besides the task hosts: the same inputs, the same fragment. */
  readonly schedulers: string;
  readonly agents: ClusterView['agents'];
  readonly fragment: Fragment;
}

function clusterFragment(view: ClusterView, agentIps: ReadonlySet<string>, options: RecordOptions): Fragment {
  const { domain, ttl } = options;
  const builder = new FragmentBuilder(domain);
  builder.add({ type: 'NS', name: domain, ttl, host: `ns1.${domain}.` });
  if (options.nameserverAddress !== undefined) addAddress(builder, `ns1.${domain}`, options.nameserverAddress, ttl);

  const masters = (view.masters ?? (view.leader === undefined ? options.masters : [view.leader]) ?? []).map(splitHostPort);
  const leader = view.leader === undefined ? masters[0] : splitHostPort(view.leader);
  if (leader !== undefined) {
    addAddress(builder, `leader.${domain}`, leader.host, ttl);
    if (leader.port !== undefined) {
      for (const proto of ['tcp', 'udp']) builder.add(srv(`_leader._${proto}.${domain}`, leader.port, `leader.${domain}.`, ttl));
    }
  }
  masters.forEach((master, index) => {
    addAddress(builder, `master.${domain}`, master.host, ttl);
    addAddress(builder, `master${index}.${domain}`, master.host, ttl);
  });

  // COMPAT(mesos-dns): `slave.D` lists every agent; agents that registered after the snapshot are
  // known from their tasks' hosts (the event stream carries no agent events).
  for (const ip of [...agentIps].sort(compare)) addAddress(builder, `slave.${domain}`, ip, ttl);
  return builder.finish(CLUSTER_FRAGMENT);
}



function splitHostPort(text: string): { host: string; port: number | undefined } {
  const match = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(text.includes('://') ? new URL(text).host : text);
  const port = match?.[2] === undefined ? undefined : Number(match[2]);
  return { host: match?.[1] ?? text, port: port !== undefined && port > 0 && port < 65536 ? port : undefined };
}

/** Collects one fragment's records, deduplicated (an RRset is a set), each RRset sorted. */
class FragmentBuilder implements RecordSink {
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
function recordKey(record: DnsRecord): string {
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
    const key = JSON.stringify([options.domain, options.ttl, options.nameserverAddress, options.rfc952 === true, options.masters]);
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

  /** The cluster fragment, rebuilt only when the schedulers or the agents' IPs changed. */
  cluster(view: ClusterView, hostsChanged: boolean, options: RecordOptions): ClusterFragment {
    const schedulers = JSON.stringify([view.leader, view.masters]);
    const previous = this.#cluster;
    if (previous !== undefined && !hostsChanged && previous.schedulers === schedulers && previous.agents === view.agents) return previous;
    const agentIps = new Set(this.tasks.hosts);
    for (const agent of view.agents ?? []) agentIps.add(agent.ip);
    return { schedulers, agents: view.agents, fragment: clusterFragment(view, agentIps, options) };
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

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
