/**
 * Mesos master endpoints beyond `/master/state`, each a view of the one state document
 * (core/mesos-state.ts) so that they never disagree with it: `/master/slaves`,
 * `/master/frameworks`, `/master/tasks`, `/master/roles`, `/master/state-summary`,
 * `/metrics/snapshot` and `/flags`. Shapes follow Mesos 1.x (src/master/readonly_handler.cpp,
 * src/master/metrics.cpp); what Corral cannot fill is left out or zero, as docs/mesos-endpoints.md says.
 */
import { TERMINAL_TASK_STATES, type TaskState } from '../../events/types.ts';
import type { MesosFramework, MesosResources, MesosSlave, MesosState, MesosTask } from './mesos-state.ts';

/** Mesos' `TASK_LIMIT`: `/master/tasks` without `limit`. */
export const DEFAULT_TASK_LIMIT = 100;

export interface MesosTasksQuery {
  limit?: string | undefined;
  offset?: string | undefined;
  order?: string | undefined;
  framework_id?: string | undefined;
  task_id?: string | undefined;
}

/** `/master/slaves`: the registered agents; Corral recovers none without their registering again. */
export function mesosSlaves(state: MesosState): { slaves: MesosSlave[]; recovered_slaves: never[] } {
  return { slaves: state.slaves, recovered_slaves: [] };
}

/** `/master/frameworks`: Corral is the one framework, always registered. */
export function mesosFrameworks(state: MesosState): Pick<MesosState, 'frameworks' | 'completed_frameworks' | 'unregistered_frameworks'> {
  return { frameworks: state.frameworks, completed_frameworks: [], unregistered_frameworks: [] };
}

/** A non-negative integer from a query value; anything else is the default (Mesos ignores what it cannot parse). */
function count(value: string | undefined, fallback: number): number {
  return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : fallback;
}

const firstStatusTime = (task: MesosTask): number | undefined => task.statuses[0]?.timestamp;

/**
 * `/master/tasks`: live, unreachable and completed tasks, sorted by their first status
 * (newest first unless `order=asc`; tasks with no status yet sort as the oldest), filtered by
 * `framework_id`, `task_id` and what the caller may see, then `offset` and `limit` (100 by
 * default), as Mesos does.
 */
export function mesosTasks(state: MesosState, query: MesosTasksQuery, visible: (taskId: string) => boolean = () => true): { tasks: MesosTask[] } {
  const limit = count(query.limit, DEFAULT_TASK_LIMIT);
  const offset = count(query.offset, 0);
  const ascending = query.order === 'asc';
  const tasks = state.frameworks
    .filter((framework) => query.framework_id === undefined || framework.id === query.framework_id)
    .flatMap((framework) => [...framework.tasks, ...framework.unreachable_tasks, ...framework.completed_tasks])
    .filter((task) => (query.task_id === undefined || task.id === query.task_id) && visible(task.id));
  const sorted = tasks.sort((a, b) => {
    const ta = firstStatusTime(a) ?? -Infinity;
    const tb = firstStatusTime(b) ?? -Infinity;
    if (ta === tb) return 0;
    return ascending ? (ta < tb ? -1 : 1) : (ta > tb ? -1 : 1);
  });
  return { tasks: sorted.slice(offset, offset + limit) };
}

/** Mesos' `ResourceQuantities` JSON: scalar names to amounts, zeros left out. */
type Quantities = Record<string, number>;

function quantities(resources: readonly MesosResources[]): Quantities {
  const out: Quantities = {};
  for (const r of resources) {
    for (const name of ['cpus', 'gpus', 'mem', 'disk'] as const) {
      if (r[name] !== 0) out[name] = Math.round(((out[name] ?? 0) + r[name]) * 1000) / 1000;
    }
  }
  return out;
}

export interface MesosRole {
  name: string;
  weight: number;
  quota: { role: string; guarantee: Quantities; limit: Quantities; consumed: Quantities };
  resources: Quantities;
  allocated: Quantities;
  offered: Quantities;
  reserved: Quantities;
  frameworks: string[];
}

/**
 * `/master/roles`: `*` and every role a live task holds resources under, with what they hold.
 * Corral has no Mesos quota per role (its quotas are per group, /v2/quotas), offers, reservations or weights.
 */
