import type { DiscoveryApp, DiscoveryTask, PortProtocol } from '../../events/types.ts';
import { isServing, type ClusterView } from '../../events/core/view.ts';
import { compare, FragmentBuilder, type AppFragment, type Fragment, type InstanceEntry, type RecordSink } from './fragment.ts';
import { appPorts, networkMode, ownIps } from '../../events/core/app-ports.ts';
import { ipFamily } from './ip.ts';
import { DEFAULT_IP_SOURCES, instanceAddresses } from './ip-sources.ts';
import { NameIndex } from './name-index.ts';
import { canonicalName, sanitizeLabel, taskNames } from './names.ts';
import type { DnsRecord, RecordOptions, RecordTable, SkippedTask, SoaRecord } from './record-types.ts';
import { reverseName } from './reverse.ts';
import type { ChangeHint } from './task-index.ts';
import { ZoneMemo } from './zone-memo.ts';

export type * from './record-types.ts';

/** Mesos-DNS' framework label for Marathon apps: `<task>.marathon.<domain>`. */
export const MARATHON = 'marathon';

// COMPAT(mesos-dns): its SOA defaults (refresh 60 s, retry 600 s, expire 1 day).
const SOA_REFRESH = 60;
const SOA_RETRY = 600;
const SOA_EXPIRE = 86_400;

const CLUSTER_FRAGMENT = '\0cluster';

