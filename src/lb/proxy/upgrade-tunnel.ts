import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Backend } from '../core/routing-table.ts';

export interface TunnelRequest {
  readonly req: IncomingMessage;
  /** The client's connection, handed over by the server's `upgrade` event. */
  readonly socket: Duplex;
  /** Bytes the client sent after its headers. */
  readonly head: Buffer;
  readonly backend: Backend;
  readonly path: string;
  readonly upgrade: string;
}

/**
 * Replays the upgrade request to the backend on a fresh connection and then joins the two
 * sockets byte for byte: the backend's `101 Switching Protocols` (or refusal) and everything
 * after it reach the client untouched. `done(ok)` reports once whether the backend was reached.
 */
export function tunnelUpgrade(request: TunnelRequest, done: (ok: boolean) => void): void {
  const { req, socket, head, backend } = request;
  let reported = false;
  const report = (ok: boolean): void => {
    if (reported) return;
    reported = true;
    done(ok);
  };
  const upstream = connect({ host: backend.host, port: backend.port });
  upstream.setNoDelay(true);
  socket.on('error', () => upstream.destroy());
  socket.once('close', () => upstream.destroy());
  upstream.once('error', () => {
    report(false);
    if (socket.writable) socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  upstream.once('close', () => socket.destroy());
  upstream.once('connect', () => {
    report(true);
    const lines = [`${req.method ?? 'GET'} ${request.path} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] ?? '';
      // The forwarded headers were rewritten on req.headers; hop-by-hop ones are gone from it.
      if (req.headers[name.toLowerCase()] === undefined) continue;
      if (FORWARDING.has(name.toLowerCase())) continue;
      lines.push(`${name}: ${req.rawHeaders[i + 1] ?? ''}`);
    }
    for (const name of FORWARDING) {
      const value = req.headers[name];
      if (typeof value === 'string') lines.push(`${name}: ${value}`);
    }
    lines.push('Connection: Upgrade', `Upgrade: ${request.upgrade}`);
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    socket.pipe(upstream);
    upstream.pipe(socket);
  });
}

const FORWARDING = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-port', 'forwarded']);
