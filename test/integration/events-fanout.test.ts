import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Socket } from 'node:net';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { assertIdsIncrease, callJson, metric, openStalledSubscriber, snapshot, SseStream } from '../support/events-stream.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Fan-out with a subscriber that never reads: it must not hold back anyone else, and once more
 * than the per-subscriber limit (32 MiB) waits for it, the scheduler cuts it off and says so.
 */

const LIMIT = 32 * 2 ** 20;
const dir = tempDir('corral-events-fanout-');
let scheduler: PartProcess;
let base: string;
const streams: SseStream[] = [];
const sockets: Socket[] = [];

before(async () => {
  scheduler = await startPart('scheduler', ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler')], dir);
  base = String(scheduler.ready.api);
});

after(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(streams.map((s) => s.close()));
  await stopParts([scheduler], 5000);
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

const tooSlowLines = (): string[] =>
  readFileSync(join(dir, 'scheduler.log'), 'utf8').split('\n').filter((line) => line.includes('event subscriber too slow'));

test('a stalled subscriber does not delay a fast one, and is disconnected once its buffer passes the limit', { timeout: 90_000 }, async () => {
  const fast = await SseStream.open(base);
  streams.push(fast);
  const stalled = await openStalledSubscriber(base);
  sockets.push(stalled);
  await waitFor('both subscribers attached', async () => ((await metric(base, 'corral_scheduler_event_subscribers')) === 2 ? true : undefined));

  // ~1 MiB per commit: 10 apps with 100 KiB of labels each, every api_post_event carrying them.
  const big = 'x'.repeat(10 * 1024);
  const labels = (round: number): Record<string, string> => Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`L${i}`, `${round}-${big}`]));
  let committedBytes = 0;
  let slowestMs = 0;
  for (let round = 0; tooSlowLines().length === 0; round += 1) {
    assert.ok(committedBytes < 20 * LIMIT, `still connected after ${(committedBytes / 2 ** 20).toFixed(0)} MiB of events`);
    const apps = Array.from({ length: 10 }, (_, i) => ({ id: `/fanout/app-${i}`, cmd: 'sleep 1000', instances: 0, labels: labels(round) }));
    const started = performance.now();
    const { status, json } = await callJson(base, 'PUT', '/v2/apps?force=true', apps);
    assert.ok(status < 300, JSON.stringify(json).slice(0, 500));
    const { eventId } = await snapshot(base);
    // The fast subscriber has this commit promptly, stalled peer or not (a liveness deadline).
    await fast.reach(eventId, 5_000);
    slowestMs = Math.max(slowestMs, performance.now() - started);
    committedBytes += fast.committed.filter((f) => f.id !== undefined && f.id > eventId - 12).reduce((sum, f) => sum + JSON.stringify(f.data).length, 0);
  }
  process.stderr.write(`# stalled subscriber cut after ~${(committedBytes / 2 ** 20).toFixed(1)} MiB of events; slowest commit -> fast delivery ${slowestMs.toFixed(0)} ms\n`);

  const [line] = tooSlowLines();
  const logged = JSON.parse(line ?? '{}') as { buffered?: number; level?: number };
  assert.ok((logged.buffered ?? 0) > LIMIT, `logged buffered ${String(logged.buffered)} bytes`);
  // The stalled connection is gone from the scheduler; the fast one stays.
  await waitFor('the stalled subscriber to be dropped', async () => ((await metric(base, 'corral_scheduler_event_subscribers')) === 1 ? true : undefined));
  assert.equal(fast.endedByServer, false);

  // The fast subscriber lost nothing, before or after the cut.
  const { status } = await callJson(base, 'POST', '/v2/apps', { id: '/fanout/after', cmd: 'sleep 1000', instances: 0 });
  assert.equal(status, 201);
  const { eventId: last } = await snapshot(base);
  await fast.reach(last);
  assert.deepEqual(fast.violations, []);
  assert.equal(fast.committed[0]?.id, 1);
  assertIdsIncrease(fast.committed, true, 'fast subscriber');
  // The new app's deployment may already have finished too, adding events after `last`.
  assert.ok(Number(fast.committed.at(-1)?.id) >= last);
  // It was told, as Marathon tells every subscriber, that the other one went away.
  assert.ok(fast.frames.some((f) => f.event === 'event_stream_detached'));
  // One subscriber cut, one reason logged (not one line per event still in that commit).
  assert.equal(tooSlowLines().length, 1, 'one "too slow" line for the one stalled subscriber');
});
