/**
 * Counts tasks by state from the scheduler's event stream, for benchmarks with many thousands of
 * tasks: the last state of every task, how many of each app group run, when the count first
 * reached a target. Resumes by Last-Event-ID when the scheduler cuts the stream (it does so to
 * subscribers that fall 8 MiB behind), so a slow moment here does not lose counts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { StatusUpdateEvent, TaskState } from '../src/events/types.ts';

const TERMINAL: ReadonlySet<string> = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN']);

export class StatusTally {
  readonly #api: string;
  readonly #abort = new AbortController();
  readonly #dispatcher = new Agent({ connections: 1 });
  readonly #last = new Map<string, TaskState>();
  /** Tasks now in TASK_RUNNING, per app. */
  readonly #runningByApp = new Map<string, number>();
  /** Tasks that ended, per app. */
  readonly #endedByApp = new Map<string, number>();
  #lastEventId: number | undefined;
  events = 0;
  /** Times the stream broke and was resumed. */
  resumes = 0;
  /** Set when the stream could not be resumed: counts are incomplete from then on. */
  error: Error | undefined;
  /** A `resync_required` arrived: events were lost for good. */
  lostEvents = false;

  private constructor(api: string) {
    this.#api = api;
  }

  /** Resolves once the stream is open, so nothing committed after it is missed. */
  static async follow(api: string): Promise<StatusTally> {
    const tally = new StatusTally(api);
    const body = await tally.#open();
    void tally.#pump(body);
    return tally;
  }

  /** Tasks in TASK_RUNNING whose app id starts with `prefix`. */
  running(prefix: string): number {
    return sumWhere(this.#runningByApp, prefix);
  }

  ended(prefix: string): number {
    return sumWhere(this.#endedByApp, prefix);
  }

  close(): void {
    this.#abort.abort();
    void this.#dispatcher.destroy();
  }

  async #open(): Promise<AsyncIterable<unknown>> {
    const response = await request(`${this.#api}/v2/events?event_type=status_update_event`, {
      headers: { accept: 'text/event-stream', ...(this.#lastEventId !== undefined ? { 'last-event-id': String(this.#lastEventId) } : {}) },
      signal: this.#abort.signal,
      dispatcher: this.#dispatcher,
      headersTimeout: 60_000,
      bodyTimeout: 0,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`event stream answered ${response.statusCode}`);
    }
    return response.body;
  }

  async #pump(first: AsyncIterable<unknown>): Promise<void> {
    let body = first;
    for (let failures = 0; !this.#abort.signal.aborted;) {
      try {
        await this.#read(body);
      } catch {
        // cut off: resume below
      }
      if (this.#abort.signal.aborted) return;
      this.resumes += 1;
      for (;;) {
        try {
          body = await this.#open();
          failures = 0;
          break;
        } catch (err) {
          failures += 1;
          if (this.#abort.signal.aborted) return;
          if (failures > 20) {
            this.error = err as Error;
            return;
          }
          await sleep(250);
        }
      }
    }
  }

  async #read(body: AsyncIterable<unknown>): Promise<void> {
    let buffered = '';
    for await (const chunk of body) {
      buffered += (chunk as Buffer).toString('utf8');
      let start = 0;
      let end: number;
      // One slice per chunk, not one per frame: a 64 KiB chunk holds hundreds of frames.
      while ((end = buffered.indexOf('\n\n', start)) !== -1) {
        const frame = buffered.slice(start, end);
        start = end + 2;
        let id: number | undefined;
        let data: string | undefined;
        for (const line of frame.split('\n')) {
          if (line.startsWith('id: ')) id = Number(line.slice(4));
          else if (line.startsWith('data: ')) data = line.slice(6);
        }
        if (data === undefined) continue;
        const event = JSON.parse(data) as StatusUpdateEvent | { eventType: 'resync_required' };
        if (event.eventType === 'resync_required') this.lostEvents = true;
        else if (event.eventType === 'status_update_event') this.#apply(event);
        if (id !== undefined && Number.isFinite(id)) this.#lastEventId = id;
      }
      buffered = buffered.slice(start);
    }
  }

  #apply(event: StatusUpdateEvent): void {
    this.events += 1;
    const previous = this.#last.get(event.taskId);
    const state = event.taskStatus;
    if (previous === 'TASK_RUNNING' && state !== 'TASK_RUNNING') add(this.#runningByApp, event.appId, -1);
    if (state === 'TASK_RUNNING' && previous !== 'TASK_RUNNING') add(this.#runningByApp, event.appId, 1);
    if (TERMINAL.has(state)) {
      if (previous === undefined || !TERMINAL.has(previous)) add(this.#endedByApp, event.appId, 1);
      // Ended tasks are forgotten, or a long run would hold every task id it ever saw.
      this.#last.delete(event.taskId);
    } else {
      this.#last.set(event.taskId, state);
    }
  }
}

function add(counts: Map<string, number>, key: string, delta: number): void {
  counts.set(key, (counts.get(key) ?? 0) + delta);
}

function sumWhere(counts: ReadonlyMap<string, number>, prefix: string): number {
  let sum = 0;
  for (const [key, count] of counts) if (key.startsWith(prefix)) sum += count;
  return sum;
}
