/**
 * The cluster as Mesos' `GET /master/state` shows it: enough of Mesos' shape for the real
 * Mesos-DNS (records/state) and other read-only Mesos tools to build their view from Corral.
 *
 * Mesos-DNS reads `leader`, `slaves[].{id,hostname,pid}`, `frameworks[].{name,pid,hostname}` and
 * per task `{id,name,slave_id,state,resources.ports,statuses[].{state,timestamp,container_status},
 * discovery}`. A `pid` it cannot parse (`name@host:port`, host resolvable) fails the whole
 * document, so every pid here is built from an address and a port.
 */
import { TERMINAL_TASK_STATES, type PortDefinition, type PortMapping } from '../../events/types.ts';
import type { PortRange, Resource } from '../../shared/agent-protocol.ts';
import type { AgentRecord, AppDefinition, ClusterState, Instance } from '../types.ts';
import type { CompletedTask } from './completed-tasks.ts';
import { instanceHealthy } from './health.ts';
import { marathonTaskName } from '../../shared/marathon-names.ts';

/** A Mesos `Resources` model: scalars, and ports as a ranges string (absent without ports). */
export interface MesosResources {
  cpus: number;
  gpus: number;
  mem: number;
  disk: number;
  ports?: string;
}

export interface MesosLabel {
  key: string;
  value: string;
}

export interface MesosTaskStatus {
  state: string;
  /** Seconds since the epoch, fractional (Mesos' `TaskStatus.timestamp`). */
  timestamp: number;
  container_status: { network_infos: Array<{ ip_addresses: Array<{ ip_address: string }> }> };
  healthy?: boolean;
}

export interface MesosDiscoveryPort {
  number: number;
  name?: string;
  protocol: string;
  labels?: { labels: MesosLabel[] };
}

export interface MesosDiscoveryInfo {
  visibility: 'FRAMEWORK';
  name: string;
  ports: { ports: MesosDiscoveryPort[] };
}

export interface MesosTask {
  id: string;
  name: string;
  framework_id: string;
  executor_id: string;
  slave_id: string;
  state: string;
  resources: MesosResources;
  role: string;
  statuses: MesosTaskStatus[];
  labels: MesosLabel[];
  discovery: MesosDiscoveryInfo;
}

export interface MesosSlave {
  id: string;
  pid: string;
  hostname: string;
  port: number;
  attributes: Record<string, string | number>;
  resources: MesosResources;
  used_resources: MesosResources;
  /** The resources reserved for a role, by role (`*`, unreserved, left out), as Mesos shows them. */
  reserved_resources: Record<string, MesosResources>;
  registered_time: number;
  active: boolean;
  deactivated: boolean;
}

export interface MesosFramework {
  id: string;
  name: 'marathon';
  pid: string;
  hostname: string;
  webui_url: string;
  user: string;
  role: string;
  active: boolean;
  connected: boolean;
  recovered: boolean;
  checkpoint: boolean;
  failover_timeout: number;
  registered_time: number;
  capabilities: string[];
  used_resources: MesosResources;
  resources: MesosResources;
  offered_resources: MesosResources;
  tasks: MesosTask[];
  unreachable_tasks: MesosTask[];
  completed_tasks: MesosTask[];
  offers: never[];
  executors: never[];
}

export interface MesosMasterInfo {
  id: string;
  pid: string;
  hostname: string;
  port: number;
  /** COMPAT(mesos): the IPv4 address as Mesos stores it, network byte order read as a little-endian uint32. */
  ip?: number;
  address: { hostname: string; ip: string; port: number };
}

/** What Mesos' `/version` and the top of `/master/state` say of the build. */
export interface MesosBuild {
  version: string;
  /** Absent when the build does not know its commit (Mesos omits it then too). */
  git_sha?: string;
  build_date: string;
  /** Seconds since the epoch. */
  build_time: number;
  build_user: string;
}

export interface MesosState extends MesosBuild {
  id: string;
  pid: string;
  hostname: string;
  leader: string;
  leader_info: MesosMasterInfo;
  start_time: number;
  elected_time: number;
  activated_slaves: number;
  deactivated_slaves: number;
  unreachable_slaves: number;
  /** Master capabilities (`{type}`): Corral implements none of Mesos' (agent update, draining calls, quota v2). */
  capabilities: Array<{ type: string }>;
  flags: Readonly<Record<string, string>>;
  slaves: MesosSlave[];
  frameworks: MesosFramework[];
  completed_frameworks: never[];
  unregistered_frameworks: never[];
  orphan_tasks: never[];
}

