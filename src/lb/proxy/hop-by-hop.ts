import type { IncomingMessage } from 'node:http';

/**
 * Headers that describe the client's connection to us, not the request (RFC 9110 §7.6.1): they
 * must not reach the backend, where a client's `Connection: close` would also defeat pooling.
 * Transfer-Encoding is left to Node, which re-frames the body itself; Upgrade waits for the
 * WebSocket tunnel.
 */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization'];

export function dropHopByHopHeaders(req: IncomingMessage): void {
  const listed = req.headers.connection?.split(',').map((token) => token.trim().toLowerCase()) ?? [];
  for (const name of [...HOP_BY_HOP, ...listed]) {
    if (name === 'upgrade' || name === 'transfer-encoding' || name === 'te' || name === 'host') continue;
    delete req.headers[name];
  }
}
