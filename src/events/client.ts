import { EventSource } from 'eventsource';
import { fetch as undiciFetch, request, type Agent } from 'undici';
import type { Logger } from '../shared/log.ts';
import { clientDispatcher, isUntrustedCertificate } from '../shared/tls.ts';
import type { ClusterEvent, DiscoverySnapshot, EventType } from './types.ts';
import { DISCOVERY_EVENT_TYPES } from './types.ts';
import { EMPTY_VIEW, applyEvent, viewFromSnapshot, withLeader, type ClusterView } from './core/view.ts';
import { refusalHint } from './core/refusal.ts';
import { LEADER_HEADER, leaderFromHeader, nextMaster, shouldMoveToLeader } from './core/masters.ts';

export const SNAPSHOT_PATH = '/corral/v1/discovery';
export const EVENTS_PATH = '/v2/events';

export interface FollowerOptions {
  /** Scheduler base URLs, tried in order. */
  masters: readonly string[];
  logger: Logger;
  /** Called with every new view (never with the same reference twice in a row). */
  onView: (view: ClusterView) => void;
  eventTypes?: readonly EventType[];
  maxBackoffMs?: number;
  /** Sent as `Authorization: Bearer <token>` to a scheduler started with `--auth`; never logged. */
  token?: string;
  /** `--ca`: a PEM file of the certificates trusted for https scheduler URLs (the system's when unset). */
  ca?: string;
}

/**
 * Follows the cluster from outside the scheduler: snapshot, then the event stream from the
 * snapshot's id, reconnecting with backoff and resuming by Last-Event-ID, or starting again from
 * a snapshot when the scheduler says the history no longer reaches back. With several schedulers
 * it streams from the leader (named by `X-Marathon-Leader`) and, when the stream drops, resumes
 * from the view's event id at the next one: event ids come from the shared store, so a new
 * leader continues them and the view is kept as it is, with no new snapshot, while it moves.
 */
export class ClusterFollower {
  readonly #options: FollowerOptions;
  #view: ClusterView = EMPTY_VIEW;
  #synced = false;
  #source: EventSource | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  /** The scheduler talked to now (or next). */
  #current: string;
  /** The leader the last answer named (`X-Marathon-Leader`), if any. */
  #namedLeader: string | undefined;
  #snapshots = 0;
  /** Before the first sync and after a resync_required; the view is kept (and served) meanwhile. */
  #needSnapshot = true;
  #closed = false;
  #lastContact = 0;
  #streamOpen = false;
  /** A refusal (401/403) is logged once, not on every retry; cleared by the next success. */
  #refused: number | undefined;
  /**
   * The scheduler sends a comment heartbeat every 5 s: a stream silent for 15 s belongs to a
   * dead peer (a half-open TCP connection never errors by itself), so it is dropped and resumed.
   */
  readonly #dispatcher: Agent;

  constructor(options: FollowerOptions) {
    this.#options = options;
    this.#current = options.masters[0] ?? 'http://127.0.0.1:8080';
    this.#dispatcher = clientDispatcher(options.ca, { bodyTimeout: 15_000, headersTimeout: 10_000 });
  }

  get view(): ClusterView {
    return this.#view;
  }

  /** True once a snapshot has been applied (the view describes the cluster, not emptiness). */
  get synced(): boolean {
    return this.#synced;
  }

  /**
   * Epoch ms of the last sign of life from the scheduler: now while the event stream is open
   * (its heartbeats keep it so; a silent one is dropped within 15 s), else the last snapshot,
   * event or moment the stream was open; 0 before the first contact.
   */
  get lastContact(): number {
    return this.#streamOpen ? Date.now() : this.#lastContact;
  }

  /** Snapshots read so far: 1 after the first sync, one more per resync (a failover needs none). */
  get snapshots(): number {
    return this.#snapshots;
  }

  start(): void {
    void this.#connect();
  }

