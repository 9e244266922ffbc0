/**
 * marathon-lb's per-app labels, parsed into plain data. A value that cannot be honoured becomes a
 * problem (the route is then rejected with that reason), never an exception.
 */
import { parseCidr, type Cidr } from './cidr.ts';
import { isPasswordHash } from './password-hash.ts';

export type PortMode = 'tcp' | 'http';
export type BalanceAlgorithm = 'roundrobin' | 'leastconn' | 'source' | 'random';

const BALANCE_ALGORITHMS: readonly BalanceAlgorithm[] = ['roundrobin', 'leastconn', 'source', 'random'];

/** `HAPROXY_{n}_AUTH`: HTTP Basic credentials checked against a crypt(3)/bcrypt hash. */
export interface BasicAuth {
  readonly realm: string;
  readonly user: string;
  readonly hash: string;
}

/** What the labels say about one app port `n`; `problems` non-empty means the route is rejected. */
export interface PortLabels {
  /** `HAPROXY_{n}_GROUP`, else `HAPROXY_GROUP`; empty when neither is set. */
  readonly groups: readonly string[];
  readonly enabled: boolean;
  /** Lower-cased host names from `HAPROXY_{n}_VHOST`. */
  readonly vhosts: readonly string[];
  /** Path prefixes from `HAPROXY_{n}_PATH`; empty = any path. */
  readonly paths: readonly string[];
  /** `-i` in `HAPROXY_{n}_PATH`: compare paths case-insensitively. */
  readonly pathIgnoreCase: boolean;
  /** Explicit `HAPROXY_{n}_MODE`; undefined = derive it (see routing-table). */
  readonly mode: PortMode | undefined;
  /** `HAPROXY_{n}_PORT`: overrides the service port the listener binds. */
  readonly bindPort: number | undefined;
  /** `HAPROXY_{n}_BIND_ADDR`: the address this port's listener binds instead of `--bind`. */
  readonly bindAddr: string | undefined;
  readonly balance: BalanceAlgorithm;
  readonly sticky: boolean;
  readonly redirectToHttps: boolean;
  readonly useHsts: boolean;
  /** `HAPROXY_{n}_SSL_CERT`: PEM files (certificate and key), comma-separated. */
  readonly sslCerts: readonly string[];
  readonly auth: BasicAuth | undefined;
  /** `HAPROXY_{n}_HTTP_BACKEND_PROXYPASS_PATH`: prefix removed before the request goes to the backend. */
  readonly proxyPassPath: string | undefined;
  /** `HAPROXY_{n}_HTTP_BACKEND_REVPROXY_PATH`: prefix put back into `Location` answers. */
  readonly revProxyPath: string | undefined;
  /** `HAPROXY_{n}_HTTP_BACKEND_REDIR`: where a request for `/` is redirected. */
  readonly redirectRoot: string | undefined;
  /** `HAPROXY_{n}_BACKEND_WEIGHT`: higher weights are matched first on the shared HTTP port. */
  readonly weight: number;
  /** `HAPROXY_{n}_BACKEND_NETWORK_ALLOWED_ACL`; empty = everyone. */
  readonly allowedNetworks: readonly Cidr[];
  /** `HAPROXY_{n}_BACKEND_HEALTHCHECK_PORT_INDEX`: the app port whose health decides this port's backends. */
  readonly healthCheckPortIndex: number | undefined;
  readonly problems: readonly string[];
}

export function portLabel(index: number, name: string): string {
  return `HAPROXY_${index}_${name}`;
}

/**
 * Parses the labels that concern app port `index`. Never throws: bad values become problems.
 * `strictMode` (marathon-lb's `--strict-mode`): a port is exposed only with `HAPROXY_{n}_ENABLED=true`.
 */
