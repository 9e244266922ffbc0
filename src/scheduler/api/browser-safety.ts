import type { FastifyInstance } from 'fastify';
import { checkContentType, checkOrigin, type HostAllowList } from '../../auth/core/browser.ts';
import { registerHostCheck, serverHostAllowList } from '../../auth/host-check.ts';
import { SchedulerFailure } from '../errors.ts';

/** The names this scheduler answers to: loopback's, this machine's, the listen name and `--allowed-hosts`. */
export const schedulerHostAllowList = (listenHost: string, allowedHosts: readonly string[]): HostAllowList => serverHostAllowList({ listenHost, allowedHosts });

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
