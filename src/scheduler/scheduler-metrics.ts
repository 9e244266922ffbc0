import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { TASK_STATES, type EventRecord, type TaskState } from '../events/types.ts';
import type { StoreRecovery } from './store/state-store.ts';


/** Seconds: from a fast in-memory request up to a slow fsync or a big evaluation. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the gauges show, read from the scheduler's state at scrape time. */
export interface SchedulerSample {
  apps: number;
  /** States not given count as zero. */
  instancesByState: Partial<Record<TaskState, number>>;
  agentsRegistered: number;
  agentsConnected: number;
  deployments: number;
  eventSubscribers: number;
  lastEventId: number;
}

export interface SchedulerMetricsOptions {
  /** Called once per scrape for the gauges; without it they stay at zero. */
  collect?: () => SchedulerSample;
  /** Process metrics (CPU, memory, event loop lag, GC, handles); on by default. */
  defaultMetrics?: boolean;
}

/**
 * The scheduler's Prometheus metrics, in a registry of its own so that a scheduler and agents in
 * one process (`corral up`, tests) never collide on prom-client's global one. Callers use the
 * verbs; gauges are sampled from state when scraped, so they cannot drift from it.
 */
export class SchedulerMetrics {
  readonly registry = new Registry();
  readonly #collect: (() => SchedulerSample) | undefined;
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #requestSeconds: Histogram<'method' | 'route'>;
  readonly #transactionSeconds: Histogram;
  readonly #events: Counter<'type'>;
  readonly #evaluationSeconds: Histogram;
  readonly #launched: Counter;
  readonly #stopped: Counter;
  readonly #statusUpdates: Counter;
  readonly #orphansKilled: Counter;
  readonly #apps: Gauge;
  readonly #instances: Gauge<'state'>;
  readonly #agents: Gauge<'connection'>;
  readonly #deployments: Gauge;
  readonly #subscribers: Gauge;
  readonly #lastEventId: Gauge;
  readonly #storeRecovery: Gauge<'kind'>;
  readonly #callbacks: Counter<'outcome'>;
  readonly #callbackSubscribers: Gauge<'status'>;
  readonly #callbackSubscribersDropped: Counter;