export function mesosRoles(state: MesosState): { roles: MesosRole[] } {
  const byRole = new Map<string, { resources: MesosResources[]; frameworks: Set<string> }>([['*', { resources: [], frameworks: new Set() }]]);
  for (const framework of state.frameworks) {
    for (const task of framework.tasks) {
      const entry = byRole.get(task.role) ?? { resources: [], frameworks: new Set<string>() };
      entry.resources.push(task.resources);
      entry.frameworks.add(framework.id);
      byRole.set(task.role, entry);
    }
    byRole.get(framework.role)?.frameworks.add(framework.id);
  }
  const roles = [...byRole.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, { resources, frameworks }]): MesosRole => {
    const allocated = quantities(resources);
    return { name, weight: 1, quota: { role: name, guarantee: {}, limit: {}, consumed: allocated }, resources: allocated, allocated, offered: {}, reserved: {}, frameworks: [...frameworks] };
  });
  return { roles };
}

/** Mesos' per-slave and per-framework task counts (it leaves out TASK_GONE and the like too). */
const SUMMARY_STATES = ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_FINISHED', 'TASK_KILLED', 'TASK_FAILED', 'TASK_LOST', 'TASK_ERROR', 'TASK_UNREACHABLE'] as const;
type StateCounts = Record<(typeof SUMMARY_STATES)[number], number>;

function stateCounts(tasks: readonly MesosTask[]): StateCounts {
  const counts = Object.fromEntries(SUMMARY_STATES.map((s) => [s, 0])) as StateCounts;
  for (const task of tasks) if (task.state in counts) counts[task.state as keyof StateCounts]++;
  return counts;
}

const allTasks = (framework: MesosFramework): MesosTask[] => [...framework.tasks, ...framework.unreachable_tasks, ...framework.completed_tasks];

/** `/master/state-summary`: each agent and framework with its task counts and the ids on the other side. */
export function mesosStateSummary(state: MesosState): { hostname: string; slaves: unknown[]; frameworks: unknown[] } {
  const bySlave = new Map<string, MesosTask[]>();
  for (const task of state.frameworks.flatMap(allTasks)) {
    const list = bySlave.get(task.slave_id);
    if (list === undefined) bySlave.set(task.slave_id, [task]);
    else list.push(task);
  }
  const slaves = state.slaves.map((slave) => {
    const own = bySlave.get(slave.id) ?? [];
    return { ...slave, ...stateCounts(own), framework_ids: [...new Set(own.map((task) => task.framework_id))] };
  });
  const frameworks = state.frameworks.map((framework) => {
    const own = allTasks(framework);
    return {
      id: framework.id,
      name: framework.name,
      pid: framework.pid,
      used_resources: framework.used_resources,
      offered_resources: framework.offered_resources,
      capabilities: framework.capabilities,
      hostname: framework.hostname,
      webui_url: framework.webui_url,
      active: framework.active,
      connected: framework.connected,
      recovered: framework.recovered,
      ...stateCounts(own),
      slave_ids: [...new Set(own.map((task) => task.slave_id))],
    };
  });
  return { hostname: state.hostname, slaves, frameworks };
}

/** What `/metrics/snapshot` needs besides the state document. */
export interface MetricsInputs {
  nowMs: number;
  /** Tasks that ended in each terminal state since this scheduler started (Mesos' counters). */
  endedByState: ReadonlyMap<TaskState, number>;
  /** This machine (Mesos' `system/*`), read by the caller. */
  system: { cpus: number; load: readonly [number, number, number]; memTotalBytes: number; memFreeBytes: number };
}

const GAUGE_STATES = ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_UNREACHABLE'] as const;
const metricName = (state: TaskState): string => `master/tasks_${state.slice('TASK_'.length).toLowerCase()}`;

/**
 * `/metrics/snapshot`: Mesos' metric names (a flat object) for what Corral knows: the
 * election, agents, frameworks, tasks by state (live states as gauges, terminal ones counted
 * since the start, as Mesos counts them), resources and this machine. Message and registrar
 * counters of Mesos' own protocol have no counterpart and are left out.
 */
