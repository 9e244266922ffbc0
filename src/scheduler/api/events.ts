import type { FastifyInstance, FastifyRequest } from 'fastify';
import { eventVisible } from '../../auth/core/event-scope.ts';
import { filterReadable } from '../../auth/core/policy.ts';
import { EVENTS_PATH } from '../../events/client.ts';
import { formatSseFrame, SSE_HEARTBEAT } from '../../events/core/sse.ts';
import type { EventType, StreamEvent } from '../../events/types.ts';
import type { SchedulerState } from '../state.ts';
import { credentialLapsed, credentialOf, identityOf } from './auth-hook.ts';
import type { ApiContext } from './context.ts';

/**
 * A subscriber whose socket holds more unsent bytes than this is too slow and is cut off: room
 * for a few seconds of every event of a large scale-out (the figures are in docs/scheduler.md).
 */
const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;
const HEARTBEAT_MS = 5000;

/**
 * `--auth`: what this subscriber may receive. A scale-out publishes thousands of events of a few
 * apps, so each path's decision is kept until the grants change (a new grants map in the state).
 */
function visibilityFor(request: FastifyRequest, state: SchedulerState): ((event: StreamEvent) => boolean) | undefined {
  const identity = identityOf(request);
  if (identity === undefined) return undefined;
  let grants = state.current.grants;
  const decided = new Map<string, boolean>();
  const mayRead = (path: string): boolean => {
    if (state.current.grants !== grants) {
      grants = state.current.grants;
      decided.clear();
    }
    let allowed = decided.get(path);
    if (allowed === undefined) {
      allowed = filterReadable([...grants.values()], identity, [path]).length === 1;
      decided.set(path, allowed);
    }
    return allowed;
  };
  return (event) => eventVisible(event, mayRead);
}

export function registerEventRoutes(server: FastifyInstance, { bus, logger, state, auth }: ApiContext): void {
  // --auth: a stream is let in once, when it connects; it ends as soon as what let it in lapses
  // (its token revoked or its identity removed: looked at when those change; expiry: at each heartbeat).
  const lapseChecks = new Set<() => void>();
  if (auth === true) {
    state.onCommit((changes) => {
      if (changes.keys.has('tokens') || changes.keys.has('identities')) for (const check of [...lapseChecks]) check();
    });
  }

  server.get(EVENTS_PATH, (request, reply) => {
    const query = request.query as { event_type?: string | string[] };
    const requested = query.event_type === undefined ? [] : [query.event_type].flat();
    const types = requested.length === 0 ? undefined : new Set(requested as EventType[]);
    const header = request.headers['last-event-id'];
    const lastEventId = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
    const accepts = auth === true ? visibilityFor(request, state) : undefined;
    const credential = auth === true ? credentialOf(request) : undefined;

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write('retry: 500\n\n');
    const now = new Date().toISOString();
    // Replay and subscription happen in one tick: no event can fall between them.
    if (lastEventId !== undefined) {
      const replay = bus.since(lastEventId, types, accepts);
      if (replay === 'resync') {
        res.write(formatSseFrame({ eventType: 'resync_required', timestamp: now, lastEventId, oldestEventId: bus.oldestEventId }));
      } else {
        res.write(replay.join(''));
      }
    }
    // The replay may itself be larger than the limit: it counts only once it has drained.
    let allowance = res.writableLength;
    res.once('drain', () => (allowance = 0));
    let cut = false;
    const unsubscribe = bus.subscribe({
      types,
      accepts,
      send: (frames) => {
        if (cut) return;
        if (res.writableLength > MAX_BUFFERED_BYTES + allowance) {
          cut = true;
          logger.warn({ remote: request.ip, buffered: res.writableLength }, 'event subscriber too slow, disconnecting (it resumes by Last-Event-ID)');
          res.destroy();
          return;
        }
        res.write(frames);
      },
    });
    // COMPAT(marathon): every subscriber hears of each one that comes or goes.
    bus.broadcast({ eventType: 'event_stream_attached', timestamp: now, remoteAddress: request.ip });
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      cut = true;
      clearInterval(heartbeat);
      lapseChecks.delete(checkLapse);
      unsubscribe();
      bus.broadcast({ eventType: 'event_stream_detached', timestamp: new Date().toISOString(), remoteAddress: request.ip });
    };
    // The stream ends; the client reconnects, and is refused with 401 like any other request.
    const checkLapse = (): void => {
      const reason = credential === undefined ? undefined : credentialLapsed(credential, state.current, Date.now());
      if (reason === undefined) return;
      logger.info({ component: 'audit', identity: credential?.identityId, path: EVENTS_PATH, reason }, 'event stream closed: its credential lapsed');
      stop();
      res.end();
    };
    if (credential !== undefined) lapseChecks.add(checkLapse);
    const heartbeat = setInterval(() => {
      checkLapse();
      if (!stopped) res.write(SSE_HEARTBEAT);
    }, HEARTBEAT_MS);
    res.on('close', stop);
  });
}
