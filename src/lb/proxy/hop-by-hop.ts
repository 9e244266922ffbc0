import type { IncomingHttpHeaders } from 'node:http';

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1): they must not cross
 * the proxy, where a client's `Connection: close` would also defeat pooling. Transfer-Encoding
 * is re-framed by each side itself; Upgrade is kept only on the tunnel path, which re-adds it.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** Removes hop-by-hop headers, including those the `Connection` header names, except `keep`. */
export function dropHopByHopHeaders(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>, keep: readonly string[] = []): void {
  const connection = headers.connection;
  const listed = typeof connection === 'string' ? connection.split(',').map((token) => token.trim().toLowerCase()) : [];
  for (const name of [...HOP_BY_HOP, ...listed]) {
    if (name === 'host' || keep.includes(name)) continue;
    delete headers[name];
  }
}