export interface MesosStateOptions {
  /** `host:port` (or `[v6]:port`) this scheduler is reached at: the leader and the framework. */
  advertised: string;
  /** Agents whose command stream is open and alive (Mesos' `active`). */
  connectedAgents: ReadonlySet<string>;
  /** ISO time this scheduler started (Mesos' `start_time` and `elected_time`). */
  startedAt: string;
  /** Tasks that ended lately, oldest first (core/completed-tasks.ts). */
  completedTasks?: readonly CompletedTask[];
  build?: MesosBuild;
  /** The scheduler's settings as Mesos' `flags` (strings). */
  flags?: Readonly<Record<string, string>>;
}

/** A build that carries no stamp (run from source): the version only. */
export const UNSTAMPED_BUILD = (version: string): MesosBuild => ({ version, build_date: '', build_time: 0, build_user: '' });

/** Mesos' default agent port, for agents whose endpoint names none. */
const DEFAULT_AGENT_PORT = 5051;

export function buildMesosState(state: ClusterState, options: MesosStateOptions): MesosState {
  const frameworkId = String(state.meta.get('clusterId') ?? '');
  const { host, port } = splitHostPort(options.advertised);
  const address = upidAddress(host, port);
  const startTime = seconds(options.startedAt);
  const liveByAgent = new Map<string, Instance[]>();
  for (const instance of state.instances.values()) {
    if (!isLive(instance)) continue;
    const list = liveByAgent.get(instance.agentId);
    if (list === undefined) liveByAgent.set(instance.agentId, [instance]);
    else list.push(instance);
  }
  const slaves = [...state.agents.values()].map((agent) => slaveJson(agent, liveByAgent.get(agent.id) ?? [], options.connectedAgents));
  const active = slaves.filter((s) => s.active).length;
  const ipNumber = ipv4Number(host);
  return {
    ...(options.build ?? UNSTAMPED_BUILD('')),
    id: frameworkId,
    pid: `master@${address}`,
    hostname: host,
    leader: `master@${address}`,
    leader_info: {
      id: frameworkId,
      pid: `master@${address}`,
      hostname: host,
      port,
      ...(ipNumber !== undefined ? { ip: ipNumber } : {}),
      address: { hostname: host, ip: host, port },
    },
    start_time: startTime,
    elected_time: startTime,
    activated_slaves: active,
    deactivated_slaves: slaves.length - active,
    unreachable_slaves: [...state.agents.values()].filter((agent) => agent.unreachableSince !== undefined).length,
    capabilities: [],
    flags: options.flags ?? {},
    slaves,
    frameworks: [frameworkJson(state, frameworkId, host, address, options)],
    completed_frameworks: [],
    unregistered_frameworks: [],
    orphan_tasks: [],
  };
}


/**
 * Mesos' ranges text for a set of ports: sorted, adjacent ports merged, `", "` between ranges
 * (`[31000-31001, 31005-31005]`); Mesos-DNS expands it back into single ports.
 */
export function formatPortRanges(ports: readonly number[]): string {
  return formatRanges(ports.map((port) => ({ begin: port, end: port })));
}

/** Mesos' ranges text: sorted, overlapping or adjacent ranges merged, `", "` between them. */
export function formatRanges(ranges: readonly PortRange[]): string {
  const merged: PortRange[] = [];
  for (const range of [...ranges].sort((a, b) => a.begin - b.begin)) {
    const last = merged.at(-1);
    if (last !== undefined && range.begin <= last.end + 1) last.end = Math.max(last.end, range.end);
    else merged.push({ begin: range.begin, end: range.end });
  }
  return `[${merged.map(({ begin, end }) => `${begin}-${end}`).join(', ')}]`;
}