export function parsePortLabels(labels: Readonly<Record<string, string>>, index: number, strictMode = false): PortLabels {
  const problems: string[] = [];
  const name = (label: string): string => portLabel(index, label);
  const get = (label: string): string | undefined => labels[name(label)];
  const flag = (label: string): boolean => {
    const value = get(label);
    return value !== undefined && parseLabelBool(value);
  };
  const pathLabel = (label: string): string | undefined => {
    const value = get(label)?.trim();
    if (value === undefined || value === '') return undefined;
    if (!value.startsWith('/') || /\s/.test(value)) problems.push(`${name(label)} must be a path starting with /, got '${value}'`);
    return value;
  };

  const enabledText = get('ENABLED');
  const path = parsePaths(get('PATH'));
  problems.push(...path.problems);

  const modeText = get('MODE');
  let mode: PortMode | undefined;
  if (modeText !== undefined) {
    const lowered = modeText.trim().toLowerCase();
    if (lowered === 'tcp' || lowered === 'http') mode = lowered;
    else problems.push(`${name('MODE')} must be tcp or http, got '${modeText}'`);
  }

  const portText = get('PORT');
  let bindPort: number | undefined;
  if (portText !== undefined) {
    bindPort = parsePort(portText);
    if (bindPort === undefined) problems.push(`${name('PORT')} must be a port 1-65535, got '${portText}'`);
  }

  const bindAddr = get('BIND_ADDR')?.trim() || undefined;
  if (bindAddr !== undefined && (parseCidr(bindAddr) === undefined || bindAddr.includes('/'))) {
    problems.push(`${name('BIND_ADDR')} must be an IP address, got '${bindAddr}'`);
  }

  const balanceText = get('BALANCE')?.trim().toLowerCase();
  let balance: BalanceAlgorithm = 'roundrobin';
  if (balanceText !== undefined && balanceText !== '') {
    const known = BALANCE_ALGORITHMS.find((algorithm) => algorithm === balanceText);
    if (known === undefined) problems.push(`${name('BALANCE')} must be one of ${BALANCE_ALGORITHMS.join(', ')}, got '${balanceText}'`);
    else balance = known;
  }

  const auth = parseAuth(get('AUTH'), name('AUTH'), problems);

  const weightText = get('BACKEND_WEIGHT');
  let weight = 0;
  if (weightText !== undefined) {
    if (/^-?\d{1,6}$/.test(weightText.trim())) weight = Number(weightText.trim());
    else problems.push(`${name('BACKEND_WEIGHT')} must be an integer, got '${weightText}'`);
  }

  const allowedNetworks: Cidr[] = [];
  // COMPAT(marathon-lb): its examples separate ranges with spaces; commas are accepted too.
  for (const item of (get('BACKEND_NETWORK_ALLOWED_ACL') ?? '').split(/[\s,]+/).filter((s) => s.length > 0)) {
    const cidr = parseCidr(item);
    if (cidr === undefined) problems.push(`${name('BACKEND_NETWORK_ALLOWED_ACL')}: '${item}' is not an IP address or CIDR range`);
    else allowedNetworks.push(cidr);
  }

  const checkIndexText = get('BACKEND_HEALTHCHECK_PORT_INDEX');
  let healthCheckPortIndex: number | undefined;
  if (checkIndexText !== undefined) {
    if (/^\d{1,3}$/.test(checkIndexText.trim())) healthCheckPortIndex = Number(checkIndexText.trim());
    else problems.push(`${name('BACKEND_HEALTHCHECK_PORT_INDEX')} must be a port index (0, 1, ...), got '${checkIndexText}'`);
  }

  return {
    groups: portGroups(labels, index),
    // COMPAT(marathon-lb): without --strict-mode a port is exposed unless ENABLED parses as false.
    enabled: enabledText === undefined ? !strictMode : parseLabelBool(enabledText),
    vhosts: splitList(get('VHOST')).map((host) => host.toLowerCase()),
    paths: path.paths,
    pathIgnoreCase: path.ignoreCase,
    mode,
    bindPort,
    bindAddr,
    balance,
    sticky: flag('STICKY'),
    redirectToHttps: flag('REDIRECT_TO_HTTPS'),
    useHsts: flag('USE_HSTS'),
    sslCerts: splitList(get('SSL_CERT')),
    auth,
    proxyPassPath: pathLabel('HTTP_BACKEND_PROXYPASS_PATH'),
    revProxyPath: pathLabel('HTTP_BACKEND_REVPROXY_PATH'),
    redirectRoot: pathLabel('HTTP_BACKEND_REDIR'),
    weight,
    allowedNetworks,
    healthCheckPortIndex,
    problems,
  };
}

/** The groups of app port `index`; cheap, so that ports of other LBs' groups are skipped before any parsing. */
export function portGroups(labels: Readonly<Record<string, string>>, index: number): string[] {
  // COMPAT(marathon-lb): the more specific HAPROXY_{n}_GROUP replaces HAPROXY_GROUP, it does not add to it.
  return splitList(labels[portLabel(index, 'GROUP')] ?? labels.HAPROXY_GROUP);
}

