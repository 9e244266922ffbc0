/** One Server-Sent Events frame: `event:` (default `message`), the joined `data:` lines, the `id:` when given. */
export interface SseFrame {
  event: string;
  data: string;
  id?: string;
}

/**
 * Incremental Server-Sent Events parser (the WHATWG framing): feed it text as it arrives, get
 * whole frames back. Comment lines (heartbeats) and `retry:` are dropped; a frame without data
 * is not dispatched.
 */
export class SseParser {
  #pending = '';
  #event = '';
  #data: string[] = [];
  #id: string | undefined;

  push(text: string): SseFrame[] {
    const frames: SseFrame[] = [];
    this.#pending += text;
    for (;;) {
      const match = /\r\n|\n|\r/.exec(this.#pending);
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (match === null || (match[0] === '\r' && match.index === this.#pending.length - 1)) break;
      const line = this.#pending.slice(0, match.index);
      this.#pending = this.#pending.slice(match.index + match[0].length);
      const frame = this.#line(line);
      if (frame !== undefined) frames.push(frame);
    }
    return frames;
  }

  #line(line: string): SseFrame | undefined {
    if (line === '') {
      const frame = this.#data.length === 0 ? undefined : { event: this.#event || 'message', data: this.#data.join('\n'), ...(this.#id !== undefined ? { id: this.#id } : {}) };
      this.#event = '';
      this.#data = [];
      this.#id = undefined;
      return frame;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#id = value;
    return undefined;
  }
}
