import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { Logger } from '../../shared/log.ts';
import { backendKey, type Balancer } from '../core/balancer.ts';
import type { Backend, BackendPool } from '../core/routing-table.ts';
import type { RouteStats } from '../stats/route-stats.ts';
import { addForwardedHeaders } from './forwarded-headers.ts';
import { dropHopByHopHeaders } from './hop-by-hop.ts';
import { BasicAuthChecker, answerLocally, backendPath, shapeResponseHeaders, stickyCookie, type ListenerInfo } from './http-policy.ts';
import { tunnelUpgrade } from './upgrade-tunnel.ts';

export interface HttpForwarderOptions {
  readonly balancer: Balancer;
  readonly stats: RouteStats;
  readonly logger: Logger;
  /** Upper bound on a backend staying silent (no response headers, or a stalled body). */
  readonly backendTimeoutMs?: number;
}

/** Errors that mean the request never reached the backend's application, so it may go elsewhere. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Sends HTTP requests to a pool's backends over pooled keep-alive connections (undici's Agent:
 * bench/lb.ts measured it well ahead of node:http, http-proxy and http-proxy-3 for this job). The
 * pool is chosen by the caller from the table it read; this class never looks at the table, so
 * a request finishes on the routing it started with, and a backend that left the table (a
 * killed instance) still completes what it already has.
 */
export class HttpForwarder {
  readonly #options: HttpForwarderOptions;
  readonly #agent: Agent;
  readonly #auth = new BasicAuthChecker();
  readonly #timeoutMs: number;

  constructor(options: HttpForwarderOptions) {
    this.#options = options;
    this.#timeoutMs = options.backendTimeoutMs ?? 60_000;
    this.#agent = new Agent({ keepAliveTimeout: 4000, headersTimeout: this.#timeoutMs, bodyTimeout: this.#timeoutMs });
  }

  /** Proxies `req` to one of `pool`'s backends, or answers itself (labels, no backend, all failed). */
  forward(req: IncomingMessage, res: ServerResponse, pool: BackendPool, listener: ListenerInfo): void {
    const { stats } = this.#options;
    const started = performance.now();
    const local = answerLocally(req, pool, listener, this.#auth);
    if (local !== undefined) {
      if (local.denied) stats.denied(pool.id);
      sendText(res, local.status, local.body, local.headers);
      return;
    }
    if (pool.backends.length === 0) {
      stats.noBackend(pool.id);
      sendText(res, 503, `503 Service Unavailable: no serving instance of ${pool.appId}\n`);
      return;
    }
    stats.request(pool.id);
    res.once('finish', () => stats.response(pool.id, res.statusCode, (performance.now() - started) / 1000));
    // Read before hop-by-hop headers go: Transfer-Encoding is one of them.
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    dropHopByHopHeaders(req.headers);
    // node:http has already answered `Expect: 100-continue` for us; the backend gets the body.
    delete req.headers.expect;
    addForwardedHeaders(req, listener);
    this.#attempt(req, res, pool, listener, hasBody, new Set());
  }

  /** Tunnels an `Upgrade` request (WebSocket) to a backend of `pool`. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, pool: BackendPool, listener: ListenerInfo): void {
    const { balancer, stats, logger } = this.#options;
    const backend = balancer.pick(pool, { clientAddress: req.socket.remoteAddress, stickyId: stickyCookie(req.headers) }, Date.now());
    if (backend === undefined) {
      stats.noBackend(pool.id);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    stats.request(pool.id);
    const upgrade = req.headers.upgrade;
    dropHopByHopHeaders(req.headers);
    addForwardedHeaders(req, listener);
    balancer.started(backend);
    tunnelUpgrade({ req, socket, head, backend, path: backendPath(req.url ?? '/', pool.http), upgrade: upgrade ?? 'websocket' }, (ok) => {
      balancer.finished(backend, ok, Date.now());
      if (!ok) {
        stats.upstreamError(pool.id);
        logger.warn({ pool: pool.id, backend: backend.taskId }, 'upgrade: backend unreachable');
      }
    });
  }

  /** Closes pooled backend connections. */
  close(): void {
    void this.#agent.destroy();
  }

  #attempt(req: IncomingMessage, res: ServerResponse, pool: BackendPool, listener: ListenerInfo, hasBody: boolean, tried: Set<string>): void {
    const { balancer, stats, logger } = this.#options;
    const pinned = pool.sticky ? stickyCookie(req.headers) : undefined;
    const backend = balancer.pick(pool, { clientAddress: req.socket.remoteAddress, stickyId: pinned, exclude: tried }, Date.now()) as Backend;
    tried.add(backendKey(backend));
    balancer.started(backend);
    let responded = false;
    let settled = false;
    const settle = (ok: boolean): boolean => {
      if (settled) return false;
      settled = true;
      balancer.finished(backend, ok, Date.now());
      return true;
    };
    // The client went away: stop the backend's work too (not the backend's fault).
    const abort = new AbortController();
    const onClientGone = (): void => {
      if (res.writableFinished || !settle(true)) return;
      abort.abort();
    };
    res.once('close', onClientGone);
    this.#agent
      .stream(
        {
          origin: `http://${backend.host.includes(':') ? `[${backend.host}]` : backend.host}:${backend.port}`,
          path: backendPath(req.url ?? '/', pool.http),
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers: req.headers as Record<string, string | string[]>,
          body: hasBody ? req : null,
          signal: abort.signal,
        },
        ({ statusCode, headers }) => {
          responded = true;
          const shaped = headers as Record<string, string | string[] | undefined>;
          dropHopByHopHeaders(shaped);
          shapeResponseHeaders(shaped, req, pool, listener, pool.sticky ? backend.taskId : undefined);
          res.writeHead(statusCode, shaped);
          return res;
        },
      )
      .then(
        () => {
          res.off('close', onClientGone);
          settle(true);
        },
        (err: NodeJS.ErrnoException) => {
          res.off('close', onClientGone);
          if (!settle(responded)) return;
          if (!responded && canRetry(req, hasBody, err.code) && tried.size < pool.backends.length) {
            logger.debug({ pool: pool.id, backend: backend.taskId, code: err.code }, 'backend failed, trying another');
            this.#attempt(req, res, pool, listener, hasBody, tried);
            return;
          }
          stats.upstreamError(pool.id);
          logger.warn({ pool: pool.id, backend: backend.taskId, code: err.code, err: err.message }, 'no backend answered');
          if (res.headersSent) res.destroy();
          else if (err.code === 'UND_ERR_HEADERS_TIMEOUT') sendText(res, 504, `504 Gateway Timeout: no instance of ${pool.appId} answered in time\n`);
          else sendText(res, 502, `502 Bad Gateway: no instance of ${pool.appId} answered\n`);
        },
      );
  }
}

/** A replay is safe only for idempotent requests without a body to resend, and a failure before the backend saw it. */
function canRetry(req: IncomingMessage, hasBody: boolean, code: string | undefined): boolean {
  return !hasBody && code !== undefined && CONNECT_ERRORS.has(code) && IDEMPOTENT_METHODS.has(req.method ?? '');
}

export function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}
