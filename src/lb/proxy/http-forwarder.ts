import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import type { Logger } from '../../shared/log.ts';
import { backendKey, type Balancer } from '../core/balancer.ts';
import type { Backend, BackendPool } from '../core/routing-table.ts';
import type { RouteStats } from '../stats/route-stats.ts';
import { addForwardedHeaders } from './core/forwarded-headers.ts';
import { dropHopByHopHeaders } from './core/hop-by-hop.ts';
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
    // Read before hop-by-hop headers go: Transfer-Encoding is one of them.
    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    dropHopByHopHeaders(req.headers);
    // node:http has already answered `Expect: 100-continue` for us; the backend gets the body.
    delete req.headers.expect;
    addForwardedHeaders(req, listener);
    this.#attempt({ req, res, pool, listener, hasBody, tried: new Set(), started });
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

  #attempt(request: ForwardedRequest): void {
    const { req, pool } = request;
    const backend = this.#options.balancer.pick(pool, { clientAddress: req.socket.remoteAddress, stickyId: pool.sticky ? stickyCookie(req.headers) : undefined, exclude: request.tried }, Date.now()) as Backend;
    request.tried.add(backendKey(backend));
    const exchange = new Exchange(request, backend, this.#options, () => this.#attempt(request));
    this.#agent.dispatch(
      {
        origin: `http://${backend.host.includes(':') ? `[${backend.host}]` : backend.host}:${backend.port}`,
        path: backendPath(req.url ?? '/', pool.http),
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: req.headers as Record<string, string | string[]>,
        body: request.hasBody ? req : null,
      },
      exchange,
    );
  }
}

/** One client request on its way to a backend, across retries. */
interface ForwardedRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly pool: BackendPool;
  readonly listener: ListenerInfo;
  readonly hasBody: boolean;
  /** Backends already tried (backendKey). */
  readonly tried: Set<string>;
  /** performance.now() when the forwarder took the request, for the latency histogram. */
  readonly started: number;
}

const CLIENT_GONE = 'client closed the connection';

/**
 * One attempt at one backend, as undici's dispatch handler: the backend's answer is written to
 * the client as it arrives, with back-pressure. Lower level than `Agent.stream` on purpose: no
 * AbortController, promise or stream-finished watcher per request, which took a tenth of the
 * proxy's time under load.
 */
class Exchange implements Dispatcher.DispatchHandler {
  readonly #request: ForwardedRequest;
  readonly #backend: Backend;
  readonly #options: HttpForwarderOptions;
  readonly #retry: () => void;
  #controller: Dispatcher.DispatchController | undefined;
  #responded = false;
  #settled = false;

  constructor(request: ForwardedRequest, backend: Backend, options: HttpForwarderOptions, retry: () => void) {
    this.#request = request;
    this.#backend = backend;
    this.#options = options;
    this.#retry = retry;
    options.balancer.started(backend);
    request.res.once('close', this.#onClientGone);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // The client left before undici had a connection for this request.
    if (this.#settled) controller.abort(new Error(CLIENT_GONE));
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx (100 Continue, 103 Early Hints) stay between us and the backend.
    if (statusCode < 200) return;
    this.#responded = true;
    const { req, res, pool, listener } = this.#request;
    const shaped = headers as Record<string, string | string[] | undefined>;
    dropHopByHopHeaders(shaped);
    shapeResponseHeaders(shaped, req, pool, listener, pool.sticky ? this.#backend.taskId : undefined);
    res.writeHead(statusCode, shaped);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const { res } = this.#request;
    if (res.write(chunk)) return;
    controller.pause();
    res.once('drain', () => controller.resume());
  }

  onResponseEnd(): void {
    const { res } = this.#request;
    res.off('close', this.#onClientGone);
    res.end();
    if (this.#settle(true)) this.#count();
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: NodeJS.ErrnoException): void {
    const { req, res, pool, hasBody, tried } = this.#request;
    res.off('close', this.#onClientGone);
    // undici refused what the client sent (a header value, a target): the backend never saw it.
    const clientsFault = err.code === 'UND_ERR_INVALID_ARG';
    if (!this.#settle(this.#responded || clientsFault)) return;
    const { stats, logger } = this.#options;
    if (clientsFault && !res.headersSent) {
      sendText(res, 400, `400 Bad Request: ${err.message}\n`);
      this.#count();
      return;
    }
    if (!this.#responded && canRetry(req, hasBody, err.code) && tried.size < pool.backends.length) {
      logger.debug({ pool: pool.id, backend: this.#backend.taskId, code: err.code }, 'backend failed, trying another');
      this.#retry();
      return;
    }
    stats.upstreamError(pool.id);
    logger.warn({ pool: pool.id, backend: this.#backend.taskId, code: err.code, err: err.message }, 'no backend answered');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err.code === 'UND_ERR_HEADERS_TIMEOUT') sendText(res, 504, `504 Gateway Timeout: no instance of ${pool.appId} answered in time\n`);
    else sendText(res, 502, `502 Bad Gateway: no instance of ${pool.appId} answered\n`);
    this.#count();
  }

  /** The client went away: stop the backend's work too (not the backend's fault). */
  readonly #onClientGone = (): void => {
    if (this.#request.res.writableFinished || !this.#settle(true)) return;
    this.#controller?.abort(new Error(CLIENT_GONE));
  };

  #settle(ok: boolean): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#options.balancer.finished(this.#backend, ok, Date.now());
    return true;
  }

  #count(): void {
    const { res, pool, started } = this.#request;
    this.#options.stats.response(pool.id, res.statusCode, (performance.now() - started) / 1000);
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
