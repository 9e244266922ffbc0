import { setTimeout as sleep } from 'node:timers/promises';
import { SseParser } from './core/sse-frames.ts';
import type { MasterClient } from './http-client.ts';

export interface StreamedEvent {
  /** The SSE `id:` of a committed event; absent on broadcasts such as event_stream_attached. */
  id?: number;
  type: string;
  data: Record<string, unknown>;
}

export interface EventStreamOptions {
  /** `event_type=` filters; all events when empty. */
  types: readonly string[];
  onEvent: (event: StreamedEvent) => void;
  signal: AbortSignal;
}

const RECONNECTS = 5;

/**
 * Follows `/v2/events`. Resolves once the scheduler has accepted the subscription (so that any
 * change made afterwards is seen); `done` settles when `signal` aborts, or rejects when the
 * stream is lost and cannot be resumed from its last id (or the scheduler's history no longer
 * reaches back to it).
 */
export async function openEventStream(client: MasterClient, options: EventStreamOptions): Promise<{ done: Promise<void> }> {
  const query = options.types.map((t) => `event_type=${encodeURIComponent(t)}`).join('&');
  const path = `/v2/events${query === '' ? '' : `?${query}`}`;
  let lastId: number | undefined;
  const connect = () => client.stream(path, { accept: 'text/event-stream', ...(lastId === undefined ? {} : { 'last-event-id': String(lastId) }) }, options.signal);
  let body = await connect();

  const read = async (): Promise<void> => {
    let failures = 0;
    for (;;) {
      const parser = new SseParser();
      const decoder = new TextDecoder();
      try {
        for await (const chunk of body) {
          failures = 0;
          for (const frame of parser.push(decoder.decode(chunk, { stream: true }))) {
            if (frame.event === 'resync_required') throw new Error('the event stream was interrupted for longer than the scheduler keeps history');
            const id = frame.id === undefined ? undefined : Number(frame.id);
            if (id !== undefined) lastId = id;
            const data = parseData(frame.data);
            if (data !== undefined) options.onEvent({ ...(id !== undefined ? { id } : {}), type: frame.event, data });
          }
        }
      } catch (error) {
        if (options.signal.aborted) return;
        if ((error as Error).message.startsWith('the event stream')) throw error;
      }
      if (options.signal.aborted) return;
      // The connection ended: resume where it stopped, with a little patience for a restarting scheduler.
      for (;;) {
        failures += 1;
        if (failures > RECONNECTS) throw new Error(`lost the event stream of ${client.master} and could not resume it`);
        try {
          await sleep(250 * failures, undefined, { signal: options.signal });
          body = await connect();
          break;
        } catch (error) {
          if (options.signal.aborted) return;
          if (failures >= RECONNECTS) throw error;
        }
      }
    }
  };
  return { done: read() };
}

function parseData(text: string): Record<string, unknown> | undefined {
  try {
    const data = JSON.parse(text) as unknown;
    return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
