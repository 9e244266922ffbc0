import type { IncomingHttpHeaders } from 'node:http';

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1): they must not cross
 * the proxy, where a client's `Connection: close` would also defeat pooling. Transfer-Encoding
 * is re-framed by each side itself; Upgrade is kept only on the tunnel path, which re-adds it.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** Removes hop-by-hop headers, including those the `Connection` header names (never `Host`). */
export function dropHopByHopHeaders(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): void {
  // Runs twice per proxied request: no array is built unless a Connection header names more.
  const connection = headers.connection;
  for (const name of HOP_BY_HOP) delete headers[name];
  if (typeof connection !== 'string') return;
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name !== 'host') delete headers[name];
  }
}
