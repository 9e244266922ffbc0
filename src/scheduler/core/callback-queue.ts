/**
 * Delivery to one HTTP callback subscriber (Marathon's `/v2/eventSubscriptions`), as data: its
 * bounded queue of events, its backoff after failures, and when it is reported failing and when
 * it is dropped. The adapter (event-callbacks.ts) sends the head of the queue, one POST at a
 * time so that a subscriber receives events in order, and brings the outcome back here.
 */

export interface CallbackPolicy {
  /** Events held for one subscriber; beyond it the oldest are dropped (a gap, counted). */
  queueLimit: number;
  /** First retry delay; doubled at each further consecutive failure, up to `backoffCapMs`. */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Consecutive failures after which the subscriber is reported failing (logged once, shown in /metrics). */
  reportAfterFailures: number;
  /** It is dropped (unsubscribed) after at least this many consecutive failures … */
  dropAfterFailures: number;
  /** … spanning at least this long: a short outage of the receiver never loses its subscription. */
  dropAfterMs: number;
}

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 30_000;

/**
 * The policy for `--event-callback-drop-after`: the backoff never waits longer than a quarter of
 * it, so a subscriber is tried several times before it is dropped however short the limit.
 */
export function callbackPolicy(dropAfterMs: number, queueLimit = 1000): CallbackPolicy {
  const backoffCapMs = Math.max(1, Math.min(BACKOFF_CAP_MS, Math.floor(dropAfterMs / 4)));
  return { queueLimit, backoffBaseMs: Math.min(BACKOFF_BASE_MS, backoffCapMs), backoffCapMs, reportAfterFailures: 3, dropAfterFailures: 5, dropAfterMs };
}

export interface CallbackQueue<T> {
  /** Events to deliver, oldest first; the head is the one being (re)tried. */
  pending: readonly T[];
  /** Consecutive failed attempts (0 after a delivery). */
  failures: number;
  /** When the current run of failures began (ms); absent while delivering. */
  failingSince?: number;
  /** Not before (ms): the backoff after a failure. */
  retryAt: number;
  /** Reported failing and not delivered since. */
  reported: boolean;
}

export function emptyQueue<T>(): CallbackQueue<T> {
  return { pending: [], failures: 0, retryAt: 0, reported: false };
}

/** Adds events at the tail; when over the limit the oldest go, and `lost` says how many. */
export function enqueue<T>(queue: CallbackQueue<T>, events: readonly T[], limit: number): { queue: CallbackQueue<T>; lost: number } {
  const all = [...queue.pending, ...events];
  const lost = Math.max(0, all.length - limit);
  return { queue: { ...queue, pending: lost === 0 ? all : all.slice(lost) }, lost };
}

/** The wait before the next attempt after `failures` consecutive failures. */
export function backoffMs(failures: number, policy: CallbackPolicy): number {
  if (failures <= 0) return 0;
  return Math.min(policy.backoffCapMs, policy.backoffBaseMs * 2 ** Math.min(failures - 1, 30));
}

/** The head was delivered: it leaves the queue, and the failure run ends (`recovered` if it had been reported). */
export function afterDelivery<T>(queue: CallbackQueue<T>): { queue: CallbackQueue<T>; recovered: boolean } {
  return { queue: { pending: queue.pending.slice(1), failures: 0, retryAt: 0, reported: false }, recovered: queue.reported };
}

/**
 * - `retry`: try the head again at `queue.retryAt`;
 * - `report`: the same, and the subscriber has just crossed the report threshold (say so once);
 * - `drop`: it has failed long enough: unsubscribe it.
 */
export type FailureVerdict = 'retry' | 'report' | 'drop';

/** The head could not be delivered at `nowMs` (refused, an error status, a timeout). */
export function afterFailure<T>(queue: CallbackQueue<T>, nowMs: number, policy: CallbackPolicy): { queue: CallbackQueue<T>; verdict: FailureVerdict } {
  const failures = queue.failures + 1;
  const failingSince = queue.failingSince ?? nowMs;
  const next = { ...queue, failures, failingSince, retryAt: nowMs + backoffMs(failures, policy) };
  if (failures >= policy.dropAfterFailures && nowMs - failingSince >= policy.dropAfterMs) return { queue: next, verdict: 'drop' };
  if (!queue.reported && failures >= policy.reportAfterFailures) return { queue: { ...next, reported: true }, verdict: 'report' };
  return { queue: next, verdict: 'retry' };
}
