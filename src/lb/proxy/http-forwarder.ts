import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { ProxyServer } from 'http-proxy-3';
import type { Logger } from '../../shared/log.ts';
import type { RoundRobin } from '../core/round-robin.ts';
import type { Backend, BackendPool } from '../core/routing-table.ts';
import type { RouteStats } from '../stats/route-stats.ts';
import { addForwardedHeaders } from './forwarded-headers.ts';
import { dropHopByHopHeaders } from './hop-by-hop.ts';

export interface HttpForwarderOptions {
  readonly picker: RoundRobin;
  readonly stats: RouteStats;
  readonly logger: Logger;
  /** Upper bound on waiting for a backend's response headers. */
  readonly proxyTimeoutMs?: number;
}

/** Errors that mean the request never reached the backend's application, or may be replayed safely. */
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ETIMEDOUT']);
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Sends HTTP requests to a pool's backends through http-proxy-3 over pooled keep-alive
 * connections. The pool is chosen by the caller from the table it read; this class never looks
 * at the table, so a request finishes on the routing it started with.
 */
export class HttpForwarder {
  readonly #options: HttpForwarderOptions;
  readonly #agent = new Agent({ keepAlive: true, maxFreeSockets: 64, scheduling: 'lifo' });
  readonly #proxy: ProxyServer;

  constructor(options: HttpForwarderOptions) {
    this.#options = options;
    this.#proxy = new ProxyServer({ agent: this.#agent, xfwd: false, proxyTimeout: options.proxyTimeoutMs ?? 60_000 });
    // Every web() call passes its own callback; this only keeps a stray emit from crashing the process.
    this.#proxy.on('error', (err) => options.logger.warn({ err: err.message }, 'proxy error'));
  }

  /** Proxies `req` to one of `pool`'s backends; answers 503 itself when the pool is empty. */
  forward(req: IncomingMessage, res: ServerResponse, pool: BackendPool, listenerPort: number): void {
    if (pool.backends.length === 0) {
      this.#options.stats.noBackend(pool.id);
      sendText(res, 503, `503 Service Unavailable: no serving instance of ${pool.appId}\n`);
      return;
    }
    this.#options.stats.request(pool.id);
    dropHopByHopHeaders(req);
    addForwardedHeaders(req, listenerPort);
    this.#attempt(req, res, pool, 1);
  }

  /** Closes pooled backend connections. */
  close(): void {
    this.#agent.destroy();
  }

  #attempt(req: IncomingMessage, res: ServerResponse, pool: BackendPool, attempt: number): void {
    const backend = this.#options.picker.pick(pool.id, pool.backends) as Backend;
    let settled = false;
    this.#proxy.web(req, res, { target: { host: backend.host, port: backend.port } }, (err) => {
      // http-proxy-3 may report a request error and a proxy error for one failure; act once.
      if (settled) return;
      settled = true;
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt < pool.backends.length && canRetry(req, res, code)) {
        this.#options.logger.debug({ pool: pool.id, backend: backend.taskId, code, attempt }, 'backend failed, trying another');
        this.#attempt(req, res, pool, attempt + 1);
        return;
      }
      this.#options.stats.upstreamError(pool.id);
      this.#options.logger.warn({ pool: pool.id, backend: backend.taskId, code, err: err.message }, 'no backend answered');
      if (res.headersSent) res.destroy();
      else sendText(res, 502, `502 Bad Gateway: no instance of ${pool.appId} answered\n`);
    });
  }
}

/** A replay is safe only before any response and for idempotent requests without a body to resend. */
function canRetry(req: IncomingMessage, res: ServerResponse, code: string | undefined): boolean {
  if (res.headersSent || res.destroyed || code === undefined || !RETRYABLE_CODES.has(code)) return false;
  if (!IDEMPOTENT_METHODS.has(req.method ?? '')) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

export function sendText(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}
