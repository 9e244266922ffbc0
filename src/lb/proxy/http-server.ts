import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { ClientLimits } from '../config.ts';
import { ALLOWED_METHODS, judgeTarget } from './core/request-target.ts';

/** Why a client was answered before routing; counted per reason. */
export type ClientErrorReason = 'malformed' | 'smuggling' | 'headers-too-large' | 'too-many-headers' | 'timeout';

export interface ProxyServerOptions {
  readonly limits: ClientLimits;
  /** TLS: the server presents certificates (SNI chooses among them). Absent = plain HTTP. */
  readonly tls?: Pick<TlsOptions, 'SNICallback'> & SecureContextOptions;
  readonly onRequest: (req: IncomingMessage, res: ServerResponse) => void;
  readonly onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly onClientError: (reason: ClientErrorReason) => void;
}

/**
 * An HTTP/1.1 server that a hostile or broken client cannot stall or confuse: Node's parser
 * rejects request smuggling (Content-Length with Transfer-Encoding, duplicated Content-Length)
 * and oversized headers; timeouts close slow or silent connections with 408. Every such client
 * is answered on its own connection, so nobody else notices.
 */
export function createProxyServer(options: ProxyServerOptions): Server {
  const { limits } = options;
  const serverOptions: ServerOptions = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Timeouts are enforced by a periodic sweep; the default 30 s would let a slowloris linger.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    requireHostHeader: false,
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const refusal = refuse(req, limits);
    if (refusal !== undefined) {
      options.onClientError(refusal.reason);
      res.shouldKeepAlive = false;
      res.writeHead(refusal.status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
      res.end(`${refusal.status} ${refusal.message}\n`);
      return;
    }
    // About the server, not a resource: answered here, so no backend is chosen or blamed.
    if (req.method === 'OPTIONS' && req.url === '*') {
      res.writeHead(200, { allow: ALLOWED_METHODS, 'content-length': '0' });
      res.end();
      return;
    }
    options.onRequest(req, res);
  };
  const onUpgrade = options.onUpgrade;
  // A client stalling its TLS handshake is as slow as one stalling its headers.
  const server = options.tls
    ? createHttpsServer({ ...serverOptions, ...options.tls, handshakeTimeout: limits.headersTimeoutMs }, handler)
    : createHttpServer(serverOptions, handler);
  server.keepAliveTimeout = limits.idleTimeoutMs;
  // One over the limit, so that a request with too many headers can be told apart and refused.
  server.maxHeadersCount = limits.maxHeaders + 1;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const { status, reason } = classify(err);
    options.onClientError(reason);
    // A reset or a TLS failure leaves nothing to answer on.
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  if (onUpgrade) {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const refusal = refuse(req, limits);
      if (refusal === undefined && req.url !== '*') {
        onUpgrade(req, socket, head);
        return;
      }
      options.onClientError(refusal?.reason ?? 'malformed');
      const status = refusal?.status ?? 400;
      socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    });
  }
  return server;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

function classify(err: NodeJS.ErrnoException): { status: number; reason: ClientErrorReason } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, reason: 'headers-too-large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, reason: 'timeout' };
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
      return { status: 400, reason: 'smuggling' };
    default:
      return { status: 400, reason: 'malformed' };
  }
}

/**
 * Checks the parser leaves to us. A request passing them has its target in origin form (or is
 * `OPTIONS *`) and its one `Host` naming where it goes: an absolute-form target's authority.
 */
function refuse(req: IncomingMessage, limits: ClientLimits): { status: number; reason: ClientErrorReason; message: string } | undefined {
  if (req.rawHeaders.length / 2 > limits.maxHeaders) {
    return { status: 431, reason: 'too-many-headers', message: `Request Header Fields Too Large: more than ${limits.maxHeaders} headers` };
  }
  // Only plain `chunked` framing is passed on: any other coding would reach the backend re-framed
  // differently from what the client meant (a smuggling vector between proxies).
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') {
    return { status: 400, reason: 'smuggling', message: 'Bad Request: only Transfer-Encoding: chunked is accepted' };
  }
  const hostLines: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]?.toLowerCase() === 'host') hostLines.push(req.rawHeaders[i + 1] ?? '');
  const verdict = judgeTarget(req.method ?? 'GET', req.url ?? '', hostLines, req.httpVersion);
  if (verdict.kind === 'refuse') return { status: 400, reason: 'malformed', message: `Bad Request: ${verdict.message}` };
  if (verdict.kind === 'forward') {
    req.url = verdict.path;
    if (verdict.host !== undefined) req.headers.host = verdict.host;
  }
  return undefined;
}