/** The labels of a marathon-lb blue-green deployment (zdd), read from the app's own labels. */
export interface DeploymentLabels {
  readonly group: string;
  /** `HAPROXY_DEPLOYMENT_ALT_PORT`: the service port the new colour was given while both run. */
  readonly altPort: number | undefined;
  /** `HAPROXY_DEPLOYMENT_STARTED_AT` as epoch ms: the later colour is the new one. */
  readonly startedAt: number;
  readonly targetInstances: number | undefined;
}

/** Undefined when the app is not part of a blue-green deployment; a string when its labels are bad. */
export function parseDeploymentLabels(labels: Readonly<Record<string, string>>): DeploymentLabels | string | undefined {
  const group = labels.HAPROXY_DEPLOYMENT_GROUP?.trim();
  if (group === undefined || group === '') return undefined;
  const altText = labels.HAPROXY_DEPLOYMENT_ALT_PORT;
  const altPort = altText === undefined ? undefined : parsePort(altText);
  if (altText !== undefined && altPort === undefined) return `HAPROXY_DEPLOYMENT_ALT_PORT must be a port 1-65535, got '${altText}'`;
  const startedText = labels.HAPROXY_DEPLOYMENT_STARTED_AT;
  const startedAt = startedText === undefined ? 0 : Date.parse(startedText);
  if (Number.isNaN(startedAt)) return `HAPROXY_DEPLOYMENT_STARTED_AT must be an ISO date, got '${startedText ?? ''}'`;
  const targetText = labels.HAPROXY_DEPLOYMENT_TARGET_INSTANCES;
  const targetInstances = targetText === undefined ? undefined : /^\d{1,6}$/.test(targetText.trim()) ? Number(targetText.trim()) : NaN;
  if (Number.isNaN(targetInstances)) return `HAPROXY_DEPLOYMENT_TARGET_INSTANCES must be a count, got '${targetText ?? ''}'`;
  return { group, altPort, startedAt, targetInstances };
}

/** True when the LB serving `lbGroups` should expose a port labelled with `portGroups`. */
export function matchesGroups(lbGroups: readonly string[], portGroups: readonly string[]): boolean {
  // COMPAT(marathon-lb): `*` is a wildcard only on the LB's side; an app labelled `*` is in a group named `*`.
  if (lbGroups.includes('*')) return true;
  return portGroups.some((group) => lbGroups.includes(group));
}

/** COMPAT(marathon-lb): its string_to_bool accepts true/t/yes/y (any case); everything else is false. */
export function parseLabelBool(text: string): boolean {
  return ['true', 't', 'yes', 'y'].includes(text.trim().toLowerCase());
}

/** Comma list, trimmed, empties dropped (marathon-lb does not trim; a stray space never matched anything useful). */
export function splitList(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
}

/** `realm:user:hash`; the hash may itself hold `:` only in formats we do not accept anyway. */
function parseAuth(text: string | undefined, label: string, problems: string[]): BasicAuth | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const [realm, user, ...rest] = text.trim().split(':');
  const hash = rest.join(':');
  if (realm === undefined || user === undefined || realm === '' || user === '' || hash === '') {
    problems.push(`${label} must be realm:user:password-hash`);
    return undefined;
  }
  if (!isPasswordHash(hash)) {
    problems.push(`${label}: the password must be a bcrypt ($2a$/$2b$/$2y$) or crypt ($1$/$5$/$6$) hash`);
    return undefined;
  }
  return { realm, user, hash };
}

interface ParsedPaths {
  paths: string[];
  ignoreCase: boolean;
  problems: string[];
}

/** COMPAT(marathon-lb): HAPROXY_{n}_PATH is HAProxy `path_beg` syntax: space-separated prefixes, optional `-i` flag. */
function parsePaths(text: string | undefined): ParsedPaths {
  const result: ParsedPaths = { paths: [], ignoreCase: false, problems: [] };
  if (text === undefined) return result;
  for (const token of text.split(/\s+/).filter((t) => t.length > 0)) {
    if (token === '-i') result.ignoreCase = true;
    else if (token.startsWith('/')) result.paths.push(token);
    else result.problems.push(`path '${token}' must start with / (only the -i flag is supported)`);
  }
  return result;
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text.trim())) return undefined;
  const port = Number(text.trim());
  return port >= 1 && port <= 65535 ? port : undefined;
}
