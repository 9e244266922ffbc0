/** What the proxy does with a request, judged by its target and `Host` lines alone (RFC 9112 §3.2). */
export type TargetVerdict =
  /** Route by `host` and send `path` (origin form) to the backend. */
  | { readonly kind: 'forward'; readonly host: string | undefined; readonly path: string }
  /** `OPTIONS *`: about the server itself, so the LB answers it (no backend is chosen). */
  | { readonly kind: 'server-options' }
  /** The client's mistake: 400 with `message`, never a backend's failure. */
  | { readonly kind: 'refuse'; readonly message: string };

/** The methods `OPTIONS *` lists: what the LB passes on to backends. */
export const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH';

const ABSOLUTE_FORM = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^#]*)/i;
/** RFC 3986 `host [ ":" port ]`: an IP literal in brackets or a reg-name (letters, digits, `-._~`, sub-delims, %-escapes). */
const HOST_VALUE = /^(\[[0-9a-f:.]+\]|[a-z0-9\-._~%!$&'()*+,;=]*)(:\d*)?$/i;

/**
 * Judges a request target: origin form (`/a?b`) is forwarded as is; absolute form
 * (`http://host/a?b`) is routed by its authority, the `Host` line ignored as RFC 9112 §3.2.2
 * asks, and forwarded in origin form; `OPTIONS *` is the server's to answer. An HTTP/1.1 request
 * without `Host`, any with more than one `Host` line or a `Host` that names no host, and any other
 * target are refused (400).
 */
export function judgeTarget(method: string, target: string, hostLines: readonly string[], httpVersion: string): TargetVerdict {
  if (hostLines.length > 1) return refuse('more than one Host header');
  if (hostLines.length === 0 && httpVersion === '1.1') return refuse('HTTP/1.1 request without Host');
  if (hostLines[0] !== undefined && !HOST_VALUE.test(hostLines[0].trim())) return refuse('Host is not a host name or address');
  if (target.startsWith('/')) return { kind: 'forward', host: hostLines[0], path: target };
  if (target === '*') return method === 'OPTIONS' ? { kind: 'server-options' } : refuse(`'*' is a target for OPTIONS only`);
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute === null) return refuse('request target is neither a path, an absolute URL nor *');
  const [, scheme = '', authority = '', rest = ''] = absolute;
  if (!/^https?$/i.test(scheme)) return refuse(`unsupported scheme '${scheme}'`);
  if (authority === '' || authority.includes('@')) return refuse('absolute URL without a plain host');
  return { kind: 'forward', host: authority, path: rest.startsWith('/') ? rest : `/${rest}` };
}

function refuse(message: string): TargetVerdict {
  return { kind: 'refuse', message };
}