export function mesosMetricsSnapshot(state: MesosState, inputs: MetricsInputs): Record<string, number> {
  const out: Record<string, number> = {};
  const total = state.slaves.length;
  const active = state.slaves.filter((slave) => slave.active).length;
  out['master/elected'] = 1;
  out['master/uptime_secs'] = Math.max(0, inputs.nowMs / 1000 - state.start_time);
  out['master/slaves_active'] = active;
  out['master/slaves_inactive'] = total - active;
  out['master/slaves_connected'] = active;
  out['master/slaves_disconnected'] = total - active;
  out['master/slaves_unreachable'] = state.unreachable_slaves;
  out['master/frameworks_active'] = state.frameworks.filter((f) => f.active).length;
  out['master/frameworks_inactive'] = state.frameworks.filter((f) => !f.active).length;
  out['master/frameworks_connected'] = state.frameworks.filter((f) => f.connected).length;
  out['master/frameworks_disconnected'] = state.frameworks.filter((f) => !f.connected).length;
  out['master/outstanding_offers'] = 0;
  const live = state.frameworks.flatMap((f) => [...f.tasks, ...f.unreachable_tasks]);
  for (const gauge of GAUGE_STATES) out[metricName(gauge)] = live.filter((task) => task.state === gauge).length;
  for (const terminal of TERMINAL_TASK_STATES) out[metricName(terminal)] = inputs.endedByState.get(terminal) ?? 0;
  for (const resource of ['cpus', 'gpus', 'mem', 'disk'] as const) {
    const totalAmount = sum(state.slaves.map((slave) => slave.resources[resource]));
    const used = sum(state.slaves.map((slave) => slave.used_resources[resource]));
    out[`master/${resource}_total`] = totalAmount;
    out[`master/${resource}_used`] = used;
    out[`master/${resource}_percent`] = totalAmount === 0 ? 0 : used / totalAmount;
  }
  const [load1, load5, load15] = inputs.system.load;
  out['system/cpus_total'] = inputs.system.cpus;
  out['system/load_1min'] = load1;
  out['system/load_5min'] = load5;
  out['system/load_15min'] = load15;
  out['system/mem_total_bytes'] = inputs.system.memTotalBytes;
  out['system/mem_free_bytes'] = inputs.system.memFreeBytes;
  return out;
}

const sum = (values: readonly number[]): number => Math.round(values.reduce((a, b) => a + b, 0) * 1000) / 1000;

/** The settings `/flags` shows: no secrets (a token file is named by its path, never read). */
export interface FlagSource {
  listen: string;
  dataDir: string;
  store: string;
  etcd: readonly string[];
  etcdPrefix: string;
  leaderLeaseMs: number;
  agentTimeoutMs: number;
  agentReregisterTimeoutMs: number;
  registryMaxAgentAgeMs: number;
  deploymentTimeoutMs: number;
  logLevel: string;
  maxVersions: number;
  auth: boolean;
  insecure: boolean;
  allowedOrigins: readonly string[];
  allowedHosts: readonly string[];
  joinTokenFile?: string | undefined;
  tlsCert?: string | undefined;
  eventCallbackTimeoutMs: number;
  eventCallbackDropAfterMs: number;
  maxCompletedTasks: number;
}

/**
 * Mesos' `flags`: every value a string, names in Mesos' snake_case (Corral's own flags, and
 * `max_completed_tasks_per_framework`, which Corral keeps fixed at Mesos' default).
 */
export function mesosFlags(source: FlagSource): Record<string, string> {
  const ms = (value: number): string => `${value}ms`;
  return {
    listen: source.listen,
    data_dir: source.dataDir,
    store: source.store,
    ...(source.store === 'etcd' ? { etcd: source.etcd.join(','), etcd_prefix: source.etcdPrefix, leader_lease: ms(source.leaderLeaseMs) } : {}),
    agent_timeout: ms(source.agentTimeoutMs),
    agent_reregister_timeout: ms(source.agentReregisterTimeoutMs),
    registry_max_agent_age: ms(source.registryMaxAgentAgeMs),
    deployment_timeout: ms(source.deploymentTimeoutMs),
    log_level: source.logLevel,
    max_versions: String(source.maxVersions),
    auth: String(source.auth),
    insecure: String(source.insecure),
    allowed_origins: source.allowedOrigins.join(','),
    allowed_hosts: source.allowedHosts.join(','),
    ...(source.joinTokenFile !== undefined ? { join_token_file: source.joinTokenFile } : {}),
    ...(source.tlsCert !== undefined ? { tls_cert: source.tlsCert } : {}),
    event_callback_timeout: ms(source.eventCallbackTimeoutMs),
    event_callback_drop_after: ms(source.eventCallbackDropAfterMs),
    max_completed_tasks_per_framework: String(source.maxCompletedTasks),
  };
}
