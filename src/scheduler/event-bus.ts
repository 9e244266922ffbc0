import type { EventRecord, EventType, StreamEvent } from '../events/types.ts';
import { formatSseFrame } from '../events/core/sse.ts';

export interface Subscriber {
  /** Event types wanted; undefined = all. */
  types: ReadonlySet<EventType> | undefined;
  /** `--auth`: whether this subscriber may receive the event (src/auth/core/event-scope.ts); undefined = all. */
  accepts?: (event: StreamEvent) => boolean;
  /** One or more SSE frames, joined: one write per commit, not one per event. */
  send: (frames: string) => void;
}

function wants(subscriber: Omit<Subscriber, 'send'>, event: StreamEvent): boolean {
  return (subscriber.types === undefined || subscriber.types.has(event.eventType)) && (subscriber.accepts?.(event) ?? true);
}

interface HistoryEntry extends EventRecord {
  frame: string;
}

/**
 * Fans committed events out to subscribers and keeps a bounded history for Last-Event-ID
 * resumption. Each event is serialised once, whatever the number of subscribers.
 */
export class EventBus {
  readonly #limit: number;
  #history: HistoryEntry[];
  #lastEventId: number;
  readonly #subscribers = new Set<Subscriber>();
  readonly #published = new Set<(records: readonly EventRecord[]) => void>();

  constructor(history: readonly EventRecord[], lastEventId: number, limit = 10_000) {
    this.#limit = limit;
    this.#history = history.slice(-limit).map((r) => ({ ...r, frame: formatSseFrame(r.event, r.eventId) }));
    this.#lastEventId = lastEventId;
  }

  get lastEventId(): number {
    return this.#lastEventId;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  publish(records: readonly EventRecord[]): void {
    const entries = records.map((record) => ({ ...record, frame: formatSseFrame(record.event, record.eventId) }));
    for (const entry of entries) this.#history.push(entry);
    this.#lastEventId = records.at(-1)?.eventId ?? this.#lastEventId;
    for (const subscriber of this.#subscribers) {
      let frames = '';
      for (const entry of entries) if (wants(subscriber, entry.event)) frames += entry.frame;
      if (frames !== '') subscriber.send(frames);
    }
    if (this.#history.length > this.#limit * 1.25) this.#history = this.#history.slice(-this.#limit);
    for (const listener of this.#published) listener(records);
  }

  /** Called with every batch of committed events as it is published (metrics count them here). */
  onPublish(listener: (records: readonly EventRecord[]) => void): void {
    this.#published.add(listener);
  }

  /**
   * Frames of the events after `eventId` (those `accepts` lets through: ids stay global, so a
   * filtered subscriber sees gaps), or 'resync' when the history no longer reaches back
   * (or the id is ahead of this scheduler).
   * Call `subscribe` in the same tick so that no event falls between replay and live.
   */
  since(eventId: number, types: ReadonlySet<EventType> | undefined, accepts?: Subscriber['accepts']): string[] | 'resync' {
    // An id from the future belongs to other state (a wiped or restored data dir): its holder's view is wrong.
    if (eventId > this.#lastEventId) return 'resync';
    if (eventId === this.#lastEventId) return [];
    const oldest = this.#history[0]?.eventId;
    if (oldest === undefined || oldest > eventId + 1) return 'resync';
    return this.#history
      .filter((e) => e.eventId > eventId && wants({ types, accepts }, e.event))
      .map((e) => e.frame);
  }

  /** An event that is not a state change (a subscriber came or went): sent, never kept. */
  broadcast(event: StreamEvent): void {
    const frame = formatSseFrame(event);
    for (const subscriber of this.#subscribers) {
      if (wants(subscriber, event)) subscriber.send(frame);
    }
  }

  get oldestEventId(): number {
    return this.#history[0]?.eventId ?? this.#lastEventId + 1;
  }

  subscribe(subscriber: Subscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }
}