  close(): void {
    this.#closed = true;
    this.#streamClosed();
    clearTimeout(this.#retryTimer);
    this.#source?.close();
    void this.#dispatcher.close();
  }

  /** Before the first sync (or after a resync_required): a snapshot, then the stream; else the stream alone. */
  async #connect(): Promise<void> {
    if (this.#closed) return;
    if (!this.#needSnapshot) {
      this.#openStream(this.#current);
      return;
    }
    const master = this.#current;
    try {
      const { snapshot, leader } = await fetchSnapshot(master, this.#authorization, this.#dispatcher);
      if (this.#closed) return;
      this.#accepted(master);
      this.#snapshots += 1;
      this.#needSnapshot = false;
      this.#synced = true;
      this.#lastContact = Date.now();
      this.#setView(viewFromSnapshot(snapshot));
      this.#options.logger.info({ master, eventId: snapshot.eventId, apps: snapshot.apps.length, tasks: snapshot.tasks.length, snapshots: this.#snapshots }, 'snapshot applied');
      this.#namedLeader = leader;
      // A standby's snapshot is the leader's (proxied): the stream goes to the leader itself.
      if (shouldMoveToLeader(master, leader)) this.#current = leader;
      this.#openStream(this.#current);
    } catch (err) {
      if (err instanceof RefusedError) this.#reportRefusal(master, err.status);
      else if (isUntrustedCertificate((err as NodeJS.ErrnoException).code)) this.#options.logger.warn({ master, err: (err as Error).message }, 'cannot read snapshot: the scheduler\'s certificate is not trusted; give the CA that signed it with --ca');
      else this.#options.logger.warn({ master, err: (err as Error).message }, 'cannot read snapshot');
      this.#retry();
    }
  }

  /** `mayMove`: false once moved to a named leader, so two servers naming each other cannot bounce it. */
  #openStream(master: string, mayMove = true): void {
    const url = new URL(EVENTS_PATH, master);
    for (const type of [...(this.#options.eventTypes ?? DISCOVERY_EVENT_TYPES), 'resync_required']) {
      url.searchParams.append('event_type', type);
    }
    // Last-Event-ID comes from the view: the first connection resumes exactly after the
    // snapshot, a reconnection (ours, to whichever scheduler) after the last event applied.
    const source = new EventSource(url, {
      fetch: async (input, init) => {
        const response = await undiciFetch(input, {
          ...(init as Parameters<typeof undiciFetch>[1]),
          headers: { ...init?.headers, ...this.#authorization, 'Last-Event-ID': String(this.#view.eventId) },
          dispatcher: this.#dispatcher,
        });
        this.#namedLeader = leaderFromHeader(response.headers.get(LEADER_HEADER) ?? undefined);
        return response as unknown as Response;
      },
    });
    this.#source = source;
    source.addEventListener('open', () => {
      const leader = this.#namedLeader;
      if (mayMove && shouldMoveToLeader(master, leader)) {
        // A standby answered (it proxies): go to the leader it names, from the same event id.
        this.#options.logger.info({ master, leader, from: this.#view.eventId }, 'moving the event stream to the leader');
        source.close();
        this.#current = leader;
        this.#openStream(leader, false);
        return;
      }
      this.#streamOpen = true;
      this.#failures = 0;
      this.#options.logger.info({ master, from: this.#view.eventId }, 'event stream open');
      // After a failover no snapshot names the new leader (DNS leader.D): the stream's header does.
      if (leader !== undefined) this.#setView(withLeader(this.#view, new URL(leader).host));
    });
    source.addEventListener('resync_required', () => {
      this.#options.logger.warn({ master, eventId: this.#view.eventId }, 'event history lost, reading a new snapshot');
      this.#streamClosed();
      source.close();
      this.#needSnapshot = true;
      void this.#connect();
    });
    for (const type of this.#options.eventTypes ?? DISCOVERY_EVENT_TYPES) {
      source.addEventListener(type, (message) => this.#onMessage(message));
    }
    source.addEventListener('error', (error) => {
      this.#streamClosed();
      if (error.code === 401 || error.code === 403) this.#reportRefusal(master, error.code);
      else this.#options.logger.warn({ master, code: error.code, err: error.message }, 'event stream error');
      // Reconnection is ours, not the library's: the next try may go to another scheduler.
      if (this.#source === source) this.#retry();
    });
  }

  get #authorization(): Record<string, string> {
    return this.#options.token === undefined ? {} : { authorization: `Bearer ${this.#options.token}` };
  }

  #reportRefusal(master: string, status: number): void {
    if (this.#refused === status) {
      this.#options.logger.debug({ master, status, failures: this.#failures }, 'scheduler still refuses the follower');
      return;
    }
    this.#refused = status;
    const why = refusalHint(status, this.#options.token !== undefined);
    this.#options.logger.error({ master, status }, `scheduler refused the follower (HTTP ${status}): ${why}; retrying`);
  }

  #accepted(master: string): void {
    if (this.#refused === undefined) return;
    this.#refused = undefined;
    this.#options.logger.info({ master }, 'scheduler accepts the follower again');
  }

  #onMessage(message: MessageEvent<string>): void {
    this.#lastContact = Date.now();
    const eventId = Number(message.lastEventId);
    if (!Number.isSafeInteger(eventId)) return;
    let event: ClusterEvent;
    try {
      event = JSON.parse(message.data) as ClusterEvent;
    } catch {
      this.#options.logger.error({ eventId }, 'unparseable event, skipping');
      return;
    }
    this.#setView(applyEvent(this.#view, eventId, event));
  }

  #streamClosed(): void {
    if (this.#streamOpen) this.#lastContact = Date.now();
    this.#streamOpen = false;
  }

  #setView(view: ClusterView): void {
    if (view === this.#view) return;
    this.#view = view;
    this.#options.onView(view);
  }

  #retry(): void {
    this.#source?.close();
    if (this.#closed) return;
    this.#failures += 1;
    this.#current = nextMaster(this.#options.masters, this.#current, this.#namedLeader);
    const max = this.#options.maxBackoffMs ?? 5000;
    const delay = Math.min(max, 100 * 2 ** Math.min(this.#failures, 10)) * (0.5 + Math.random() / 2);
    this.#retryTimer = setTimeout(() => void this.#connect(), delay);
  }
}

/** The scheduler answered 401 or 403: the follower's credentials, not the network, are at fault. */
class RefusedError extends Error {
  constructor(readonly status: number) {
    super(`snapshot answered HTTP ${status}`);
  }
}

async function fetchSnapshot(master: string, headers: Record<string, string>, dispatcher: Agent): Promise<{ snapshot: DiscoverySnapshot; leader: string | undefined }> {
  const response = await request(new URL(SNAPSHOT_PATH, master), { headers, dispatcher, headersTimeout: 5000, bodyTimeout: 10000 });
  if (response.statusCode !== 200) {
    await response.body.dump();
    if (response.statusCode === 401 || response.statusCode === 403) throw new RefusedError(response.statusCode);
    throw new Error(`snapshot answered HTTP ${response.statusCode}`);
  }
  return { snapshot: (await response.body.json()) as DiscoverySnapshot, leader: leaderFromHeader(response.headers[LEADER_HEADER]) };
}
