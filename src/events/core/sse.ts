import type { StreamEvent } from '../types.ts';

/**
 * One Server-Sent Events frame, framed as Marathon frames its events (`event:` + one-line JSON
 * `data:`), plus Corral's `id:` line when the event is a committed one.
 */
export function formatSseFrame(event: StreamEvent, eventId?: number): string {
  const id = eventId === undefined ? '' : `id: ${eventId}\n`;
  return `${id}event: ${event.eventType}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** A comment line: keeps idle connections alive and lets either side notice a dead peer. */
export const SSE_HEARTBEAT = ':\n\n';
