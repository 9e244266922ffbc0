import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { ClusterEvent, DiscoverySnapshot } from '../../src/events/types.ts';
import { applyEvent, viewFromSnapshot, type ClusterView } from '../../src/events/core/view.ts';
import { waitFor } from './wait.ts';

/**
 * The event stream as the integration tests see it: raw SSE bytes read with undici and checked
 * frame by frame against the wire format (ARCHITECTURE.md, "Event stream"), a subscriber that
 * never reads, and the fold of what arrived compared with a fresh discovery snapshot.
 */

/** A JSON body, loosely typed: tests read the scheduler's JSON as it comes. */
export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface SseFrame {
  /** The `id:` line; undefined for events that are not stored (stream attached/detached, resync_required). */
  id: number | undefined;
  event: string;
  data: Json;
  /** performance.now() when the frame was parsed. */
  at: number;
}

const COMMITTED = /^id: (\d+)\nevent: ([a-z_]+)\ndata: ([^\n]+)$/;
const UNCOMMITTED = /^event: ([a-z_]+)\ndata: ([^\n]+)$/;
/** Events that are not state changes: never stored, never given an id. */
export const UNSTORED: ReadonlySet<string> = new Set(['event_stream_attached', 'event_stream_detached', 'resync_required']);
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export interface StreamOptions {
  /** Repeatable `?event_type=`. */
  types?: readonly string[];
  lastEventId?: number | string;
  /** Extra query parameters (e.g. `plan-format=light`). */
  query?: Record<string, string>;
  /** Extra request headers (e.g. `authorization` with --auth). */
  headers?: Record<string, string>;
}

/**
 * One `GET /v2/events` connection. Frames that break the wire format are collected in
 * `violations` (a test asserts it stays empty) rather than thrown from the reader.
 */
export class SseStream {
  readonly frames: SseFrame[] = [];
  readonly violations: string[] = [];
  heartbeats = 0;
  /** Set when the server ended the stream (not when we closed it). */
  endedByServer = false;
  readonly #abort = new AbortController();
  #done: Promise<void> = Promise.resolve();

  static async open(base: string, options: StreamOptions = {}): Promise<SseStream> {
    const url = new URL('/v2/events', base);
    for (const type of options.types ?? []) url.searchParams.append('event_type', type);
    for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
    const stream = new SseStream();
    const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
    if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
    const response = await request(url, { headers, signal: stream.#abort.signal, bodyTimeout: 0 }).catch((err: unknown) => {
      throw new Error(`GET ${url.pathname}${url.search} (Last-Event-ID ${String(options.lastEventId)}): ${(err as Error).message}`, { cause: err });
    });
    assert.equal(response.statusCode, 200, `GET ${url.pathname}${url.search}`);
    assert.match(String(response.headers['content-type']), /^text\/event-stream/);
    stream.#done = stream.#read(response.body);
    return stream;
  }

  async #read(body: AsyncIterable<unknown>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    let first = true;
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk as Buffer, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          this.#frame(block, first);
          first = false;
        }
      }
      this.endedByServer = true;
    } catch {
      // aborted by close(), or the connection broke: endedByServer stays as it is
    }
  }

  #frame(block: string, first: boolean): void {
    if (first && block === 'retry: 500') return;
    if (block === ':') {
      this.heartbeats += 1;
      return;
    }
    const committed = COMMITTED.exec(block);
    const uncommitted = committed === null ? UNCOMMITTED.exec(block) : null;
    if (committed === null && uncommitted === null) {
      this.violations.push(`malformed frame: ${JSON.stringify(block.slice(0, 200))}`);
      return;
    }
    const id = committed === null ? undefined : Number(committed[1]);
    const event = (committed?.[2] ?? uncommitted?.[1]) as string;
    let data: Json;
    try {
      data = JSON.parse((committed?.[3] ?? uncommitted?.[2]) as string) as Json;
    } catch {
      this.violations.push(`data is not JSON in ${event} ${String(id)}`);
      return;
    }
    if (data.eventType !== event) this.violations.push(`event ${event} carries eventType ${String(data.eventType)}`);
    if (typeof data.timestamp !== 'string' || !ISO.test(data.timestamp)) this.violations.push(`event ${event} has timestamp ${String(data.timestamp)}`);
    const perConnection = UNSTORED.has(event);
    if (perConnection !== (id === undefined)) this.violations.push(`event ${event} ${id === undefined ? 'lacks' : 'has'} an id line`);
    this.frames.push({ id, event, data, at: performance.now() });
  }

  /** Frames with an `id:` line, in arrival order. */
  get committed(): SseFrame[] {
    return this.frames.filter((f) => f.id !== undefined);
  }

  get lastId(): number | undefined {
    return this.committed.at(-1)?.id;
  }

  /** Waits until a committed frame with id >= `id` has arrived (a liveness deadline). */
  reach(id: number, timeoutMs = 10_000): Promise<true> {
    return waitFor(`the stream to reach event ${id} (at ${String(this.lastId)})`, () => ((this.lastId ?? 0) >= id ? true : undefined), timeoutMs);
  }

  /** Resolves once the reader has stopped (after close(), or when the server ended the stream). */
  get done(): Promise<void> {
    return this.#done;
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }
}

