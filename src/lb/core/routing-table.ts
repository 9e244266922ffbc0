import type { DiscoveryApp, DiscoveryTask } from '../../events/types.ts';
import { appPorts, networkMode, ownIps, type AppPort, type NetworkMode } from '../../events/core/app-ports.ts';
import { isServing, type ClusterView } from '../../events/core/view.ts';
import type { Cidr } from './cidr.ts';
import {
  matchesGroups,
  parseDeploymentLabels,
  portGroups,
  parsePortLabels,
  portLabel,
  type BalanceAlgorithm,
  type BasicAuth,
  type DeploymentLabels,
  type PortLabels,
  type PortMode,
} from './labels.ts';

/**
 * One instance that receives traffic where it serves the port: the agent's address and the task's
 * host port, or on a container network the task's own IP and the container port.
 */
export interface Backend {
  readonly taskId: string;
  readonly host: string;
  readonly port: number;
}

/** What the HTTP proxy does to a request before (and after) a backend sees it; from the port's labels. */
export interface HttpPolicy {
  readonly redirectToHttps: boolean;
  readonly useHsts: boolean;
  readonly auth?: BasicAuth;
  readonly proxyPassPath?: string;
  readonly revProxyPath?: string;
  readonly redirectRoot?: string;
}

/** The instances behind one app port (marathon-lb's HAProxy `backend`). */
export interface BackendPool {
  /** `<appId>:<servicePort>`: the key for balancing state and stats. */
  readonly id: string;
  readonly appId: string;
  readonly portIndex: number;
  readonly servicePort: number;
  /** `HAPROXY_{n}_BIND_ADDR`; absent = the LB's `--bind`. */
  readonly bindAddr?: string;
  readonly mode: PortMode;
  readonly balance: BalanceAlgorithm;
  /** Cookie `mesosphere_server_id` pins a client to a backend. */
  readonly sticky: boolean;
  /** Clients outside these ranges get 403 (http) or a closed connection (tcp); empty = everyone. */
  readonly allowedNetworks: readonly Cidr[];
  /** PEM files (certificate + key): TLS on the service port, and SNI certificates for its vhosts. */
  readonly sslCerts: readonly string[];
  readonly http: HttpPolicy;
  /** Sorted by task id; empty when no instance is serving (requests get 503, connections are closed). */
  readonly backends: readonly Backend[];
  /** Blue-green: instances of the older colour no longer given new requests, while they finish. */
  readonly draining: readonly Backend[];
  /** The app checks this port's health (marathon-lb then adds HAProxy's `check`): its servers show `UP`, not `no check`. */
  readonly healthChecked?: boolean;
}

/** A rule of the shared HTTP frontend for one host; `path` absent = any path. */
export interface VhostRule {
  readonly path?: string;
  readonly pathIgnoreCase: boolean;
  readonly weight: number;
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
  /** Lower-cased host → rules: higher BACKEND_WEIGHT first, then longest path, rules without a path last. */
  readonly vhosts: Readonly<Record<string, readonly VhostRule[]>>;
  /** Service port (as a string key) → pool served on that port. */
  readonly servicePorts: Readonly<Record<string, BackendPool>>;
  /** App id → its first http-mode pool, for the `X-Marathon-App-Id` port. */
  readonly apps: Readonly<Record<string, BackendPool>>;
  /** Lower-cased host → the PEM file the shared HTTPS port presents for that SNI name. */
  readonly sniCerts: Readonly<Record<string, string>>;
  /** Routes that could not be honoured, and why; everything else is served. */
  readonly rejected: readonly RejectedRoute[];
}

export interface RoutingOptions {
  /** The LB's `--group` list; `*` = every group. */
  readonly groups: readonly string[];
  /** marathon-lb's `--strict-mode`: only ports with `HAPROXY_{n}_ENABLED=true` are exposed. */
  readonly strictMode?: boolean;
  /** Certificate files the LB could not load (path → why): routes that need one are rejected. */
  readonly badCertificates?: ReadonlyMap<string, string>;
}

