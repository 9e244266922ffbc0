/** Following the scheduler's event stream from a benchmark: status updates, stamped on arrival. */
import { request } from 'undici';
import type { StatusUpdateEvent } from '../src/events/types.ts';

export interface ArrivedStatus {
  event: StatusUpdateEvent;
  /** performance.now() when the frame was read. */
  at: number;
}

export interface StatusFollower {
  close(): void;
  /** Set when the stream broke: the counts taken from it are incomplete from then on. */
  readonly error: Error | undefined;
}

/**
 * Subscribes to `/v2/events?event_type=status_update_event` and calls `onStatus` for every
 * update, in stream order. Resolves once the stream is open, so nothing posted after it is missed.
 */
export async function followStatusUpdates(api: string, onStatus: (status: ArrivedStatus) => void): Promise<StatusFollower> {
  const abort = new AbortController();
  const response = await request(`${api}/v2/events?event_type=status_update_event`, {
    headers: { accept: 'text/event-stream' },
    signal: abort.signal,
    bodyTimeout: 0,
  });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new Error(`event stream answered ${response.statusCode}`);
  }
  let error: Error | undefined;
  void (async () => {
    let buffered = '';
    for await (const chunk of response.body) {
      buffered += (chunk as Buffer).toString('utf8');
      let end: number;
      while ((end = buffered.indexOf('\n\n')) !== -1) {
        const frame = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = frame.split('\n').find((line) => line.startsWith('data: '));
        if (data === undefined) continue;
        const event = JSON.parse(data.slice('data: '.length)) as StatusUpdateEvent;
        if (event.eventType === 'status_update_event') onStatus({ event, at: performance.now() });
      }
    }
    if (!abort.signal.aborted) error = new Error('the event stream ended');
  })().catch((err: unknown) => {
    if (!abort.signal.aborted) error = err as Error;
  });
  return {
    close: () => abort.abort(),
    get error() {
      return error;
    },
  };
}
