import { isLoopbackHost } from '../../shared/address.ts';

/**
 * Browser safety (CSRF): what a page on another site can make an operator's browser send to a
 * scheduler it can reach (127.0.0.1:8080, or one the browser holds Basic credentials for) is a
 * "simple" request: a form post (`application/x-www-form-urlencoded`, `multipart/form-data`,
 * `text/plain`) or a `fetch` with such a body or none, always with the page's `Origin` on a
 * write. Requiring JSON on every write with a body and refusing a foreign `Origin` on every
 * route leaves it nothing: a JSON content type or a custom header needs a CORS preflight, which
 * the scheduler never answers. Cookies authenticate nothing (the scheduler sets and reads none).
 */

export type BrowserCheck = { ok: true } | { ok: false; reason: string };

const OK: BrowserCheck = { ok: true };
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `https://UI.example.com:443/` → `https://ui.example.com`; undefined for anything but an http(s) origin. */
export function normalizeOrigin(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '' || !['', '/'].includes(url.pathname)) return undefined;
  return url.origin;
}

/**
 * May a request with this `Origin` header go on? No header (curl, the CLI, agents, DNS/LB, any
 * non-browser client) or the scheduler's own origin (the `Host` it was asked by) or one the
 * operator allowed (`--allowed-origins`). Asked on every method: a cross-site GET could not read
 * the answer anyway (no CORS headers are ever sent), so refusing it costs no legitimate client
 * and keeps a page from holding event streams open. `Origin: null` (sandboxed frames, `file:`)
 * is foreign.
 */
export function checkOrigin(origin: string | undefined, host: string | undefined, allowedOrigins: readonly string[]): BrowserCheck {
  if (origin === undefined) return OK;
  const normalized = normalizeOrigin(origin);
  if (normalized !== undefined) {
    if (allowedOrigins.includes(normalized)) return OK;
    if (host !== undefined && host !== '' && normalizeOrigin(`${new URL(normalized).protocol}//${host}`) === normalized) return OK;
  }
  return { ok: false, reason: `Origin ${origin} is not this scheduler's (${host ?? 'no Host'}) nor one of --allowed-origins; cross-site requests are refused` };
}

export interface BodyHeaders {
  'content-type'?: string | undefined;
  'content-length'?: string | undefined;
  'transfer-encoding'?: string | undefined;
}

/**
 * A write (POST, PUT, PATCH, DELETE) that carries a body, or names a content type, must say
 * `application/json` (parameters such as `charset` aside): every type a browser may send
 * cross-site without a preflight is refused, and so is a body without a type (a `fetch` of a
 * Blob sends none). A write with neither (restart, kill, drain, delete) needs nothing.
 */
export function checkContentType(method: string, headers: BodyHeaders): BrowserCheck {
  if (READS.has(method.toUpperCase())) return OK;
  const type = headers['content-type'];
  const length = headers['content-length'];
  const hasBody = headers['transfer-encoding'] !== undefined || (length !== undefined && length.trim() !== '0');
  if (type === undefined && !hasBody) return OK;
  const media = (type ?? '').split(';')[0]?.trim().toLowerCase();
  if (media === 'application/json') return OK;
  return { ok: false, reason: `a ${method.toUpperCase()} with a body must be sent as Content-Type: application/json${type === undefined ? ' (none was given)' : ` (not ${type})`}` };
}

/**
 * DNS rebinding: a page on evil.example whose name then resolves to 127.0.0.1 is same-origin with
 * the scheduler as far as the browser knows (Origin and Host both say evil.example), so the checks
 * above let it read and write a scheduler that only loopback guards. Its `Host` still names
 * evil.example: a scheduler on loopback answers only the names it is known by. `any` turns the
 * check off; a leading-dot entry (`.example.com`) also covers every name below it.
 */
export type HostAllowList = 'any' | readonly string[];

const bareName = (name: string): string => name.toLowerCase().replace(/\.$/, '');

/**
 * On loopback: `localhost` and every `*.localhost` (browsers resolve those to loopback themselves),
 * the machine's name, the name the scheduler listens on, and `--allowed-hosts`. On another address
 * the check is on only when `--allowed-hosts` is given: there `--auth` (or the operator's
 * `--insecure`) is the guard, and a rebound page carries no credential for the real name.
 * `--allowed-hosts *` turns it off. `names` (an agent's `--hostname`) are answered too, without
 * turning the check on.
 */
export function hostAllowList(input: { listenHost: string; machineHostname: string; allowedHosts: readonly string[]; names?: readonly string[] }): HostAllowList {
  const listen = bareName(input.listenHost);
  if (input.allowedHosts.includes('*') || (!isLoopbackHost(listen) && input.allowedHosts.length === 0)) return 'any';
  const names = ['localhost', '.localhost', input.machineHostname, ...(isIpLiteral(listen) ? [] : [listen]), ...(input.names ?? []), ...input.allowedHosts].map(bareName);
  return [...new Set(names.filter((name) => name !== ''))];
}

/** An IP address needs no DNS, so it cannot be rebound (browsers send IPs in their canonical form). */
function isIpLiteral(name: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':');
}

/** `name[:port]` or `[v6]:port` → the name, lower case, without a trailing dot. */
function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  return bareName(host.replace(/:\d*$/, ''));
}

const HOST_REMEDY = {
  scheduler: "(loopback names, IP addresses, this machine's name, --allowed-hosts): refused against DNS rebinding; add the name to --allowed-hosts",
  agent: "(loopback names, IP addresses, this machine's name, its --hostname): refused against DNS rebinding",
} as const;

/** May a request asked by this `Host` go on? The port is not looked at: a rebound page uses the real one. */
export function checkHost(host: string | undefined, allowed: HostAllowList, server: keyof typeof HOST_REMEDY = 'scheduler'): BrowserCheck {
  if (host === undefined || allowed === 'any') return OK;
  const name = hostName(host.trim());
  if (name !== '' && (isIpLiteral(name) || allowed.some((entry) => entry === name || (entry.startsWith('.') && (name.endsWith(entry) || name === entry.slice(1)))))) return OK;
  return { ok: false, reason: `Host ${host || '(empty)'} is not a name this ${server} answers to ${HOST_REMEDY[server]}` };
}
