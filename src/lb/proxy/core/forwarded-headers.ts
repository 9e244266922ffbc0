import type { IncomingMessage } from 'node:http';
import type { ListenerInfo } from '../http-policy.ts';

/**
 * Tells the backend who the client is and how it reached us. X-Forwarded-For is appended to (the
 * chain of proxies is kept); Proto and Port are set, since only this hop knows them.
 * COMPAT(marathon-lb): HAProxy's `option forwardfor` appends the client address and its
 * templates set X-Forwarded-Proto/-Port, overwriting what the client sent.
 */
export function addForwardedHeaders(req: IncomingMessage, listener: ListenerInfo): void {
  const client = req.socket.remoteAddress ?? 'unknown';
  const proto = listener.proto;
  const prior = req.headers['x-forwarded-for'];
  req.headers['x-forwarded-for'] = prior === undefined || prior === '' ? client : `${prior}, ${client}`;
  req.headers['x-forwarded-proto'] = proto;
  req.headers['x-forwarded-port'] = String(listener.port);

  // RFC 7239: IPv6 addresses are bracketed and quoted; the host is quoted when it has a port.
  const node = client.includes(':') ? `"[${client}]"` : client;
  const host = req.headers.host;
  const element = `for=${node};proto=${proto}${host === undefined ? '' : `;host="${host.replace(/["\\]/g, '')}"`}`;
  const forwarded = req.headers.forwarded;
  req.headers.forwarded = forwarded === undefined || forwarded === '' ? element : `${forwarded}, ${element}`;
}
