import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { request as undiciRequest } from 'undici';
import type { Logger } from '../../shared/log.ts';
import { withTls, type ServerTls } from '../../shared/tls.ts';
import { LEADER_HEADER, parseVia, standbyAction, VIA_HEADER, type Leader } from '../core/leadership.ts';
import { CORRAL_VERSION } from '../api/info.ts';
import { registerHostCheck } from '../../auth/host-check.ts';
import { checkOrigin, type HostAllowList } from '../../auth/core/browser.ts';
import { CORRAL_BUILD } from '../api/master-state.ts';

/** How long a request waits for a leader to be known (or reachable) before its 503. */
const RETRY_MS = 2000;
const RETRY_EVERY_MS = 200;
/** What a request waiting for a leader hears when this standby closes to take the lead itself. */
const TAKING_THE_LEAD = 'no leader is known right now (this scheduler is taking the lead): retry shortly';
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer', 'host']);

export interface StandbyServerOptions {
  logger: Logger;
  /** This standby's `host:port` (what the via header carries). */
  self: () => string;
  leader: () => Leader | undefined;
  tls?: ServerTls | undefined;
  /** DNS rebinding: the names it answers to (api/browser-safety.ts); any when unset. */
  allowedHosts?: HostAllowList;
  /** `--allowed-origins`: pages of these origins may call the API, as on the leader. */
  allowedOrigins?: readonly string[];
}

/** Requests waiting for a reachable leader, and the signal that wakes them when the standby closes. */
interface Waiting {
  closing: AbortSignal;
  waiters: Set<Promise<void>>;
}

/**
 * A standby's API: `/ping`, `/v2/leader`, `/v2/info`, Mesos' `/health` and `/version` answered here, everything else proxied to
 * the leader as it came (streams such as `/v2/events` too), `X-Marathon-Leader` on every answer. On close (it takes the
 * lead, or the scheduler stops) the requests still waiting for a leader reached none: each gets a 503 that followers retry
 * before the connections are closed, instead of a dropped connection a client cannot tell from a write that acted.
 */
export function buildStandbyServer(options: StandbyServerOptions): FastifyInstance {
  const loggerInstance = options.logger.child({ component: 'scheduler-standby' }) as unknown as FastifyBaseLogger;
  const app = Fastify(withTls({ loggerInstance, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 16 * 1024 * 1024, forceCloseConnections: true }, options.tls));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  // The leader sees the standby's own address as Host, so the name asked for is checked here.
  registerHostCheck(app, options.allowedHosts ?? 'any');
  app.addHook('onRequest', async (_request, reply) => {
    const leader = options.leader();
    if (leader !== undefined) void reply.header(LEADER_HEADER, leader.url);
  });
  // Browser safety (api/browser-safety.ts) is judged here, against the Host the browser asked:
  // the leader would see its own Host and call a page of this standby (the web UI) foreign.
  // What passed is forwarded without its Origin; the leader still checks the content type.
  app.addHook('onRequest', async (request, reply) => {
    const origin = checkOrigin(request.headers.origin, request.headers.host, options.allowedOrigins ?? []);
    if (!origin.ok) return reply.code(403).send({ message: origin.reason });
    return undefined;
  });
  const closing = new AbortController();
  const waiting: Waiting = { closing: closing.signal, waiters: new Set() };
  app.addHook('preClose', async () => {
    closing.abort();
    await Promise.all(waiting.waiters);
  });
  app.setNotFoundHandler((request, reply) => answer(request, reply, options, waiting));
  return app;
}

async function answer(request: FastifyRequest, reply: FastifyReply, options: StandbyServerOptions, waiting: Waiting): Promise<unknown> {
  // Set while this request waits for a leader: close() keeps the connections until it is answered.
  let answered: (() => void) | undefined;
  try {
    const deadline = Date.now() + RETRY_MS;
    for (;;) {
      if (waiting.closing.aborted) return await takingTheLead(reply);
      const outcome = await answerOnce(request, reply, options, () => {
        answered?.();
        answered = undefined;
      });
      if (outcome !== 'retry') return outcome;
      const leader = options.leader();
      if (Date.now() >= deadline) return reply.code(503).send({ message: leader === undefined ? 'no leader is known right now (an election is under way): retry shortly' : `the leader ${leader.hostPort} cannot be reached: retry shortly` });
      if (answered === undefined) {
        const waiter = new Promise<void>((resolve) => (answered = resolve));
        waiting.waiters.add(waiter);
        void waiter.then(() => waiting.waiters.delete(waiter));
      }
      await sleep(RETRY_EVERY_MS, undefined, { signal: waiting.closing }).catch(() => undefined);
    }
  } finally {
    answered?.();
  }
}

/** Answers here or through the leader; 'retry' when no leader is known or it does not accept connections. `proxying`: the request is sent on. */
async function answerOnce(request: FastifyRequest, reply: FastifyReply, options: StandbyServerOptions, proxying: () => void): Promise<unknown> {
  const leader = options.leader();
  const action = standbyAction({ method: request.method, path: request.url, via: parseVia(request.headers[VIA_HEADER]) }, options.self(), leader);
  switch (action.kind) {
    case 'ping':
      return reply.type('text/plain').send('pong');
    case 'leader':
      return leader === undefined ? reply.code(404).send({ message: 'There is no leader' }) : reply.send({ leader: leader.hostPort });
    case 'info':
      return reply.send({ name: 'corral', version: CORRAL_VERSION, elected: false, leader: leader?.hostPort ?? null });
    case 'health':
      return reply.code(200).send();
    case 'version':
      return reply.send(CORRAL_BUILD);
    case 'loop':
      return reply.code(action.status).send({ message: action.message });
    case 'no-leader':
      return 'retry';
    case 'proxy':
      proxying();
      try {
        return await proxy(request, reply, action.leader, action.via);
      } catch (err) {
        // Only a connection never made is retried: a request that reached the leader may have acted.
        if (!isConnectError(err)) return reply.code(502).send({ message: `the leader ${action.leader.hostPort} failed to answer: ${(err as Error).message}` });
      }
      return 'retry';
  }
}

/** The 503 for a request that waited here for a leader when this standby closes, sent before its connection is closed. */
async function takingTheLead(reply: FastifyReply): Promise<FastifyReply> {
  void reply.code(503).header('connection', 'close').send({ message: TAKING_THE_LEAD });
  await finished(reply.raw).catch(() => undefined);
  return reply;
}

async function proxy(request: FastifyRequest, reply: FastifyReply, leader: Leader, via: string): Promise<unknown> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && name !== VIA_HEADER && name !== 'origin') headers[name] = value;
  }
  headers[VIA_HEADER] = via;
  const body = request.body instanceof Buffer ? request.body : undefined;
  const response = await undiciRequest(`${leader.url}${request.url}`, {
    method: request.method as 'GET',
    headers,
    ...(body !== undefined ? { body } : {}),
    // Event streams stay open for as long as the client listens.
    bodyTimeout: 0,
  });
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && name !== LEADER_HEADER) void reply.header(name, value);
  }
  void reply.header(LEADER_HEADER, leader.url);
  return reply.code(response.statusCode).send(response.body);
}

function isConnectError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'EHOSTUNREACH';
}
