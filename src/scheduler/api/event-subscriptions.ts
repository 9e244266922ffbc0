import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SubscribeEvent, UnsubscribeEvent } from '../../events/types.ts';
import { callbackUrlProblems, redactedUrl } from '../core/callback-url.ts';
import { invalidObject, SchedulerFailure } from '../errors.ts';
import { identityOf } from './auth-hook.ts';
import type { ApiContext } from './context.ts';

export const EVENT_SUBSCRIPTIONS_PATH = '/v2/eventSubscriptions';

/** `?callbackUrl=`, or Marathon's 422. */
function callbackUrlOf(request: FastifyRequest): string {
  const raw = (request.query as { callbackUrl?: unknown }).callbackUrl;
  const problems = callbackUrlProblems(raw);
  if (problems.length > 0) throw new SchedulerFailure(invalidObject([{ path: '/callbackUrl', errors: problems }]));
  return raw as string;
}

/**
 * Marathon's `/v2/eventSubscriptions`: register, list and remove HTTP callback URLs that receive
 * every event as a JSON POST (event-callbacks.ts delivers). Always on — Marathon needed
 * `--event_subscriber http_callback` — since only a cluster admin may register one (with --auth).
 * The subscriptions are kept in the store, so they outlive restarts and follow the lead.
 */
export function registerEventSubscriptionRoutes(server: FastifyInstance, { state, logger }: ApiContext): void {
  const audit = logger.child({ component: 'audit' });

  server.get(EVENT_SUBSCRIPTIONS_PATH, async () => ({ callbackUrls: [...state.current.eventSubscriptions.keys()] }));

  server.post(EVENT_SUBSCRIPTIONS_PATH, async (request) => {
    const callbackUrl = callbackUrlOf(request);
    const event: SubscribeEvent = { eventType: 'subscribe_event', timestamp: new Date().toISOString(), clientIp: request.ip, callbackUrl };
    // COMPAT(marathon): registering a URL again answers as the first time; it is stored (and announced) once.
    await state.transact((s) => s.eventSubscriptions.has(callbackUrl)
      ? { ops: [], events: [], result: undefined }
      : { ops: [{ op: 'put', coll: 'eventSubscriptions', key: callbackUrl, value: { callbackUrl, clientIp: request.ip, subscribedAt: event.timestamp } }], events: [event], result: undefined });
    audit.info({ identity: identityOf(request)?.id ?? null, callbackUrl: redactedUrl(callbackUrl) }, 'event subscription added');
    return event;
  });

  server.delete(EVENT_SUBSCRIPTIONS_PATH, async (request) => {
    const callbackUrl = callbackUrlOf(request);
    const event: UnsubscribeEvent = { eventType: 'unsubscribe_event', timestamp: new Date().toISOString(), clientIp: request.ip, callbackUrl };
    // COMPAT(marathon): removing a URL that is not registered answers 200 all the same.
    await state.transact((s) => s.eventSubscriptions.has(callbackUrl)
      ? { ops: [{ op: 'del', coll: 'eventSubscriptions', key: callbackUrl }], events: [event], result: undefined }
      : { ops: [], events: [], result: undefined });
    audit.info({ identity: identityOf(request)?.id ?? null, callbackUrl: redactedUrl(callbackUrl) }, 'event subscription removed');
    return event;
  });
}
