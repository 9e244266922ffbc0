import { createHash } from 'node:crypto';
import type { DiscoveryApp, DiscoveryTask, PortProtocol } from '../../events/types.ts';
import { isServing, type ClusterView } from '../../events/view.ts';
import { ipFamily } from './ip.ts';
import { canonicalLabel, sanitizeLabel, taskLabel } from './names.ts';
import type { DnsRecord, NameRecords, RecordTable, RecordType, SkippedTask, SoaRecord } from './record-types.ts';

export type * from './record-types.ts';

/** Mesos-DNS' framework label for Marathon apps: `<task>.marathon.<domain>`. */
export const MARATHON = 'marathon';

// COMPAT(mesos-dns): its SOA defaults (refresh 60 s, retry 600 s, expire 1 day).
const SOA_REFRESH = 60;
const SOA_RETRY = 600;
const SOA_EXPIRE = 86_400;

export interface RecordOptions {
  /** Lower-case, no trailing dot. */
  domain: string;
  /** TTL of every record, and the SOA minimum (negative-caching TTL). */
  ttl: number;
  /** SOA serial; the caller increases it whenever the records change. */
  serial: number;
  /** Address of `ns1.<domain>` when this server listens on a concrete IP; glue for the NS record. */
  nameserverAddress?: string;
}

/**
 * Builds the zone for a cluster view: records only for instances `isServing` admits, names in
 * a stable order so equal views give equal digests.
 */
export function buildRecords(view: ClusterView, options: RecordOptions): RecordTable {
  const zone = new ZoneBuilder(options.domain, options.ttl);
  const soa = soaRecord(options);
  zone.add(soa);
  zone.add({ type: 'NS', name: options.domain, ttl: options.ttl, host: `ns1.${options.domain}.` });
  const nsFamily = options.nameserverAddress === undefined ? undefined : ipFamily(options.nameserverAddress);
  if (options.nameserverAddress !== undefined && nsFamily !== undefined) {
    zone.addAddress(`ns1.${options.domain}`, options.nameserverAddress, nsFamily);
  }

  const skipped: SkippedTask[] = [];
  const tasks = [...view.tasks.values()].sort((a, b) => compare(a.appId, b.appId) || compare(a.id, b.id));
  for (const task of tasks) {
    const app = view.apps.get(task.appId);
    if (app === undefined || !isServing(task, app)) continue;
    const reason = addTask(zone, app, task);
    if (reason !== undefined) skipped.push(Object.freeze({ taskId: task.id, reason }));
  }
  return zone.finish({ soa, eventId: view.eventId, skipped });
}

/** The table served before the first snapshot: the apex only, answering SERVFAIL below it. */
export function unsyncedTable(options: RecordOptions): RecordTable {
  const zone = new ZoneBuilder(options.domain, options.ttl);
  const soa = soaRecord(options);
  zone.add(soa);
  return zone.finish({ soa, eventId: 0, skipped: [], synced: false });
}

/** RFC 1982 serial that increases on every change and also across restarts (clock-based floor). */
export function nextSerial(previous: number, nowSeconds: number): number {
  const floor = Math.floor(nowSeconds) >>> 0;
  const next = (previous + 1) >>> 0;
  return floor > next ? floor : next;
}

function soaRecord(options: RecordOptions): SoaRecord {
  return {
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
  };
}