export const EMPTY_ROUTING_TABLE: RoutingTable = deepFreeze({
  vhosts: Object.create(null) as Record<string, VhostRule[]>,
  servicePorts: Object.create(null) as Record<string, BackendPool>,
  apps: Object.create(null) as Record<string, BackendPool>,
  sniCerts: Object.create(null) as Record<string, string>,
  rejected: [],
});

interface Candidate {
  readonly pool: BackendPool;
  readonly labels: PortLabels;
}

/** Apps that serve together: one app, or every colour of a blue-green deployment group. */
interface Colours {
  /** The newest colour: its labels and port definitions decide the routes. */
  readonly app: DiscoveryApp;
  /** Older colours, newest first. */
  readonly older: readonly DiscoveryApp[];
  readonly deployment?: DeploymentLabels;
}

/** Translates the cluster view into the routing table. Pure and deterministic: same view, same table. */
export function buildRoutingTable(view: ClusterView, options: RoutingOptions): RoutingTable {
  const rejected: RejectedRoute[] = [];
  const tasksByApp = groupBy([...view.tasks.values()], (task) => task.appId);
  const candidates: Candidate[] = [];

  for (const colours of groupColours([...view.apps.values()], rejected)) {
    const { app } = colours;
    const ports = appPorts(app);
    ports.forEach((port, portIndex) => {
      // Not ours, or switched off: silently absent, as in marathon-lb (another LB may serve it).
      if (!matchesGroups(options.groups, portGroups(app.labels, portIndex))) return;
      const labels = cachedPortLabels(app, portIndex, options.strictMode ?? false);
      if (!labels.enabled) return;
      const reject = (reason: string): void => void rejected.push({ appId: app.id, portIndex, reason });
      if (labels.problems.length > 0) return reject(labels.problems.join('; '));
      if (port.protocol === 'udp') return reject('udp-only port: the LB proxies TCP and HTTP only');
      if (labels.healthCheckPortIndex !== undefined && labels.healthCheckPortIndex >= ports.length) {
        return reject(`${portLabel(portIndex, 'BACKEND_HEALTHCHECK_PORT_INDEX')} is ${labels.healthCheckPortIndex}, but the app has ${ports.length} port(s)`);
      }
      const bad = labels.sslCerts.find((path) => options.badCertificates?.has(path));
      if (bad !== undefined) return reject(`${portLabel(portIndex, 'SSL_CERT')} ${bad}: ${options.badCertificates?.get(bad) ?? ''}`);
      const servicePort = labels.bindPort ?? oldestServicePort(colours, portIndex) ?? port.servicePort;
      if (!Number.isInteger(servicePort) || servicePort < 1 || servicePort > 65535) {
        const field = port.containerPort === undefined ? `portDefinitions[${portIndex}].port` : `container.portMappings[${portIndex}].servicePort`;
        return reject(`no service port (${field} is ${port.servicePort})`);
      }
      const mode = labels.mode ?? defaultMode(app, portIndex, labels);
      if (mode === 'tcp' && labels.vhosts.length > 0) {
        return reject(`${portLabel(portIndex, 'VHOST')} needs http mode, but ${portLabel(portIndex, 'MODE')} is tcp`);
      }
      if (mode === 'tcp' && httpOnlyLabel(labels) !== undefined) {
        return reject(`${portLabel(portIndex, httpOnlyLabel(labels) ?? '')} needs http mode, but the port is tcp`);
      }
      const { backends, draining } = coloursBackends(colours, portIndex, tasksByApp);
      const pool: BackendPool = {
        id: `${app.id}:${servicePort}`,
        appId: app.id,
        portIndex,
        servicePort,
        ...(labels.bindAddr === undefined ? {} : { bindAddr: labels.bindAddr }),
        mode,
        balance: labels.balance,
        sticky: labels.sticky,
        allowedNetworks: labels.allowedNetworks,
        sslCerts: labels.sslCerts,
        http: httpPolicy(labels),
        backends,
        draining,
        healthChecked: checksPort(app, labels.healthCheckPortIndex ?? portIndex),
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

  winners.sort((a, b) => compare(a.pool.appId, b.pool.appId) || a.pool.portIndex - b.pool.portIndex);
  const apps = Object.create(null) as Record<string, BackendPool>;
  for (const { pool } of winners) if (pool.mode === 'http') apps[pool.appId] ??= pool;
  const { vhosts, sniCerts } = buildVhosts(winners, rejected);
  rejected.sort((a, b) => compare(a.appId, b.appId) || a.portIndex - b.portIndex || compare(a.reason, b.reason));
  return deepFreeze({ vhosts, servicePorts, apps, sniCerts, rejected });
}

const parsedLabels = new WeakMap<DiscoveryApp, Map<string, PortLabels>>();

/**
 * Labels parsed once per app definition: events replace an app's object only when the app
 * changes, so a rebuild for a task event re-reads no labels. Deterministic, like the parse.
 */
function cachedPortLabels(app: DiscoveryApp, portIndex: number, strictMode: boolean): PortLabels {
  let byPort = parsedLabels.get(app);
  if (byPort === undefined) {
    byPort = new Map();
    parsedLabels.set(app, byPort);
  }
  const key = `${portIndex}/${strictMode}`;
  let labels = byPort.get(key);
  if (labels === undefined) {
    labels = parsePortLabels(app.labels, portIndex, strictMode);
    byPort.set(key, labels);
  }
  return labels;
}

/** Every certificate file a table refers to, so the adapter can load (or fail to load) them. */
export function certificatesOf(table: RoutingTable): string[] {
  const paths = new Set<string>();
  for (const pool of Object.values(table.servicePorts)) for (const path of pool.sslCerts) paths.add(path);
  return [...paths].sort(compare);
}

/** Tables are deterministic plain data, so equal signatures mean nothing a proxy could see has changed. */
export function sameRoutingTable(a: RoutingTable, b: RoutingTable): boolean {
  return a === b || signature(a) === signature(b);
}

const signatures = new WeakMap<RoutingTable, string>();

/**
 * The table as one string, computed once per table (each rebuild compares the new table with the
 * previous one, whose signature is remembered). Vhost rules name their pool by id: the pools
 * themselves are in `servicePorts`, and `apps` and `sniCerts` follow from the rest.
 */
function signature(table: RoutingTable): string {
  const known = signatures.get(table);
  if (known !== undefined) return known;
  const vhosts = Object.entries(table.vhosts).map(([host, rules]) => [host, rules.map((r) => [r.path ?? null, r.pathIgnoreCase, r.weight, r.pool.id])]);
  const text = JSON.stringify([table.servicePorts, vhosts, table.rejected]);
  signatures.set(table, text);
  return text;
}

function httpPolicy(labels: PortLabels): HttpPolicy {
  return {
    redirectToHttps: labels.redirectToHttps,
    useHsts: labels.useHsts,
    ...(labels.auth === undefined ? {} : { auth: labels.auth }),
    ...(labels.proxyPassPath === undefined ? {} : { proxyPassPath: labels.proxyPassPath }),
    ...(labels.revProxyPath === undefined ? {} : { revProxyPath: labels.revProxyPath }),
    ...(labels.redirectRoot === undefined ? {} : { redirectRoot: labels.redirectRoot }),
  };
}

/** The first label set on a tcp port that only means something to HTTP. */
function httpOnlyLabel(labels: PortLabels): string | undefined {
  if (labels.paths.length > 0) return 'PATH';
  if (labels.sticky) return 'STICKY';
  if (labels.redirectToHttps) return 'REDIRECT_TO_HTTPS';
  if (labels.useHsts) return 'USE_HSTS';
  if (labels.auth) return 'AUTH';
  if (labels.proxyPassPath) return 'HTTP_BACKEND_PROXYPASS_PATH';
  if (labels.revProxyPath) return 'HTTP_BACKEND_REVPROXY_PATH';
  if (labels.redirectRoot) return 'HTTP_BACKEND_REDIR';
  return undefined;
}

/**
 * Apps sharing `HAPROXY_DEPLOYMENT_GROUP` become one route: the colour with the later
 * `HAPROXY_DEPLOYMENT_STARTED_AT` (then the later version, then the larger id) leads.
 */
function groupColours(apps: readonly DiscoveryApp[], rejected: RejectedRoute[]): Colours[] {
  const result: Colours[] = [];
  const groups = new Map<string, { app: DiscoveryApp; deployment: DeploymentLabels }[]>();
  for (const app of [...apps].sort((a, b) => compare(a.id, b.id))) {
    const deployment = parseDeploymentLabels(app.labels);
    if (typeof deployment === 'string') {
      rejected.push({ appId: app.id, portIndex: 0, reason: deployment });
      continue;
    }
    if (deployment === undefined) result.push({ app, older: [] });
    else groups.set(deployment.group, [...(groups.get(deployment.group) ?? []), { app, deployment }]);
  }
  for (const members of groups.values()) {
    members.sort((a, b) => b.deployment.startedAt - a.deployment.startedAt || compare(b.app.version, a.app.version) || compare(b.app.id, a.app.id));
    const [newest, ...older] = members;
    if (newest) result.push({ app: newest.app, older: older.map((m) => m.app), deployment: newest.deployment });
  }
  return result.sort((a, b) => compare(a.app.id, b.app.id));
}

/**
 * COMPAT(marathon-lb): during a blue-green switch the new colour runs on `HAPROXY_DEPLOYMENT_ALT_PORT`
 * while clients keep using the old colour's port, so the merged route stays on the oldest port.
 */
function oldestServicePort(colours: Colours, portIndex: number): number | undefined {
  const oldest = colours.older.at(-1);
  if (oldest === undefined) return undefined;
  const port = appPorts(oldest)[portIndex]?.servicePort;
  return port !== undefined && port > 0 ? port : undefined;
}

/**
 * Backends of the newest colour, plus as many of the older colours' as still make up
 * `HAPROXY_DEPLOYMENT_TARGET_INSTANCES` (default: as many as the older colours serve now).
 * The rest are draining: no new requests, in-flight ones finish on connections already open.
 */
function coloursBackends(colours: Colours, portIndex: number, tasksByApp: ReadonlyMap<string, DiscoveryTask[]>): { backends: Backend[]; draining: Backend[] } {
  const current = backendsOf(colours.app, portIndex, tasksByApp.get(colours.app.id) ?? []);
  if (colours.older.length === 0) return { backends: current, draining: [] };
  const old = colours.older.flatMap((app) => backendsOf(app, portIndex, tasksByApp.get(app.id) ?? []));
  const target = colours.deployment?.targetInstances ?? old.length;
  const keep = Math.max(0, Math.min(old.length, target - current.length));
  return { backends: [...current, ...old.slice(0, keep)].sort(byTaskId), draining: old.slice(keep) };
}

function buildVhosts(winners: readonly Candidate[], rejected: RejectedRoute[]): { vhosts: Record<string, VhostRule[]>; sniCerts: Record<string, string> } {
  const vhosts = Object.create(null) as Record<string, VhostRule[]>;
  const sniCerts = Object.create(null) as Record<string, string>;
  const claimedBy = new Map<string, BackendPool>();
  for (const { pool, labels } of winners) {
    const paths: (string | undefined)[] = labels.paths.length > 0 ? [...labels.paths] : [undefined];
    for (const host of labels.vhosts) {
      const cert = labels.sslCerts[0];
      if (cert !== undefined) sniCerts[host] ??= cert;
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
        const rule: VhostRule = Object.freeze(
          path === undefined ? { pathIgnoreCase: false, weight: labels.weight, pool } : { path, pathIgnoreCase: labels.pathIgnoreCase, weight: labels.weight, pool },
        );
        (vhosts[host] ??= []).push(rule);
      }
    }
  }
  // Frozen here rather than by deepFreeze: with 10,000 hosts the generic walk is a large part of a rebuild.
  for (const rules of Object.values(vhosts)) Object.freeze(rules.sort(byRulePriority));
  return { vhosts: Object.freeze(vhosts), sniCerts };
}

/**
 * COMPAT(marathon-lb): HAPROXY_{n}_BACKEND_WEIGHT orders the frontend's rules (higher first);
 * within a weight, the longest path wins, so `/api/v2` beats `/api`; a path-less rule matches last.
 */
function byRulePriority(a: VhostRule, b: VhostRule): number {
  return (
    b.weight - a.weight ||
    (b.path?.length ?? -1) - (a.path?.length ?? -1) ||
    compare(a.path ?? '', b.path ?? '') ||
    compare(a.pool.id, b.pool.id)
  );
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
  if (labels.vhosts.length > 0 || httpOnlyLabel(labels) !== undefined) return 'http';
  const checkedIndex = labels.healthCheckPortIndex ?? portIndex;
  for (const check of app.healthChecks) {
    if (typeof check !== 'object' || check === null) continue;
    const { protocol, port, portIndex: checkIndex } = check as { protocol?: unknown; port?: unknown; portIndex?: unknown };
    const applies = typeof port === 'number' || (checkIndex ?? 0) === checkedIndex;
    if (applies && (protocol === 'HTTP' || protocol === 'MESOS_HTTP' || protocol === 'HTTPS')) return 'http';
  }
  return 'tcp';
}

/** Whether a TCP or HTTP(S) health check of the app covers port `portIndex` (a check with an explicit `port` covers every index). */
function checksPort(app: DiscoveryApp, portIndex: number): boolean {
  return app.healthChecks.some((check) => {
    if (typeof check !== 'object' || check === null) return false;
    const { protocol, port, portIndex: checkIndex } = check as { protocol?: unknown; port?: unknown; portIndex?: unknown };
    return protocol !== 'COMMAND' && (typeof port === 'number' || (checkIndex ?? 0) === portIndex);
  });
}

function backendsOf(app: DiscoveryApp, portIndex: number, tasks: readonly DiscoveryTask[]): Backend[] {
  const port = appPorts(app)[portIndex];
  if (port === undefined) return [];
  const mode = networkMode(app);
  const backends: Backend[] = [];
  for (const task of tasks) {
    if (!isServing(task, app)) continue;
    const address = servingAddress(mode, port, task);
    if (address !== undefined) backends.push({ taskId: task.id, ...address });
  }
  return backends.sort(byTaskId);
}

/**
 * COMPAT(marathon-lb): on a container network the task's own IP and the container port (its
 * ip-per-task); on the host's network and on the bridge the agent and the host port. Else the
 * address the port is open on: a container network task with no IP of its own (none reported, or
 * an instance of the app's earlier host-network version) by a host port, a bridge mapping without
 * a host port by the task's IP.
 */
function servingAddress(mode: NetworkMode, port: AppPort, task: DiscoveryTask): { host: string; port: number } | undefined {
  const hostPort = port.hostPortIndex === undefined ? undefined : task.ports[port.hostPortIndex];
  const own = ownIps(task)[0];
  if (mode === 'container' && own !== undefined && port.containerPort !== undefined) return { host: own, port: port.containerPort };
  if (hostPort !== undefined) return { host: task.host, port: hostPort };
  if (own !== undefined && port.containerPort !== undefined) return { host: own, port: port.containerPort };
  return undefined;
}

function byTaskId(a: Backend, b: Backend): number {
  return compare(a.taskId, b.taskId);
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
