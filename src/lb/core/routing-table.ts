import type { DiscoveryApp, DiscoveryTask } from '../../events/types.ts';
import { isServing, type ClusterView } from '../../events/view.ts';
import { matchesGroups, parsePortLabels, portLabel, type PortLabels, type PortMode } from './labels.ts';

/** One instance that receives traffic: the agent's address and the task's host port. */
export interface Backend {
  readonly taskId: string;
  readonly host: string;
  readonly port: number;
}

/** The instances behind one app port (marathon-lb's HAProxy `backend`). */
export interface BackendPool {
  /** `<appId>:<servicePort>`: the key for balancing state and stats. */
  readonly id: string;
  readonly appId: string;
  readonly portIndex: number;
  readonly servicePort: number;
  readonly mode: PortMode;
  /** Sorted by task id; empty when no instance is serving (requests get 503, connections are closed). */
  readonly backends: readonly Backend[];
}

/** A rule of the shared HTTP frontend for one host; `path` absent = any path. */
export interface VhostRule {
  readonly path?: string;
  readonly pathIgnoreCase: boolean;
  readonly pool: BackendPool;
}

export interface RejectedRoute {
  readonly appId: string;
  readonly portIndex: number;
  readonly reason: string;
}

/**
 * Everything the proxies need, as frozen plain data (JSON-serialisable as is). The records have no
 * prototype, so a Host header like `constructor` cannot hit an inherited property.
 */
export interface RoutingTable {
  /** Lower-cased host → rules, longest path first, rules without a path last. */
  readonly vhosts: Readonly<Record<string, readonly VhostRule[]>>;
  /** Service port (as a string key) → pool served on that port. */
  readonly servicePorts: Readonly<Record<string, BackendPool>>;
  /** Routes that could not be honoured, and why; everything else is served. */
  readonly rejected: readonly RejectedRoute[];
}

export interface RoutingOptions {
  /** The LB's `--group` list; `*` = every group. */
  readonly groups: readonly string[];
}

export const EMPTY_ROUTING_TABLE: RoutingTable = deepFreeze({
  vhosts: Object.create(null) as Record<string, VhostRule[]>,
  servicePorts: Object.create(null) as Record<string, BackendPool>,
  rejected: [],
});

interface Candidate {
  readonly pool: BackendPool;
  readonly labels: PortLabels;
}

/** Translates the cluster view into the routing table. Pure and deterministic: same view, same table. */
export function buildRoutingTable(view: ClusterView, options: RoutingOptions): RoutingTable {
  const rejected: RejectedRoute[] = [];
  const tasksByApp = groupTasksByApp(view);
  const candidates: Candidate[] = [];

  for (const app of [...view.apps.values()].sort((a, b) => compare(a.id, b.id))) {
    app.portDefinitions.forEach((definition, portIndex) => {
      const labels = parsePortLabels(app.labels, portIndex);
      // Not ours, or switched off: silently absent, as in marathon-lb (another LB may serve it).
      if (!matchesGroups(options.groups, labels.groups) || !labels.enabled) return;
      const reject = (reason: string): void => void rejected.push({ appId: app.id, portIndex, reason });
      if (labels.problems.length > 0) return reject(labels.problems.join('; '));
      if (definition.protocol === 'udp') return reject('udp-only port: the LB proxies TCP and HTTP only');
      const servicePort = labels.bindPort ?? definition.port;
      if (!Number.isInteger(servicePort) || servicePort < 1 || servicePort > 65535) {
        return reject(`no service port (portDefinitions[${portIndex}].port is ${definition.port})`);
      }
      const mode = labels.mode ?? defaultMode(app, portIndex, labels);
      if (mode === 'tcp' && labels.vhosts.length > 0) {
        return reject(`${portLabel(portIndex, 'VHOST')} needs http mode, but ${portLabel(portIndex, 'MODE')} is tcp`);
      }
      const pool: BackendPool = {
        id: `${app.id}:${servicePort}`,
        appId: app.id,
        portIndex,
        servicePort,
        mode,
        backends: backendsOf(app, portIndex, tasksByApp.get(app.id) ?? []),
      };
      candidates.push({ pool, labels });
    });
  }

  const servicePorts = Object.create(null) as Record<string, BackendPool>;
  const winners: Candidate[] = [];
  for (const claimants of groupBy(candidates, (c) => c.pool.servicePort).values()) {
    const [winner, ...losers] = claimants.sort(byServicePortPriority);
    if (winner === undefined) continue;
    servicePorts[String(winner.pool.servicePort)] = winner.pool;
    winners.push(winner);
    for (const loser of losers) {
      rejected.push({
        appId: loser.pool.appId,
        portIndex: loser.pool.portIndex,
        reason: `service port ${loser.pool.servicePort} is already routed to ${winner.pool.appId} (port index ${winner.pool.portIndex})`,
      });
    }
  }

  const vhosts = buildVhosts(winners.sort((a, b) => compare(a.pool.appId, b.pool.appId) || a.pool.portIndex - b.pool.portIndex), rejected);
  rejected.sort((a, b) => compare(a.appId, b.appId) || a.portIndex - b.portIndex || compare(a.reason, b.reason));
  return deepFreeze({ vhosts, servicePorts, rejected });
}