/** Adds one serving instance; returns why it got no records, if it got none. */
function addTask(zone: ZoneBuilder, app: DiscoveryApp, task: DiscoveryTask): string | undefined {
  const label = taskLabel(app.id);
  if (label === '') return `app id ${app.id} has no character usable in a DNS label`;
  const agentFamily = ipFamily(task.host);
  const taskIps = task.ipAddresses.map((ip) => ip.ipAddress).filter((ip) => ipFamily(ip) !== undefined);
  // DNS.md: the task's own IP when it has one, else the agent's.
  const instanceIps = taskIps.length > 0 ? taskIps : agentFamily === undefined ? [] : [task.host];
  if (instanceIps.length === 0) return `neither host '${task.host}' nor ipAddresses hold an IP literal`;

  const domain = zone.domain;
  const canonical = canonicalLabel(label, task.id, task.slaveId);
  const service = `${label}.${MARATHON}.${domain}`;
  const instance = `${canonical}.${MARATHON}.${domain}`;
  for (const ip of instanceIps) {
    zone.addAddress(service, ip);
    zone.addAddress(instance, ip);
  }
  const slaveService = `${label}.${MARATHON}.slave.${domain}`;
  const slaveInstance = `${canonical}.${MARATHON}.slave.${domain}`;
  if (agentFamily !== undefined) {
    zone.addAddress(slaveService, task.host, agentFamily);
    zone.addAddress(slaveInstance, task.host, agentFamily);
  }

  task.ports.forEach((port, index) => {
    if (!Number.isInteger(port) || port <= 0 || port > 65535) return;
    const definition = app.portDefinitions[index];
    const portName = definition?.name === undefined ? '' : sanitizeLabel(definition.name);
    for (const proto of protocols(definition?.protocol)) {
      zone.addSrv(`_${label}._${proto}.${MARATHON}.${domain}`, port, `${instance}.`);
      if (portName !== '') zone.addSrv(`_${portName}._${label}._${proto}.${MARATHON}.${domain}`, port, `${instance}.`);
      if (agentFamily !== undefined) zone.addSrv(`_${label}._${proto}.${MARATHON}.slave.${domain}`, port, `${slaveInstance}.`);
    }
  });
  return undefined;
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

/** Mutable while building, frozen by `finish`; deduplicates records (an RRset is a set). */
class ZoneBuilder {
  readonly domain: string;
  readonly #ttl: number;
  readonly #names = new Map<string, Map<RecordType, Map<string, DnsRecord>>>();

  constructor(domain: string, ttl: number) {
    this.domain = domain;
    this.#ttl = ttl;
  }

  add(record: DnsRecord): void {
    this.#touch(record.name);
    const byType = this.#names.get(record.name) ?? new Map<RecordType, Map<string, DnsRecord>>();
    this.#names.set(record.name, byType);
    const set = byType.get(record.type) ?? new Map<string, DnsRecord>();
    byType.set(record.type, set);
    set.set(JSON.stringify(record), Object.freeze(record));
  }

  addAddress(name: string, address: string, family: 4 | 6 | undefined = ipFamily(address)): void {
    if (family === 4) this.add({ type: 'A', name, ttl: this.#ttl, address });
    else if (family === 6) this.add({ type: 'AAAA', name, ttl: this.#ttl, address: address.toLowerCase() });
  }

  addSrv(name: string, port: number, target: string): void {
    // DNS.md: `0 1 <port> <target>`; every instance weighs the same.
    this.add({ type: 'SRV', name, ttl: this.#ttl, priority: 0, weight: 1, port, target });
  }

  /**
   * Registers the names between `name` and the apex as empty non-terminals, so `marathon.D`
   * answers NODATA rather than NXDOMAIN — an NXDOMAIN there would tell resolvers that
   * minimise query names (RFC 9156) that nothing exists below it. Mesos-DNS got this wrong.
   */
  #touch(name: string): void {
    for (let current = name; current.length > this.domain.length; current = current.slice(current.indexOf('.') + 1)) {
      if (!this.#names.has(current)) this.#names.set(current, new Map());
      if (current.indexOf('.') < 0) break;
    }
  }

  finish(parts: { soa: SoaRecord; eventId: number; skipped: readonly SkippedTask[]; synced?: boolean }): RecordTable {
    const names = new Map<string, NameRecords>();
    for (const name of [...this.#names.keys()].sort(compare)) {
      const entry: Partial<Record<RecordType, readonly DnsRecord[]>> = {};
      for (const [type, set] of [...(this.#names.get(name) ?? new Map<RecordType, Map<string, DnsRecord>>())].sort(([a], [b]) => compare(a, b))) {
        entry[type] = Object.freeze([...set.keys()].sort(compare).map((key) => set.get(key) as DnsRecord));
      }
      names.set(name, Object.freeze(entry) as NameRecords);
    }
    return Object.freeze({
      domain: this.domain,
      synced: parts.synced ?? true,
      eventId: parts.eventId,
      soa: parts.soa,
      names: names as ReadonlyMap<string, NameRecords>,
      skipped: Object.freeze([...parts.skipped]),
      digest: digestOf(names),
    });
  }
}

/** Hash of every record except the SOA serial, which changes exactly when this does. */
function digestOf(names: ReadonlyMap<string, NameRecords>): string {
  const hash = createHash('sha1');
  for (const [name, entry] of names) {
    hash.update(name).update('\0');
    hash.update(JSON.stringify(entry, (key, value: unknown) => (key === 'serial' ? undefined : value))).update('\n');
  }
  return hash.digest('hex');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
