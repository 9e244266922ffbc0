/**
 * A child process of bench/events.ts: opens `count` SSE subscribers to `/v2/events` with undici,
 * parses frames from the raw body (no EventSource), and measures each committed frame's
 * commit→delivery latency from its `timestamp` field (set by the scheduler when it commits; same
 * machine clock). Talks to its parent over IPC:
 *   → { type: 'ready' } once every subscriber has its response headers
 *   → { type: 'progress', frames, minLastId } when asked ({ type: 'poll' })
 *   → { type: 'done', ... } when told { type: 'stop' }
 */
import { request, Agent } from 'undici';

const [api = '', countArg = '1', typesArg = ''] = process.argv.slice(2);
const count = Number(countArg);
const types = typesArg === '' ? [] : typesArg.split(',');

/** 0.1 ms buckets up to 120 s. */
const BUCKET_MS = 0.1;
const histogram = new Uint32Array(1_200_000);
let frames = 0;
let bytes = 0;
let errors = 0;
/** Date.now() when the last committed frame arrived. */
let lastAt = 0;
const lastIds = new Array<number>(count).fill(0);
const dispatcher = new Agent({ connections: count + 10, bodyTimeout: 0, headersTimeout: 30_000 });
const abort = new AbortController();

function record(latencyMs: number): void {
  const bucket = Math.min(histogram.length - 1, Math.max(0, Math.round(latencyMs / BUCKET_MS)));
  histogram[bucket] = (histogram[bucket] ?? 0) + 1;
}

async function subscribe(index: number): Promise<AsyncIterable<Buffer>> {
  const url = new URL('/v2/events', api);
  for (const type of types) url.searchParams.append('event_type', type);
  const response = await request(url, { dispatcher, signal: abort.signal, headers: { accept: 'text/event-stream' } });
  if (response.statusCode !== 200) throw new Error(`subscriber ${index}: HTTP ${response.statusCode}`);
  return response.body as AsyncIterable<Buffer>;
}

async function consume(index: number, body: AsyncIterable<Buffer>): Promise<void> {
  let buffer = '';
  try {
    for await (const chunk of body) {
      const now = Date.now();
      buffer += chunk.toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!frame.startsWith('id: ')) continue;
        const id = Number(frame.slice(4, frame.indexOf('\n')));
        const at = frame.indexOf('"timestamp":"');
        if (at >= 0) record(now - Date.parse(frame.slice(at + 13, at + 37)));
        lastIds[index] = id;
        lastAt = now;
        frames += 1;
        bytes += frame.length + 2;
      }
    }
  } catch {
    if (!abort.signal.aborted) errors += 1;
  }
}

const bodies = await Promise.all(Array.from({ length: count }, (_, i) => subscribe(i)));
const consumers = bodies.map((body, i) => consume(i, body));
process.send?.({ type: 'ready' });

process.on('message', (message: { type: string }) => {
  if (message.type === 'poll') {
    process.send?.({ type: 'progress', frames, bytes, errors, lastAt, minLastId: Math.min(...lastIds) });
  } else if (message.type === 'stop') {
    abort.abort();
    void Promise.allSettled(consumers).then(async () => {
      const buckets: Array<[number, number]> = [];
      histogram.forEach((n, bucket) => {
        if (n > 0) buckets.push([bucket * BUCKET_MS, n]);
      });
      process.send?.({ type: 'done', frames, bytes, errors, lastAt, minLastId: Math.min(...lastIds), buckets }, () => {
        void dispatcher.destroy().finally(() => process.exit(0));
      });
    });
  }
});