  constructor(options: SchedulerMetricsOptions = {}) {
    const registers = [this.registry];
    this.#collect = options.collect;
    this.#requests = new Counter({ name: 'corral_scheduler_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status code.', labelNames: ['method', 'route', 'status'], registers });
    this.#requestSeconds = new Histogram({ name: 'corral_scheduler_http_request_duration_seconds', help: 'Time to answer an HTTP request, by method and route pattern.', labelNames: ['method', 'route'], buckets: DURATION_BUCKETS, registers });
    this.#transactionSeconds = new Histogram({ name: 'corral_scheduler_transaction_duration_seconds', help: 'Time to commit a state transaction (compute, fsync, apply).', buckets: DURATION_BUCKETS, registers });
    this.#events = new Counter({ name: 'corral_scheduler_events_total', help: 'Events committed to the event stream, by event type.', labelNames: ['type'], registers });
    this.#evaluationSeconds = new Histogram({ name: 'corral_scheduler_evaluation_duration_seconds', help: 'Time of one evaluation (reconcile and placement, committed).', buckets: DURATION_BUCKETS, registers });
    this.#launched = new Counter({ name: 'corral_scheduler_tasks_launched_total', help: 'Tasks placed and launched by evaluations.', registers });
    this.#stopped = new Counter({ name: 'corral_scheduler_tasks_stopped_total', help: 'Tasks evaluations decided to stop.', registers });
    this.#statusUpdates = new Counter({ name: 'corral_scheduler_status_updates_total', help: 'Task status updates received from agents.', registers });
    this.#orphansKilled = new Counter({ name: 'corral_scheduler_orphaned_tasks_killed_total', help: 'Kills sent for tasks agents run that the scheduler does not want (unknown, forgotten, or another agent\'s).', registers });
    this.#apps = new Gauge({ name: 'corral_scheduler_apps', help: 'Apps defined.', registers });
    this.#instances = new Gauge({ name: 'corral_scheduler_instances', help: 'Instances (tasks) known, by task state.', labelNames: ['state'], registers });
    this.#agents = new Gauge({ name: 'corral_scheduler_agents', help: 'Agents registered, by whether their command stream is connected.', labelNames: ['connection'], registers });
    this.#deployments = new Gauge({ name: 'corral_scheduler_deployments', help: 'Deployments in progress.', registers });
    this.#subscribers = new Gauge({ name: 'corral_scheduler_event_subscribers', help: 'Clients attached to the event stream.', registers });
    this.#lastEventId = new Gauge({ name: 'corral_scheduler_last_event_id', help: 'Id of the newest committed event.', registers });
    this.#storeRecovery = new Gauge({ name: 'corral_scheduler_store_recovery', help: 'What start-up found wrong in the store and dropped: torn_tail_bytes (a crash mid-write), skipped_snapshots (failed their checksum), repair_dropped_records (accepted with --repair).', labelNames: ['kind'], registers });
    // No label per subscriber: its URL may carry a secret, and subscribers come and go.
    this.#callbacks = new Counter({ name: 'corral_scheduler_event_callbacks_total', help: 'Events for HTTP callback subscribers (/v2/eventSubscriptions), by outcome: delivered, failed (an attempt; retried), lost (the subscriber\'s queue overflowed; oldest dropped).', labelNames: ['outcome'], registers });
    this.#callbackSubscribers = new Gauge({ name: 'corral_scheduler_event_callback_subscribers', help: 'HTTP callback subscribers, by status: ok, or failing (reported after consecutive failures; dropped after --event-callback-drop-after).', labelNames: ['status'], registers });
    this.#callbackSubscribersDropped = new Counter({ name: 'corral_scheduler_event_callback_subscribers_dropped_total', help: 'HTTP callback subscribers unsubscribed because they kept failing.', registers });
    for (const outcome of ['delivered', 'failed', 'lost']) this.#callbacks.inc({ outcome }, 0);
    this.callbackSubscribers(0, 0);
    this.storeLoaded({ skippedSnapshots: [], removedLeftovers: [] });
    this.#setSample(emptySample());
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** One HTTP request answered; `route` is the route pattern (`/v2/apps/*`), never the raw URL. */
  requestObserved(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status: String(status) });
    this.#requestSeconds.observe({ method, route }, seconds);
  }

  /** One write (a group of transactions) made durable and applied. */
  transactionCommitted(seconds: number): void {
    this.#transactionSeconds.observe(seconds);
  }

  /** Events committed and published to the event stream. */
  eventsPublished(records: readonly EventRecord[]): void {
    // Tallied first: a scale-out publishes thousands of events in one batch, of few types.
    const byType = new Map<string, number>();
    for (const { event } of records) byType.set(event.eventType, (byType.get(event.eventType) ?? 0) + 1);
    for (const [type, count] of byType) this.#events.inc({ type }, count);
  }

  /** One evaluation committed, with the launches and stops it decided. */
  evaluation(seconds: number, launched: number, stopped: number): void {
    this.#evaluationSeconds.observe(seconds);
    if (launched > 0) this.#launched.inc(launched);
    if (stopped > 0) this.#stopped.inc(stopped);
  }

  /** What the store's start-up recovered from (zeros for a clean start). */
  storeLoaded(recovery: StoreRecovery): void {
    this.#storeRecovery.set({ kind: 'torn_tail_bytes' }, recovery.tornTail?.bytes ?? 0);
    this.#storeRecovery.set({ kind: 'skipped_snapshots' }, recovery.skippedSnapshots.length);
    this.#storeRecovery.set({ kind: 'repair_dropped_records' }, recovery.repair?.droppedRecords ?? 0);
  }

  statusUpdates(count: number): void {
    if (count > 0) this.#statusUpdates.inc(count);
  }

  orphansKilled(count: number): void {
    if (count > 0) this.#orphansKilled.inc(count);
  }

  /** Event callbacks: `count` events delivered, attempts failed, or events lost to a full queue. */
  callbackEvents(outcome: 'delivered' | 'failed' | 'lost', count = 1): void {
    if (count > 0) this.#callbacks.inc({ outcome }, count);
  }

  callbackSubscribers(ok: number, failing: number): void {
    this.#callbackSubscribers.set({ status: 'ok' }, ok);
    this.#callbackSubscribers.set({ status: 'failing' }, failing);
  }

  callbackSubscriberDropped(): void {
    this.#callbackSubscribersDropped.inc();
  }

  /** Prometheus text exposition, gauges sampled now. */
  async text(): Promise<string> {
    if (this.#collect !== undefined) this.#setSample(this.#collect());
    return this.registry.metrics();
  }

  /** `text/plain; version=0.0.4; charset=utf-8`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  #setSample(sample: SchedulerSample): void {
    this.#apps.set(sample.apps);
    for (const state of TASK_STATES) this.#instances.set({ state }, sample.instancesByState[state] ?? 0);
    this.#agents.set({ connection: 'connected' }, sample.agentsConnected);
    this.#agents.set({ connection: 'disconnected' }, Math.max(0, sample.agentsRegistered - sample.agentsConnected));
    this.#deployments.set(sample.deployments);
    this.#subscribers.set(sample.eventSubscribers);
    this.#lastEventId.set(sample.lastEventId);
  }
}

function emptySample(): SchedulerSample {
  return { apps: 0, instancesByState: {}, agentsRegistered: 0, agentsConnected: 0, deployments: 0, eventSubscribers: 0, lastEventId: 0 };
}
