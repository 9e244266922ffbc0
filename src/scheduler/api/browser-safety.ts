import type { FastifyInstance } from 'fastify';
import { checkContentType, checkOrigin } from '../../auth/core/browser.ts';
import { SchedulerFailure } from '../errors.ts';

/**
 * Browser safety (CSRF), with or without --auth: a page of another site may not make the
 * operator's browser post to the scheduler (src/auth/core/browser.ts says why these two checks
 * are enough). Runs first, before authentication and before a body is read.
 */
export function registerBrowserSafety(app: FastifyInstance, allowedOrigins: readonly string[]): void {
  app.addHook('onRequest', async (request) => {
    const origin = checkOrigin(request.headers.origin, request.headers.host, allowedOrigins);
    if (!origin.ok) throw new SchedulerFailure({ code: 'ERR_SCHED_FOREIGN_ORIGIN', reason: origin.reason });
    const type = checkContentType(request.method, request.headers);
    if (!type.ok) throw new SchedulerFailure({ code: 'ERR_SCHED_UNSUPPORTED_MEDIA_TYPE', reason: type.reason });
  });
}
