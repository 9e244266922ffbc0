import { isLoopbackHost, type HostPort } from '../shared/address.ts';
import { normalizeOrigin } from '../auth/core/browser.ts';
import { absolutePath, duration, flag, hostPort, list, logLevel, oneOf, optional, originUrls, parseConfig, positiveInteger, text, type FieldParser } from '../shared/config.ts';
import { commandDefaults, type Settings } from '../shared/settings.ts';
import { tlsCertFile, tlsKeyFile, tlsPairProblems } from '../shared/tls.ts';

/** `corral scheduler` settings, validated once at start-up, then frozen. */
export interface SchedulerConfig {
  readonly listen: HostPort;
  readonly dataDir: string;
  /** `file` (the embedded default, in dataDir) or `etcd` (under etcdPrefix on the etcd cluster at `etcd`). */
  readonly store: 'file' | 'etcd';
  /** `--etcd`: the etcd cluster's client URLs (origins). */
  readonly etcd: readonly string[];
  /** `--etcd-prefix`: the key prefix holding this cluster's state, without a trailing slash. */
  readonly etcdPrefix: string;
  /** `--leader-lease`: the etcd lease holding the lead (whole seconds); a killed leader is replaced this long after. */
  readonly leaderLeaseMs: number;
  readonly agentTimeoutMs: number;
  /** After a restart, agents known from before get this long to register again (at least the agent timeout). */
  readonly agentReregisterTimeoutMs: number;
  readonly registryMaxAgentAgeMs: number;
  /** 0 = never. */
  readonly deploymentTimeoutMs: number;
  readonly logLevel: string;
  /** Accept the loss of what lies after damage in the state log. */
  readonly repair: boolean;
  readonly maxVersions: number;
  /** Authenticate and authorize every request (src/auth); an admin token is written to `<dataDir>/admin.token`. */
  readonly auth: boolean;
  /** Serve without --auth on a non-loopback address anyway. */
  readonly insecure: boolean;
  /** Agent admission: agents join with this file's token, then use the credential they are issued. Off when unset. */
  readonly joinTokenFile?: string;
  /** `--tls-cert`/`--tls-key`: the API is served over HTTPS (both set or neither; checked at start-up). */
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  /** Where the --auth bootstrap writes the admin token; `<dataDir>/admin.token` when unset (`corral up`: `<its data dir>/admin.token`). */
  readonly adminTokenFile?: string;
  /** Origins (besides the scheduler's own) whose pages may call the API (`--allowed-origins`). */
  readonly allowedOrigins: readonly string[];
  /** `--allowed-hosts`: names (besides loopback, IPs and this machine's) the API answers to (api/browser-safety.ts); `*` = any. */
  readonly allowedHosts: readonly string[];
  /** `--event-callback-timeout`: how long one POST to an event subscriber (`/v2/eventSubscriptions`) may take. */
  readonly eventCallbackTimeoutMs: number;
  /** `--event-callback-drop-after`: a subscriber failing this long (and at least 5 times in a row) is unsubscribed. */
  readonly eventCallbackDropAfterMs: number;
  /** `--dns-api`, `--lb-api`: the DNS HTTP API and the LB stats port (origins) the web UI's "How to reach it" reads (api/reach.ts). */
  readonly dnsApi?: string;
  readonly lbApi?: string;
}

/**
 * Without auth anyone who reaches the port may run any command on every agent, and without agent
 * admission anyone may register as an agent and be sent tasks with their environment (--auth does
 * not cover the agent protocol): only this machine may, unless told otherwise.
 */
function exposure(config: { listen: HostPort; auth: boolean; insecure: boolean; joinTokenFile: string | undefined }): Array<[string, string]> {
  if (config.insecure || isLoopbackHost(config.listen.host)) return [];
  if (!config.auth) return [['listen', `${config.listen.host} is not a loopback address: without --auth anyone who reaches it may run commands on every agent; add --auth (or --insecure to accept that)`]];
  if (config.joinTokenFile === undefined) return [['joinTokenFile', `${config.listen.host} is not a loopback address: without agent admission any client that reaches it may register as an agent and be sent tasks with their environment; add --join-token-file (or --insecure to accept that)`]];
  return [];
}

/** What a start with these settings warns about (logged, component scheduler): tokens sent in clear over a network. */
export function startupWarnings(config: Pick<SchedulerConfig, 'listen' | 'auth' | 'tlsCert'>): string[] {
  if (!config.auth || config.tlsCert !== undefined || isLoopbackHost(config.listen.host)) return [];
  return [`--auth on ${config.listen.host}, not a loopback address, without --tls-cert: bearer tokens and Basic passwords cross the network in clear; add --tls-cert/--tls-key (docs/scheduler.md "TLS")`];
}