/** Tables are deterministic plain data, so equal JSON means nothing a proxy could see has changed. */
export function sameRoutingTable(a: RoutingTable, b: RoutingTable): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function buildVhosts(winners: readonly Candidate[], rejected: RejectedRoute[]): Record<string, VhostRule[]> {
  const vhosts = Object.create(null) as Record<string, VhostRule[]>;
  const claimedBy = new Map<string, BackendPool>();
  for (const { pool, labels } of winners) {
    const paths: (string | undefined)[] = labels.paths.length > 0 ? [...labels.paths] : [undefined];
    for (const host of labels.vhosts) {
      for (const path of paths) {
        const key = `${host} ${labels.pathIgnoreCase ? path?.toLowerCase() : path}`;
        const owner = claimedBy.get(key);
        if (owner !== undefined) {
          rejected.push({
            appId: pool.appId,
            portIndex: pool.portIndex,
            reason: `vhost ${host}${path ?? ''} is already routed to ${owner.appId} (port index ${owner.portIndex})`,
          });
          continue;
        }
        claimedBy.set(key, pool);
        const rule: VhostRule = path === undefined ? { pathIgnoreCase: false, pool } : { path, pathIgnoreCase: labels.pathIgnoreCase, pool };
        (vhosts[host] ??= []).push(rule);
      }
    }
  }
  for (const rules of Object.values(vhosts)) rules.sort(byPathSpecificity);
  return vhosts;
}

/** Longest path first, so `/api/v2` wins over `/api`; a rule without a path matches last. */
function byPathSpecificity(a: VhostRule, b: VhostRule): number {
  return (b.path?.length ?? -1) - (a.path?.length ?? -1) || compare(a.path ?? '', b.path ?? '') || compare(a.pool.id, b.pool.id);
}

/**
 * Who keeps a contested service port: a port the scheduler assigned (unique cluster-wide) beats a
 * HAPROXY_{n}_PORT override, so a new label cannot take a working port away; then app id, index.
 */
function byServicePortPriority(a: Candidate, b: Candidate): number {
  const overridden = (c: Candidate): number => (c.labels.bindPort === undefined ? 0 : 1);
  return overridden(a) - overridden(b) || compare(a.pool.appId, b.pool.appId) || a.pool.portIndex - b.pool.portIndex;
}

/**
 * COMPAT(marathon-lb): a port is tcp unless it has a vhost or an HTTP health check on it; a check
 * with an explicit `port` counts for every index, one with `portIndex` only for that index.
 */
function defaultMode(app: DiscoveryApp, portIndex: number, labels: PortLabels): PortMode {
  if (labels.vhosts.length > 0) return 'http';
  for (const check of app.healthChecks) {
    if (typeof check !== 'object' || check === null) continue;
    const { protocol, port, portIndex: checkIndex } = check as { protocol?: unknown; port?: unknown; portIndex?: unknown };
    const applies = typeof port === 'number' || (checkIndex ?? 0) === portIndex;
    if (applies && (protocol === 'HTTP' || protocol === 'MESOS_HTTP')) return 'http';
  }
  return 'tcp';
}

function backendsOf(app: DiscoveryApp, portIndex: number, tasks: readonly DiscoveryTask[]): Backend[] {
  const backends: Backend[] = [];
  for (const task of tasks) {
    const port = task.ports[portIndex];
    if (port === undefined || !isServing(task, app)) continue;
    backends.push({ taskId: task.id, host: task.host, port });
  }
  return backends.sort((a, b) => compare(a.taskId, b.taskId));
}

function groupTasksByApp(view: ClusterView): Map<string, DiscoveryTask[]> {
  return groupBy([...view.tasks.values()], (task) => task.appId);
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [item]);
    else group.push(item);
  }
  return groups;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}
