import { Agent, request } from 'undici';
import type { EventRecord } from '../events/types.ts';
import type { Logger } from '../shared/log.ts';
import { afterDelivery, afterFailure, emptyQueue, enqueue, type CallbackPolicy, type CallbackQueue } from './core/callback-queue.ts';
import { redactedUrl } from './core/callback-url.ts';
import type { EventBus } from './event-bus.ts';
import type { SchedulerMetrics } from './scheduler-metrics.ts';
import type { SchedulerState } from './state.ts';
import type { EventSubscription } from './types.ts';

/** What a receiver answers is read up to this much and thrown away: only its status counts. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Sent with each POST so that a receiver can spot a gap (a full queue) or a retried duplicate. */
export const EVENT_ID_HEADER = 'corral-event-id';

interface Outgoing {
  eventId: number;
  eventType: string;
  body: string;
}

interface Subscriber {
  readonly url: string;
  /** For logs: without user info or query (core/callback-url.ts). */
  readonly shown: string;
  queue: CallbackQueue<Outgoing>;
  inFlight?: AbortController;
  timer?: NodeJS.Timeout;
  /** Its removal is being committed: nothing more is sent. */
  dropping: boolean;
}

export interface EventCallbacksOptions {
  state: SchedulerState;
  bus: EventBus;
  logger: Logger;
  metrics: SchedulerMetrics;
  policy: CallbackPolicy;
  /** One POST, connection to last byte of the answer. */
  timeoutMs: number;
  /** Named as `clientIp` in the `unsubscribe_event` of a subscriber the scheduler drops. */
  selfHost: string;
}

/**
 * Marathon's HTTP callback subscribers (`--event_subscriber http_callback`, always on here): every
 * committed event is POSTed as JSON to every URL in `eventSubscriptions`, one POST at a time per
 * subscriber (in order), from a bounded queue, with backoff; a subscriber that keeps failing is
 * reported and then unsubscribed (core/callback-queue.ts decides). Runs on the leader only, and
 * never on the commit path: publishing only appends to queues.
 */
export class EventCallbacks {
  readonly #options: EventCallbacksOptions;
  readonly #logger: Logger;
  readonly #dispatcher: Agent;
  readonly #subscribers = new Map<string, Subscriber>();
  #known: ReadonlyMap<string, EventSubscription> | undefined;
  #pumpScheduled = false;
  #closed = false;