/** RFC 1035: at most 253 characters in a name written with dots (255 bytes on the wire). */
const MAX_NAME_LENGTH = 253;

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
  memo.apply(apps, changes.apps, memo.cluster(view, changes.hostsChanged, (agentIps) => clusterFragment(view, agentIps, options)));

  const apex = memo.index.get(options.domain) ?? {};
  const names = memo.index.patch(new Map([[options.domain, Object.freeze({ ...apex, SOA: Object.freeze([soa]) })]]));
  return Object.freeze({
    domain: options.domain,
    ttl: options.ttl,
    rfc952: options.rfc952 === true,
    ipSources: options.ipSources ?? DEFAULT_IP_SOURCES,
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
    ipSources: options.ipSources ?? DEFAULT_IP_SOURCES,
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
export function instanceRecords(sink: RecordSink, app: DiscoveryApp, task: DiscoveryTask, options: Pick<RecordOptions, 'domain' | 'ttl' | 'rfc952' | 'ipSources'>): string | undefined {
  const names = taskNames(app.id, { rfc952: options.rfc952 === true });
  if (names.length === 0) return `app id ${app.id} has no character usable in a DNS label`;
  const agentFamily = ipFamily(task.host);
  const sources = options.ipSources ?? DEFAULT_IP_SOURCES;
  // DNS.md: the task's own IP when it has one, else the agent's (Mesos-DNS' IPSources).
  const instanceIps = instanceAddresses(task, sources);
  if (instanceIps.length === 0) return `no IP literal from --ip-sources ${sources.join(',')} (host '${task.host}', ${task.ipAddresses.length} ipAddresses)`;

  const { domain, ttl } = options;
  // A name no resolver can send (deeply nested app ids) is left out rather than served broken.
  const fitting: RecordSink = { add: (record) => (record.name.length <= MAX_NAME_LENGTH ? sink.add(record) : undefined) };
  const endpoints = serviceEndpoints(app, task, instanceIps);
  names.forEach((name, index) => {
    const canonical = canonicalName(name, task.id, task.slaveId);
    const service = `${name}.${MARATHON}.${domain}`;
    const instance = `${canonical}.${MARATHON}.${domain}`;
    for (const ip of instanceIps) {
      addAddress(fitting, service, ip, ttl);
      addAddress(fitting, instance, ip, ttl);
      const reverse = reverseName(ip);
      // One PTR per instance: the one-label canonical name.
      if (index === 0 && reverse !== undefined) fitting.add({ type: 'PTR', name: reverse, ttl, host: `${instance}.` });
    }
    const slaveService = `${name}.${MARATHON}.slave.${domain}`;
    const slaveInstance = `${canonical}.${MARATHON}.slave.${domain}`;
    if (agentFamily !== undefined) {
      addAddress(fitting, slaveService, task.host, ttl, agentFamily);
      addAddress(fitting, slaveInstance, task.host, ttl, agentFamily);
    }

    for (const endpoint of endpoints) {
      const target = endpoint.on === 'instance' ? `${instance}.` : agentFamily === undefined ? undefined : `${slaveInstance}.`;
      if (target === undefined) continue;
      for (const proto of protocols(endpoint.protocol)) {
        fitting.add(srv(`_${name}._${proto}.${MARATHON}.${domain}`, endpoint.port, target, ttl));
        if (endpoint.portName !== '') fitting.add(srv(`_${endpoint.portName}._${name}._${proto}.${MARATHON}.${domain}`, endpoint.port, target, ttl));
      }
      // COMPAT(mesos-dns): below `.slave` every host port of the task is listed under both `_tcp`
      // and `_udp`, whatever its protocol (Mesos-DNS reads them from the task's resources, which
      // carry none).
      if (agentFamily !== undefined && endpoint.hostPort) {
        for (const proto of ['tcp', 'udp']) fitting.add(srv(`_${name}._${proto}.${MARATHON}.slave.${domain}`, endpoint.port, `${slaveInstance}.`, ttl));
      }
    }
  });
  return undefined;
}

/** One port an instance serves, and which of its names resolves to the address the port is open on. */
interface Endpoint {
  port: number;
  protocol: PortProtocol | undefined;
  /** Sanitized port name; '' when the port has none. */
  portName: string;
  /** A port on the agent (in the task's resources, so listed below `.slave` too). */
  hostPort: boolean;
  /** `instance`: `C.F.D` (its addresses per --ip-sources); `agent`: `C.F.slave.D`. */
  on: 'instance' | 'agent';
}

/**
 * The instance's SRV ports. Host networking: its host ports, index-aligned with the port
 * definitions, on the instance's name (whose addresses are the agent's). Container networking
 * (Marathon's discovery info: a mapping's host port when it has one, else its container port):
 * host ports on the agent's name, so they resolve to where they are open whatever the instance's
 * addresses are; container ports on the instance's name, only when that name holds the task's own
 * IP (with `host` before `netinfo` in --ip-sources it holds the agent's, where they are not open).
 */
function serviceEndpoints(app: DiscoveryApp, task: DiscoveryTask, instanceIps: readonly string[]): Endpoint[] {
  const endpoints: Endpoint[] = [];
  if (networkMode(app) === 'host' || app.container?.portMappings === undefined || app.container.portMappings.length === 0) {
    task.ports.forEach((port, portIndex) => {
      const definition = app.portDefinitions[portIndex];
      if (validPort(port)) endpoints.push({ port, protocol: definition?.protocol, portName: portLabel(definition?.name), hostPort: true, on: 'instance' });
    });
    return endpoints;
  }
  const own = new Set(ownIps(task));
  const onOwnIp = instanceIps.some((ip) => own.has(ip));
  for (const port of appPorts(app)) {
    const portName = portLabel(port.name);
    if (port.hostPortIndex !== undefined) {
      const hostPort = task.ports[port.hostPortIndex];
      if (hostPort !== undefined && validPort(hostPort)) endpoints.push({ port: hostPort, protocol: port.protocol, portName, hostPort: true, on: 'agent' });
    } else if (onOwnIp && port.containerPort !== undefined && validPort(port.containerPort)) {
      endpoints.push({ port: port.containerPort, protocol: port.protocol, portName, hostPort: false, on: 'instance' });
    }
  }
  return endpoints;
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port > 0 && port <= 65535;
}

function portLabel(name: string | undefined): string {
  return name === undefined ? '' : sanitizeLabel(name);
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


function clusterFragment(view: ClusterView, agentIps: ReadonlySet<string>, options: RecordOptions): Fragment {
  const { domain, ttl } = options;
  const builder = new FragmentBuilder(domain);
  builder.add({ type: 'NS', name: domain, ttl, host: `ns1.${domain}.` });
  if (options.nameserverAddress !== undefined) addAddress(builder, `ns1.${domain}`, options.nameserverAddress, ttl);

  const masters = (view.masters ?? (view.leader === undefined ? options.masters : [view.leader]) ?? []).map(splitHostPort);
  const leader = view.leader === undefined ? masters[0] : splitHostPort(view.leader);
  if (leader !== undefined) {
    addAddress(builder, `leader.${domain}`, leader.host, ttl);
    // Mesos-DNS' framework records (`<framework>.D`, `_framework._tcp.<framework>.D`): Marathon's
    // is the leading scheduler, and its port the API's.
    addAddress(builder, `${MARATHON}.${domain}`, leader.host, ttl);
    if (leader.port !== undefined) {
      for (const proto of ['tcp', 'udp']) builder.add(srv(`_leader._${proto}.${domain}`, leader.port, `leader.${domain}.`, ttl));
      builder.add(srv(`_framework._tcp.${MARATHON}.${domain}`, leader.port, `${MARATHON}.${domain}.`, ttl));
    }
  }
  masters.forEach((master, index) => {
    addAddress(builder, `master.${domain}`, master.host, ttl);
    addAddress(builder, `master${index}.${domain}`, master.host, ttl);
    // Mesos-DNS' `_master` names (its early versions); each port with its own master's name, so
    // schedulers on one host with different ports are told apart.
    if (master.port !== undefined) {
      for (const proto of ['tcp', 'udp']) builder.add(srv(`_master._${proto}.${domain}`, master.port, `master${index}.${domain}.`, ttl));
    }
  });

  // COMPAT(mesos-dns): `slave.D` lists every reachable agent, and `_slave._tcp.D` each agent's
  // HTTP port with `slave.D.` as the target (which agent has which port is not said).
  for (const ip of [...agentIps].sort(compare)) addAddress(builder, `slave.${domain}`, ip, ttl);
  for (const agent of view.agents ?? []) {
    if (agent.port !== undefined && ipFamily(agent.ip) !== undefined) builder.add(srv(`_slave._tcp.${domain}`, agent.port, `slave.${domain}.`, ttl));
  }
  return builder.finish(CLUSTER_FRAGMENT);
}
function splitHostPort(text: string): { host: string; port: number | undefined } {
  const match = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(text.includes('://') ? new URL(text).host : text);
  const port = match?.[2] === undefined ? undefined : Number(match[2]);
  return { host: match?.[1] ?? text, port: port !== undefined && port > 0 && port < 65536 ? port : undefined };
}

function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