/** Asserts ids strictly increase, and with `contiguous` that none is missing. */
export function assertIdsIncrease(frames: readonly SseFrame[], contiguous: boolean, what: string): void {
  const ids = frames.map((f) => f.id ?? NaN);
  for (let i = 1; i < ids.length; i += 1) {
    const previous = ids[i - 1] as number;
    const current = ids[i] as number;
    if (contiguous) assert.equal(current, previous + 1, `${what}: id ${current} follows ${previous}`);
    else assert.ok(current > previous, `${what}: id ${current} follows ${previous}`);
  }
}

/**
 * A subscriber that sends its request and never reads a byte: the kernel buffers fill, then
 * the scheduler's per-connection buffer grows until it cuts the connection.
 */
export async function openStalledSubscriber(base: string): Promise<Socket> {
  const { hostname, port } = new URL(base);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.pause();
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.write(`GET /v2/events HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/event-stream\r\n\r\n`);
  return socket;
}

export async function callJson(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const response = await request(`${base}${path}`, {
    method: method as 'GET',
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, json: text === '' ? {} : (JSON.parse(text) as Json) };
}

export async function snapshot(base: string): Promise<DiscoverySnapshot> {
  const { status, json } = await callJson(base, 'GET', '/corral/v1/discovery');
  assert.equal(status, 200);
  return json as DiscoverySnapshot;
}

/** The value of one Prometheus sample line, or undefined. */
export async function metric(base: string, name: string): Promise<number | undefined> {
  const response = await request(`${base}/metrics`);
  const text = await response.body.text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** Folds committed frames into the view of `start`, as a follower would. */
export function fold(start: DiscoverySnapshot, frames: readonly SseFrame[]): ClusterView {
  let view = viewFromSnapshot(start);
  for (const frame of frames) {
    if (frame.id !== undefined) view = applyEvent(view, frame.id, frame.data as ClusterEvent);
  }
  return view;
}

/** Apps and tasks sorted by id, through JSON (so an absent key and an undefined one compare equal). */
export function comparable(source: ClusterView | DiscoverySnapshot): { eventId: number; apps: Json[]; tasks: Json[] } {
  const apps: unknown[] = Array.isArray(source.apps) ? source.apps : [...source.apps.values()];
  const tasks: unknown[] = Array.isArray(source.tasks) ? source.tasks : [...source.tasks.values()];
  const byId = (a: Json, b: Json): number => String(a.id).localeCompare(String(b.id));
  const plain = (values: unknown[]): Json[] => (JSON.parse(JSON.stringify(values)) as Json[]).sort(byId);
  return { eventId: source.eventId, apps: plain(apps), tasks: plain(tasks) };
}

/**
 * Keeps committing app changes until stopped: posts, label toggles, scale changes (all with
 * instances 0 unless `scaled` names an app to scale up and down) and deletes, with `?force=true`
 * so a running deployment never turns a change into a 409. Failed calls (the scheduler is down)
 * are counted and retried after a pause.
 */
export class Churn {
  commits = 0;
  failures = 0;
  /** Each failed change as `METHOD path: status body` (or the error): what an assertion on `failures` says. */
  readonly failed: string[] = [];
  #stopped = false;
  readonly #loops: Promise<void>[];

  constructor(base: () => string, options: { prefix: string; workers?: number; scaled?: string; pauseMs?: number }) {
    const workers = options.workers ?? 2;
    this.#loops = Array.from({ length: workers }, (_, w) => this.#loop(base, `${options.prefix}/w${w}`, options.scaled, options.pauseMs ?? 0));
  }

  async #loop(base: () => string, prefix: string, scaled: string | undefined, pauseMs: number): Promise<void> {
    for (let i = 0; !this.#stopped; i += 1) {
      const app = `${prefix}/app-${i % 5}`;
      const step = Math.floor(i / 5) % 4;
      const change: [string, string, unknown] =
        // Every step forces, as a Marathon user churning would: the app's deletion deployment of the round before may still run (409).
        step === 0 ? ['POST', '/v2/apps?force=true', { id: app, cmd: 'sleep 1000', instances: 0, labels: { round: String(i) } }]
        : step === 1 ? ['PUT', `/v2/apps${app}?force=true`, { labels: { round: String(i), HAPROXY_GROUP: 'external' } }]
        : step === 2 ? ['PUT', '/v2/apps?force=true', [{ id: app, labels: { round: String(i) }, env: { N: String(i) } }]]
        : ['DELETE', `/v2/apps${app}?force=true`, undefined];
      try {
        const { status, json } = await callJson(base(), ...change);
        if (status < 300) this.commits += 1;
        else this.#fail(change, `${status} ${JSON.stringify(json)}`);
        if (scaled !== undefined && i % 7 === 0) {
          const { status: scaleStatus } = await callJson(base(), 'PUT', `/v2/apps${scaled}?force=true`, { instances: 1 + (i % 3) });
          if (scaleStatus < 300) this.commits += 1;
        }
      } catch (err) {
        this.#fail(change, (err as Error).message);
        await sleep(50);
      }
      if (pauseMs > 0) await sleep(pauseMs);
    }
  }

  #fail([method, path]: [string, string, unknown], why: string): void {
    this.failures += 1;
    this.failed.push(`${method} ${path}: ${why}`);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }
}

export { removeCgroupParent } from './cgroups.ts';
