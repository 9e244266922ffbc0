import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyError } from 'fastify';
import { schemeOf, withTls, type ServerTls } from '../../shared/tls.ts';
import { LEADER_HEADER } from '../core/leadership.ts';
import { SchedulerFailure } from '../errors.ts';
import { unknownPath } from './route-helpers.ts';
import { httpError } from './http-errors.ts';
import type { ApiContext } from './context.ts';
import { registerAgentRoutes } from './agents.ts';
import { registerAgentTokenRoutes } from './agent-tokens.ts';
import { registerTaskFileRoutes } from './task-files.ts';
import { registerReachRoutes } from './reach.ts';
import { registerAppRoutes } from './apps.ts';
import { registerAuth } from './auth-hook.ts';
import { registerAuthRoutes } from './auth-routes.ts';
import { registerBrowserSafety } from './browser-safety.ts';
import { registerDeploymentRoutes } from './deployments.ts';
import { registerEventRoutes } from './events.ts';
import { registerEventSubscriptionRoutes } from './event-subscriptions.ts';
import { registerGroupRoutes } from './groups.ts';
import { registerInfoRoutes } from './info.ts';
import { registerJobRoutes } from './jobs.ts';
import { registerMasterStateRoutes } from './master-state.ts';
import { registerMetricsRoutes } from './metrics.ts';
import { registerQueueRoutes } from './queue.ts';
import { registerQuotaRoutes } from './quotas.ts';
import { registerTaskRoutes } from './tasks.ts';
import { registerUiRoutes } from './ui.ts';
import { ERR_STORE_HOLD_LOST } from '../store/errors.ts';

const BODY_LIMIT = 1024 * 1024;

/** `1e400` parses to Infinity, which JSON cannot store: refuse it rather than keep a value the disk cannot. */
function rejectNonFinite(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`number out of range: ${String(value)}`);
  return value;
}

/**
 * Only a number with a three-digit exponent or over 308 digits can overflow a double; without
 * one, the plain parse (several times faster than one with a reviver) is safe. Agents post
 * status batches all the time.
 */
const MAY_OVERFLOW = /[eE][+-]?\d{3}|\d{309}/;

function parseJson(text: string): unknown {
  return MAY_OVERFLOW.test(text) ? JSON.parse(text, rejectNonFinite) : JSON.parse(text);
}

/** The scheduler's HTTP API: Marathon's v2 routes plus Corral's agent protocol and discovery snapshot; HTTPS with `tls`. */
export function buildServer(context: ApiContext, tls?: ServerTls): FastifyInstance {
  const loggerInstance = context.logger.child({ component: 'scheduler-api' }) as unknown as FastifyBaseLogger;
  const app = Fastify(withTls({ loggerInstance, logController: new LogController({ disableRequestLogging: true }), bodyLimit: BODY_LIMIT, forceCloseConnections: true }, tls));
  // Bodies arrive only as JSON (browser-safety.ts refuses other types first, as Marathon answers 415); `application/json; charset=…` included.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, parseJson(text));
    } catch (err) {
      done(new SchedulerFailure({ code: 'ERR_SCHED_INVALID_JSON', reason: (err as Error).message }), undefined);
    }
  });
  // The one place errors become answers: domain errors through their HTTP mapping, fastify's own by status.
  app.setErrorHandler((error: FastifyError | SchedulerFailure, request, reply) => {
    const send = ({ statusCode, body }: ReturnType<typeof httpError>) => reply.code(statusCode).send(body);
    if (error instanceof SchedulerFailure) return send(httpError(error.error));
    // A leader that lost its hold on the etcd store wrote nothing: the client retries on the new leader.
    if (error.code === ERR_STORE_HOLD_LOST) return reply.code(503).send({ message: error.message });
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(httpError({ code: 'ERR_SCHED_BODY_TOO_LARGE', limit: BODY_LIMIT }));
    if (error.statusCode !== undefined && error.statusCode < 500) {
      return reply.code(error.statusCode).send({ message: error.message });
    }
    request.log.error({ err: error, url: request.url }, 'request failed');
    return reply.code(500).send({ message: 'Internal error; see the scheduler log' });
  });
  app.setNotFoundHandler((request) => {
    throw unknownPath(request);
  });
  // Marathon's: every answer names the leader, which this scheduler is (a standby answers from leadership/standby-server.ts).
  // On the raw response, so that the streams written by hand (events, agent commands) carry it too.
  app.addHook('onRequest', async (_request, reply) => {
    reply.raw.setHeader(LEADER_HEADER, `${schemeOf(tls)}://${context.advertised}`);
  });
  registerBrowserSafety(app, context.allowedOrigins ?? [], context.allowedHosts);
  if (context.auth === true) registerAuth(app, context);
  registerAppRoutes(app, context);
  registerGroupRoutes(app, context);
  registerTaskRoutes(app, context);
  registerQueueRoutes(app, context);
  registerDeploymentRoutes(app, context);
  registerEventRoutes(app, context);
  registerEventSubscriptionRoutes(app, context);
  registerAgentRoutes(app, context);
  registerAgentTokenRoutes(app, context);
  registerTaskFileRoutes(app, context);
  registerReachRoutes(app, context);
  registerInfoRoutes(app, context);
  registerMasterStateRoutes(app, context);
  registerMetricsRoutes(app, context);
  registerQuotaRoutes(app, context);
  registerJobRoutes(app, context);
  registerUiRoutes(app);
  if (context.auth === true) registerAuthRoutes(app, context);
  return app;
}