  constructor(options: EventCallbacksOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'event-callbacks' });
    this.#dispatcher = new Agent({ connections: 2, keepAliveTimeout: 4000, connect: { timeout: options.timeoutMs } });
    this.#sync();
    options.bus.onPublish((records) => this.#published(records));
  }

  close(): void {
    this.#closed = true;
    for (const subscriber of this.#subscribers.values()) this.#stop(subscriber);
    this.#subscribers.clear();
    void this.#dispatcher.destroy().catch(() => undefined);
  }

  /** Follows `eventSubscriptions`: new URLs get an empty queue; removed ones are stopped. */
  #sync(): void {
    const current = this.#options.state.current.eventSubscriptions;
    if (current === this.#known) return;
    this.#known = current;
    for (const [url, subscriber] of this.#subscribers) {
      if (current.has(url)) continue;
      this.#stop(subscriber);
      this.#subscribers.delete(url);
    }
    for (const url of current.keys()) {
      if (!this.#subscribers.has(url)) this.#subscribers.set(url, { url, shown: redactedUrl(url), queue: emptyQueue(), dropping: false });
    }
    this.#updateGauges();
  }

  #published(records: readonly EventRecord[]): void {
    if (this.#closed) return;
    this.#sync();
    if (this.#subscribers.size === 0) return;
    // Serialised once for every subscriber.
    const outgoing = records.map(({ eventId, event }) => ({ eventId, eventType: event.eventType, body: JSON.stringify(event) }));
    for (const subscriber of this.#subscribers.values()) {
      if (subscriber.dropping) continue;
      const { queue, lost } = enqueue(subscriber.queue, outgoing, this.#options.policy.queueLimit);
      subscriber.queue = queue;
      if (lost > 0) {
        this.#options.metrics.callbackEvents('lost', lost);
        this.#logger.warn({ callbackUrl: subscriber.shown, lost, oldestKept: queue.pending[0]?.eventId }, 'event subscriber\'s queue is full: oldest events dropped');
      }
    }
    // The sends start after the commit's own work is done.
    if (!this.#pumpScheduled) {
      this.#pumpScheduled = true;
      setImmediate(() => {
        this.#pumpScheduled = false;
        for (const subscriber of this.#subscribers.values()) this.#pump(subscriber);
      });
    }
  }

  #pump(subscriber: Subscriber): void {
    if (this.#closed || subscriber.dropping || subscriber.inFlight !== undefined || subscriber.timer !== undefined) return;
    const head = subscriber.queue.pending[0];
    if (head === undefined) return;
    const wait = subscriber.queue.retryAt - Date.now();
    if (wait > 0) {
      subscriber.timer = setTimeout(() => {
        subscriber.timer = undefined;
        this.#pump(subscriber);
      }, wait);
      subscriber.timer.unref();
      return;
    }
    const controller = new AbortController();
    subscriber.inFlight = controller;
    void this.#post(subscriber.url, head, controller.signal).then((problem) => {
      if (subscriber.inFlight !== controller) return; // stopped meanwhile
      subscriber.inFlight = undefined;
      if (problem === undefined) this.#delivered(subscriber);
      else this.#failed(subscriber, head, problem);
      this.#pump(subscriber);
    });
  }

  /** undefined when the receiver took the event (any 2xx), else what went wrong. */
  async #post(url: string, event: Outgoing, signal: AbortSignal): Promise<string | undefined> {
    const timeout = this.#options.timeoutMs;
    try {
      const response = await request(url, {
        method: 'POST',
        body: event.body,
        headers: { 'content-type': 'application/json', [EVENT_ID_HEADER]: String(event.eventId) },
        dispatcher: this.#dispatcher,
        headersTimeout: timeout,
        bodyTimeout: timeout,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeout)]),
      });
      await response.body.dump({ limit: MAX_RESPONSE_BYTES });
      return response.statusCode >= 200 && response.statusCode < 300 ? undefined : `HTTP ${response.statusCode}`;
    } catch (err) {
      const error = err as Error & { code?: string };
      return error.name === 'TimeoutError' ? `no answer within ${timeout}ms` : (error.code ?? error.name);
    }
  }

  #delivered(subscriber: Subscriber): void {
    const { queue, recovered } = afterDelivery(subscriber.queue);
    subscriber.queue = queue;
    this.#options.metrics.callbackEvents('delivered');
    if (recovered) {
      this.#logger.info({ callbackUrl: subscriber.shown }, 'event subscriber recovered');
      this.#updateGauges();
    }
  }

  #failed(subscriber: Subscriber, event: Outgoing, problem: string): void {
    const { queue, verdict } = afterFailure(subscriber.queue, Date.now(), this.#options.policy);
    subscriber.queue = queue;
    this.#options.metrics.callbackEvents('failed');
    const detail = { callbackUrl: subscriber.shown, problem, failures: queue.failures, failingSince: new Date(queue.failingSince ?? Date.now()).toISOString(), eventId: event.eventId, queued: queue.pending.length };
    if (verdict === 'retry') {
      this.#logger.debug(detail, 'event callback failed; retrying');
    } else if (verdict === 'report') {
      this.#logger.warn(detail, 'event subscriber failing; retrying with backoff (it is unsubscribed if it keeps failing)');
      this.#updateGauges();
    } else {
      this.#drop(subscriber, detail);
    }
  }

  /** Unsubscribes it for good (in the store, so a restart or a new leader does not bring it back). */
  #drop(subscriber: Subscriber, detail: Record<string, unknown>): void {
    subscriber.dropping = true;
    this.#stop(subscriber);
    const { url } = subscriber;
    const reason = `dropped by the scheduler: ${String(detail.failures)} failures in a row since ${String(detail.failingSince)} (${String(detail.problem)})`;
    this.#logger.warn(detail, 'event subscriber kept failing: unsubscribed');
    this.#options.metrics.callbackSubscriberDropped();
    this.#options.state.transact((s) => {
      const present = s.eventSubscriptions.has(url);
      return {
        ops: present ? [{ op: 'del', coll: 'eventSubscriptions', key: url }] : [],
        events: present ? [{ eventType: 'unsubscribe_event', timestamp: new Date().toISOString(), clientIp: this.#options.selfHost, callbackUrl: url, reason }] : [],
        result: undefined,
      };
    }).catch((err: unknown) => this.#logger.error({ err, callbackUrl: subscriber.shown }, 'could not store the removal of a failing event subscriber'));
  }

  #stop(subscriber: Subscriber): void {
    if (subscriber.timer !== undefined) clearTimeout(subscriber.timer);
    subscriber.timer = undefined;
    subscriber.inFlight?.abort();
    subscriber.inFlight = undefined;
  }

  #updateGauges(): void {
    let failing = 0;
    for (const subscriber of this.#subscribers.values()) if (subscriber.queue.reported) failing += 1;
    this.#options.metrics.callbackSubscribers(this.#subscribers.size - failing, failing);
  }
}