function frameworkJson(state: ClusterState, frameworkId: string, host: string, address: string, options: MesosStateOptions): MesosFramework {
  const tasks: MesosTask[] = [];
  const unreachable: MesosTask[] = [];
  const completed: MesosTask[] = [];
  const live: Instance[] = [];
  // Tasks of one app share its name and labels (read-only JSON, so shared objects are safe).
  const perApp = new Map<string, AppParts>();
  const partsOf = (appId: string): AppParts => {
    let parts = perApp.get(appId);
    if (parts === undefined) {
      const app = state.apps.get(appId);
      parts = { app, name: marathonTaskName(appId), labels: labelList(app?.labels ?? {}) };
      perApp.set(appId, parts);
    }
    return parts;
  };
  for (const instance of state.instances.values()) {
    const task = taskJson(instance, partsOf(instance.appId), state.agents.get(instance.agentId), frameworkId);
    // Mesos keeps unreachable and terminal tasks out of `tasks`; Mesos-DNS only reads `tasks`.
    if (instance.state === 'TASK_UNREACHABLE') unreachable.push(task);
    else if (!isLive(instance)) completed.push(task);
    else {
      tasks.push(task);
      live.push(instance);
    }
  }
  // The history holds them oldest first; Mesos lists its circular buffer the same way.
  for (const { instance, endedAt } of options.completedTasks ?? []) {
    completed.push(taskJson(instance, partsOf(instance.appId), state.agents.get(instance.agentId), frameworkId, endedAt));
  }
  const used = usedResources(live);
  return {
    id: frameworkId,
    name: 'marathon',
    pid: `scheduler(1)@${address}`,
    hostname: host,
    webui_url: `http://${options.advertised}`,
    user: 'root',
    role: '*',
    active: true,
    connected: true,
    recovered: false,
    checkpoint: true,
    failover_timeout: 604800,
    registered_time: seconds(options.startedAt),
    capabilities: ['PARTITION_AWARE', 'TASK_KILLING_STATE'],
    used_resources: used,
    resources: used,
    offered_resources: emptyResources(),
    tasks,
    unreachable_tasks: unreachable,
    completed_tasks: completed,
    offers: [],
    executors: [],
  };
}

interface AppParts {
  app: AppDefinition | undefined;
  name: string;
  labels: MesosLabel[];
}

function taskJson(instance: Instance, { app, name, labels }: AppParts, agent: AgentRecord | undefined, frameworkId: string, endedAt?: string): MesosTask {
  return {
    id: instance.taskId,
    name,
    framework_id: frameworkId,
    // COMPAT(mesos): command tasks have no executor of their own; Mesos shows an empty id.
    executor_id: '',
    slave_id: instance.agentId,
    state: instance.state,
    resources: taskResources(instance),
    role: instance.allocation?.[0]?.role ?? '*',
    statuses: statuses(instance, app, agent, endedAt),
    labels,
    discovery: {
      visibility: 'FRAMEWORK',
      name,
      ports: { ports: app?.container?.portMappings !== undefined ? mappingPorts(app.container.portMappings, instance.ports) : discoveryPorts(app?.portDefinitions ?? [], instance.ports) },
    },
  };
}

/**
 * The status history Mesos would hold. Corral keeps the current state and when the task first
 * ran (and, for a completed task, when it ended), not each update, so: nothing while staging (Mesos has received no update yet), a
 * TASK_RUNNING status at `startedAt` once it ran, and the current state as the newest status.
 * Mesos-DNS takes the IPs of the newest TASK_RUNNING status, so that one carries the agent IP.
 */
function statuses(instance: Instance, app: AppDefinition | undefined, agent: AgentRecord | undefined, endedAt?: string): MesosTaskStatus[] {
  // A task on a bridge or container network has its own addresses (Mesos-DNS IPSources netinfo).
  const ips = instance.ipAddresses ?? [agent?.ip ?? instance.host];
  const status = (state: string, iso: string): MesosTaskStatus => ({
    state,
    timestamp: seconds(iso),
    container_status: { network_infos: [{ ip_addresses: ips.map((ip) => ({ ip_address: ip })) }] },
  });
  const out: MesosTaskStatus[] = [];
  if (instance.startedAt !== undefined) out.push(status('TASK_RUNNING', instance.startedAt));
  if (instance.state !== 'TASK_STAGING' && instance.state !== 'TASK_RUNNING') {
    // No time is kept for the latest transition (but for unreachability); it cannot precede the start.
    out.push(status(instance.state, endedAt ?? instance.unreachableSince ?? instance.startedAt ?? instance.stagedAt));
  }
  // Like Mesos, `healthy` only once a check has reported.
  const healthy = instance.healthResults === undefined ? undefined : instanceHealthy(instance, app);
  const newest = out.at(-1);
  if (newest !== undefined && healthy !== undefined) newest.healthy = healthy;
  return out;
}

/**
 * COMPAT(marathon): Marathon's DiscoveryInfo ports: one per port definition and protocol
 * (`udp,tcp` gives two), numbered with the task's host port, named and labelled as defined.
 */
function discoveryPorts(definitions: readonly PortDefinition[], hostPorts: readonly number[]): MesosDiscoveryPort[] {
  return definitions.flatMap((definition, index) => {
    const number = hostPorts[index];
    if (number === undefined) return [];
    return definition.protocol.split(',').map((protocol) => ({
      number,
      ...(definition.name !== undefined ? { name: definition.name } : {}),
      protocol,
      ...(definition.labels !== undefined && Object.keys(definition.labels).length > 0 ? { labels: { labels: labelList(definition.labels) } } : {}),
    }));
  });
}

/**
 * COMPAT(marathon): the DiscoveryInfo ports of port mappings: the host port (label
 * `network-scope: host`) for a mapping with one, else the container port (`network-scope: container`).
 */
