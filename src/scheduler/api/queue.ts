import type { FastifyInstance } from 'fastify';
import { SchedulerFailure } from '../errors.ts';
import { normalizePathId } from '../core/app-changes.ts';
import { launchQueue, queueEntryJson } from '../core/marathon-json.ts';
import { unknownPath } from './route-helpers.ts';
import type { ApiContext } from './context.ts';

/**
 * Marathon's launch queue: apps with instances waiting to be placed, how many, their backoff,
 * and (Corral) the plain-language reason they wait.
 */
export function registerQueueRoutes(server: FastifyInstance, { state, orchestrator }: ApiContext): void {
  const entries = () => launchQueue(state.current.apps, orchestrator.unplaced, orchestrator.launchDelays);

  server.get('/v2/queue', async () => {
    const nowMs = Date.now();
    const failures = state.current.taskFailures;
    return { queue: entries().map((entry) => queueEntryJson(entry, failures.get(entry.app.id), nowMs)) };
  });

  server.delete('/v2/queue/*', async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    const match = /^(.+)\/delay\/?$/.exec(path);
    if (match === null) throw unknownPath(request);
    const appId = normalizePathId(match[1] as string);
    // COMPAT(marathon): only an app in the queue has a delay to reset.
    if (!entries().some((e) => e.app.id === appId)) {
      throw new SchedulerFailure({ code: 'ERR_SCHED_NOT_QUEUED', appId });
    }
    orchestrator.resetDelay(appId);
    return reply.code(204).send();
  });
}
