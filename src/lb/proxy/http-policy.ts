import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { inRanges } from '../core/cidr.ts';
import { verifyPassword } from '../core/password-hash.ts';
import type { BackendPool, HttpPolicy } from '../core/routing-table.ts';
import { pathOfRequest } from '../core/route-lookup.ts';

/** COMPAT(marathon-lb): the cookie its `HAPROXY_{n}_STICKY` template inserts. */
export const STICKY_COOKIE = 'mesosphere_server_id';
/** COMPAT(marathon-lb): the max-age its HSTS template sets (six months). */
const HSTS = 'max-age=15768000';

/** How the request reached the LB. */
export interface ListenerInfo {
  readonly port: number;
  readonly proto: 'http' | 'https';
}

/** An answer the LB gives itself instead of proxying. */
export interface LocalAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Counted as a refusal (403/401) rather than a redirect. */
  readonly denied: boolean;
}

/**
 * The pool's labels that answer before any backend is involved, in marathon-lb's order: network
 * ACL (403), HTTPS redirect (301), root redirect (301), Basic auth (401).
 */
export function answerLocally(req: IncomingMessage, pool: BackendPool, listener: ListenerInfo, auth: BasicAuthChecker): LocalAnswer | undefined {
  if (pool.allowedNetworks.length > 0 && !inRanges(req.socket.remoteAddress, pool.allowedNetworks)) {
    return { status: 403, headers: {}, body: '403 Forbidden\n', denied: true };
  }
  const policy = pool.http;
  const host = req.headers.host;
  if (policy.redirectToHttps && listener.proto === 'http' && host !== undefined) {
    return redirect(`https://${host.replace(/:\d*$/, '')}${req.url ?? '/'}`);
  }
  if (policy.redirectRoot !== undefined && pathOfRequest(req.url) === '/') return redirect(policy.redirectRoot);
  if (policy.auth !== undefined && !auth.check(req.headers.authorization, policy.auth.user, policy.auth.hash)) {
    return {
      status: 401,
      headers: { 'www-authenticate': `Basic realm="${policy.auth.realm.replace(/["\\]/g, '')}"` },
      body: '401 Unauthorized\n',
      denied: true,
    };
  }
  return undefined;
}

function redirect(location: string): LocalAnswer {
  return { status: 301, headers: { location }, body: '', denied: false };
}

/** COMPAT(marathon-lb): PROXYPASS_PATH `/app` sends `/app/x` to the backend as `/x` (and `/app` as `/`). */
export function backendPath(url: string, policy: HttpPolicy): string {
  const prefix = policy.proxyPassPath?.replace(/\/+$/, '');
  if (!prefix || !url.startsWith(prefix)) return url;
  const rest = url.slice(prefix.length);
  if (rest === '' || rest.startsWith('?')) return `/${rest}`;
  return rest.startsWith('/') ? rest : url;
}

/**
 * Shapes the backend's answer: REVPROXY_PATH puts the public prefix back in front of a `Location`
 * on this host; HSTS on HTTPS; the sticky cookie when the client is not pinned to this backend yet.
 */
export function shapeResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  req: IncomingMessage,
  pool: BackendPool,
  listener: ListenerInfo,
  stickyTo: string | undefined,
): void {
  const prefix = pool.http.revProxyPath?.replace(/\/+$/, '');
  const location = headers.location;
  if (prefix && typeof location === 'string') headers.location = prefixLocation(location, prefix, req.headers.host);
  if (pool.http.useHsts && listener.proto === 'https') headers['strict-transport-security'] = HSTS;
  if (stickyTo !== undefined && stickyCookie(req.headers) !== stickyTo) {
    const cookie = `${STICKY_COOKIE}=${stickyTo}; Path=/`;
    const existing = headers['set-cookie'];
    headers['set-cookie'] = existing === undefined ? [cookie] : [...(Array.isArray(existing) ? existing : [existing]), cookie];
  }
}

function prefixLocation(location: string, prefix: string, host: string | undefined): string {
  let origin = '';
  let path = location;
  const absolute = /^(https?:\/\/[^/]+)(\/.*)?$/i.exec(location);
  if (absolute) {
    // Only a redirect back to this same host is rewritten; one to elsewhere is left alone.
    if (host === undefined || absolute[1]?.replace(/^https?:\/\//i, '').toLowerCase() !== host.toLowerCase()) return location;
    origin = absolute[1] ?? '';
    path = absolute[2] ?? '/';
  }
  if (!path.startsWith('/') || path === prefix || path.startsWith(`${prefix}/`)) return location;
  return `${origin}${prefix}${path}`;
}

/** The client's `mesosphere_server_id` cookie, if any. */
export function stickyCookie(headers: IncomingHttpHeaders): string | undefined {
  const cookie = headers.cookie;
  if (cookie === undefined) return undefined;
  for (const part of cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === STICKY_COOKIE) return value.join('=');
  }
  return undefined;
}

/**
 * Basic credentials checked against a crypt/bcrypt hash. Hashing is deliberately slow (bcrypt
 * costs milliseconds), so verdicts are remembered per (header, hash): a client sending the same
 * header again costs a map lookup. Bounded, oldest dropped first.
 */
export class BasicAuthChecker {
  readonly #verdicts = new Map<string, boolean>();
  readonly #max: number;

  constructor(max = 1024) {
    this.#max = max;
  }

  check(header: string | undefined, user: string, hash: string): boolean {
    if (header === undefined) return false;
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!match) return false;
    const key = `${hash}\n${match[1] ?? ''}`;
    const known = this.#verdicts.get(key);
    if (known !== undefined) return known;
    const decoded = Buffer.from(match[1] ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const verdict = colon >= 0 && decoded.slice(0, colon) === user && verifyPassword(decoded.slice(colon + 1), hash);
    if (this.#verdicts.size >= this.#max) this.#verdicts.delete(this.#verdicts.keys().next().value as string);
    this.#verdicts.set(key, verdict);
    return verdict;
  }
}
