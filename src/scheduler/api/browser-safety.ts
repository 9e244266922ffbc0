import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { checkContentType, checkHost, checkOrigin, hostAllowList, type HostAllowList } from '../../auth/core/browser.ts';
import { SchedulerFailure } from '../errors.ts';

/** The names this scheduler answers to (core/browser.ts `hostAllowList`), with this machine's name. */
export const schedulerHostAllowList = (listenHost: string, allowedHosts: readonly string[]): HostAllowList =>
  hostAllowList({ listenHost, machineHostname: hostname(), allowedHosts });

/**
 * DNS rebinding: a request by a name the scheduler is not known by is refused, 403 with a message.
 * Answered here, not through api/http-errors.ts, because a standby (which has no error table) asks it too.
 */
export function registerHostCheck(app: FastifyInstance, allowedHosts: HostAllowList): void {
  if (allowedHosts === 'any') return;
  app.addHook('onRequest', async (request, reply) => {
    const host = checkHost(request.headers.host, allowedHosts);
    if (!host.ok) return reply.code(403).send({ message: host.reason });
    return undefined;
  });
}

/**
 * Browser safety (CSRF and DNS rebinding), with or without --auth: a page of another site may not
 * make the operator's browser post to the scheduler, nor read it under a name of its own
 * (src/auth/core/browser.ts says why these checks are enough). Runs first, before authentication
 * and before a body is read.
 */
export function registerBrowserSafety(app: FastifyInstance, allowedOrigins: readonly string[], allowedHosts: HostAllowList = 'any'): void {
  registerHostCheck(app, allowedHosts);
  app.addHook('onRequest', async (request) => {
    const origin = checkOrigin(request.headers.origin, request.headers.host, allowedOrigins);
    if (!origin.ok) throw new SchedulerFailure({ code: 'ERR_SCHED_FOREIGN_ORIGIN', reason: origin.reason });
    const type = checkContentType(request.method, request.headers);
    if (!type.ok) throw new SchedulerFailure({ code: 'ERR_SCHED_UNSUPPORTED_MEDIA_TYPE', reason: type.reason });
  });
}
