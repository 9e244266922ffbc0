/** One Server-Sent Events frame: its `id:`, `event:` and the `data:` lines joined. */
export interface SseFrame { id?: string; event?: string; data: string }

/**
 * Splits what a stream sent so far into whole frames and the unfinished rest (kept for the next
 * chunk), per the SSE format: frames end at a blank line, `:` lines are comments (heartbeats),
 * a frame without data is no event (`retry:` alone).
 */
export function parseSse(buffer: string): { frames: SseFrame[]; rest: string } {
  const text = buffer.replace(/\r\n?/g, '\n');
  const frames: SseFrame[] = [];
  let start = 0;
  for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n', start)) {
    const frame: SseFrame = { data: '' };
    const data: string[] = [];
    for (const line of text.slice(start, end).split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'id') frame.id = value;
      else if (field === 'event') frame.event = value;
    }
    start = end + 2;
    if (data.length === 0) continue;
    frame.data = data.join('\n');
    frames.push(frame);
  }
  return { frames, rest: text.slice(start) };
}
