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