function mappingPorts(mappings: readonly PortMapping[], hostPorts: readonly number[]): MesosDiscoveryPort[] {
  let hostIndex = 0;
  return mappings.flatMap((mapping) => {
    const number = mapping.hostPort === undefined ? mapping.containerPort : hostPorts[hostIndex++];
    if (number === undefined) return [];
    const labels = labelList({ ...mapping.labels, 'network-scope': mapping.hostPort === undefined ? 'container' : 'host' });
    return mapping.protocol.split(',').map((protocol) => ({ number, ...(mapping.name !== undefined ? { name: mapping.name } : {}), protocol, labels: { labels } }));
  });
}

/** Holds resources on its agent and shows in Mesos' `tasks`: neither terminal nor unreachable. */
function isLive(instance: Instance): boolean {
  return !TERMINAL_TASK_STATES.has(instance.state) && instance.state !== 'TASK_UNREACHABLE';
}

function slaveJson(agent: AgentRecord, live: readonly Instance[], connected: ReadonlySet<string>): MesosSlave {
  const port = agentPort(agent.endpoint);
  return {
    id: agent.id,
    pid: `slave(1)@${upidAddress(agent.ip, port)}`,
    hostname: agent.hostname,
    port,
    attributes: { ...agent.attributes },
    resources: agentResources(agent.resources),
    used_resources: usedResources(live),
    reserved_resources: reservedResources(agent.resources),
    registered_time: seconds(agent.registeredAt),
    active: connected.has(agent.id),
    deactivated: agent.draining === true,
  };
}

function agentResources(resources: readonly Resource[]): MesosResources {
  const out = emptyResources();
  const ports: PortRange[] = [];
  for (const resource of resources) {
    if (resource.name === 'ports') {
      ports.push(...(resource.ranges ?? []));
    } else if (resource.scalar !== undefined && (resource.name === 'cpus' || resource.name === 'gpus' || resource.name === 'mem' || resource.name === 'disk')) {
      out[resource.name] = round(out[resource.name] + resource.scalar);
    }
  }
  return ports.length > 0 ? { ...out, ports: formatRanges(ports) } : out;
}

function reservedResources(resources: readonly Resource[]): Record<string, MesosResources> {
  const roles = [...new Set(resources.map((r) => r.role).filter((role) => role !== '*'))].sort();
  return Object.fromEntries(roles.map((role) => [role, agentResources(resources.filter((r) => r.role === role))]));
}

function usedResources(instances: readonly Instance[]): MesosResources {
  const out = emptyResources();
  const ports: number[] = [];
  for (const instance of instances) {
    out.cpus = round(out.cpus + instance.cpus);
    out.mem = round(out.mem + instance.mem);
    out.disk = round(out.disk + instance.disk);
    ports.push(...instance.ports);
  }
  return ports.length > 0 ? { ...out, ports: formatPortRanges(ports) } : out;
}

function taskResources(instance: Instance): MesosResources {
  const out: MesosResources = { cpus: instance.cpus, gpus: 0, mem: instance.mem, disk: instance.disk };
  if (instance.ports.length === 1) out.ports = `[${instance.ports[0]}-${instance.ports[0]}]`;
  else if (instance.ports.length > 1) out.ports = formatPortRanges(instance.ports);
  return out;
}

function emptyResources(): MesosResources {
  return { cpus: 0, gpus: 0, mem: 0, disk: 0 };
}

function labelList(labels: Readonly<Record<string, string>>): MesosLabel[] {
  return Object.entries(labels).map(([key, value]) => ({ key, value }));
}

/** Mesos scalars are fixed-point with three decimals: 0.1 + 0.2 shows as 0.3. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function seconds(iso: string): number {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? 0 : ms / 1000;
}

function splitHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (match === null) return { host: text, port: 0 };
  return { host: match[1] ?? match[2] ?? '', port: Number(match[3]) };
}

/** `host:port` as a libprocess UPID wants it (IPv6 in brackets, which Go's SplitHostPort needs). */
function upidAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The port of the agent's own HTTP endpoint (where Mesos' agent pid points). */
function agentPort(endpoint: string): number {
  if (!URL.canParse(endpoint)) return DEFAULT_AGENT_PORT;
  const url = new URL(endpoint);
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

function ipv4Number(host: string): number | undefined {
  const parts = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host)?.slice(1).map(Number);
  if (parts === undefined || parts.some((p) => p > 255)) return undefined;
  const [a = 0, b = 0, c = 0, d = 0] = parts;
  return ((d << 24) >>> 0) + (c << 16) + (b << 8) + a;
}