/** `--allowed-origins`: comma-separated http(s) origins, kept in their canonical form. */
const origins: FieldParser<string[]> = (raw) =>
  (raw === undefined ? [] : list()(raw)).map((item) => {
    const origin = normalizeOrigin(item);
    if (origin === undefined) throw new Error(`${item} is not an origin (scheme://host[:port], http or https)`);
    return origin;
  });

/** `--allowed-hosts`: comma-separated host names (`.example.com` covers the names below it too) or `*`. */
const hostNames: FieldParser<string[]> = (raw) =>
  (raw === undefined ? [] : list()(raw)).map((item) => {
    const name = item.toLowerCase();
    if (name !== '*' && !/^\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/.test(name)) throw new Error(`${item} is not a host name (such as sched.example.com, .example.com or *); no port`);
    return name;
  });

/** `--etcd`: one or more http(s) client URLs of the etcd cluster, comma-separated. */
const etcdUrls = originUrls('etcd URL', 'http://127.0.0.1:2379');

/** `--etcd-prefix`: an absolute key path such as /corral (a trailing slash dropped). */
const etcdPrefix: FieldParser<string> = (raw) => {
  const value = text(raw).replace(/\/+$/, '');
  if (!/^\/[\w./-]+$/.test(value)) throw new Error(`expected a key prefix starting with / (letters, digits, . _ - /), such as /corral, got '${value}'`);
  return value;
};

/** `--leader-lease`: whole seconds from 1 s to 60 s (etcd's TTLs are seconds; it raises one below its minimum). */
const leaderLease: FieldParser<number> = (raw) => {
  const ms = duration(1000)(raw);
  if (ms > 60_000 || ms % 1000 !== 0) throw new Error(`expected whole seconds from 1s to 60s, got '${text(raw)}'`);
  return ms;
};

/** `--dns-api`, `--lb-api`: one http(s) origin. */
const apiOrigin = (what: string, example: string): FieldParser<string> => (raw) => {
  const origins = originUrls(what, example)(raw);
  if (origins.length !== 1) throw new Error(`expected one URL such as ${example}`);
  return origins[0] ?? '';
};

/** Reads the layered settings (missing ones from config/defaults.json); throws a ConfigError listing every bad value. */
export function parseSchedulerConfig(settings: Settings): SchedulerConfig {
  const { repair, joinTokenFile, adminTokenFile, tlsCert, tlsKey, dnsApi, lbApi, ...config } = parseConfig(settings, {
    listen: hostPort,
    dataDir: absolutePath,
    store: oneOf(['file', 'etcd']),
    etcd: etcdUrls,
    etcdPrefix,
    leaderLeaseMs: ['leaderLease', leaderLease],
    agentTimeoutMs: ['agentTimeout', duration()],
    agentReregisterTimeoutMs: ['agentReregisterTimeout', duration()],
    registryMaxAgentAgeMs: ['registryMaxAgentAge', duration()],
    deploymentTimeoutMs: ['deploymentTimeout', duration()],
    logLevel,
    // A flag only (no default, no CORRAL_REPAIR): damage is repaired when someone asks on the command line or in a --config file.
    repair: optional(flag),
    maxVersions: positiveInteger,
    auth: flag,
    insecure: flag,
    joinTokenFile: optional(absolutePath),
    adminTokenFile: optional(absolutePath),
    tlsCert: tlsCertFile,
    tlsKey: tlsKeyFile,
    allowedOrigins: origins,
    allowedHosts: hostNames,
    eventCallbackTimeoutMs: ['eventCallbackTimeout', duration(1)],
    eventCallbackDropAfterMs: ['eventCallbackDropAfter', duration(1)],
    dnsApi: optional(apiOrigin('DNS API URL', 'http://127.0.0.1:8123')),
    lbApi: optional(apiOrigin('LB API URL', 'http://127.0.0.1:9090')),
  }, { defaults: commandDefaults('scheduler'), check: (parsed) => [...exposure(parsed), ...tlsPairProblems(parsed)] });
  return Object.freeze({ ...config, repair: repair === true, ...(joinTokenFile !== undefined ? { joinTokenFile } : {}), ...(adminTokenFile !== undefined ? { adminTokenFile } : {}), ...(tlsCert !== undefined ? { tlsCert, tlsKey } : {}), ...(dnsApi !== undefined ? { dnsApi } : {}), ...(lbApi !== undefined ? { lbApi } : {}) });
}
