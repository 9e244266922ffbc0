import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { assertIdsIncrease, callJson, Churn, snapshot, SseStream, type SseFrame, type StreamOptions } from '../support/events-stream.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';

/**
 * The bounded history behind Last-Event-ID. There is no flag for its size (the file store keeps
 * 10,000 events, the scheduler's memory 10,000 to 12,500), so the test overflows it for real:
 * batch PUTs of 50 apps commit 53 events each, which takes seconds rather than the ~13,000
 * round trips single-app changes would need.
 * A live stream opened before the overflow records every event, so replays can be compared with it.
 */

const HISTORY = 10_000;
const BATCH = 50;
const dir = tempDir('corral-events-resync-');
const running: PartProcess[] = [];
const streams: SseStream[] = [];
let port: number;
let base: string;
let scheduler: PartProcess;
/** Every event from id 1, received live while the history was being overflowed. */
let record: SseStream;
let last: number;

before(async () => {
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  scheduler = await start(port, join(dir, 'scheduler'));
  record = await open(base, 0);
  const started = performance.now();
  let round = 0;
  // The store keeps HISTORY events; the scheduler's in-memory copy trims to HISTORY only once it
  // holds 1.25 × HISTORY, so go past that for Last-Event-ID 0 to be out of reach.
  while ((await snapshot(base)).eventId < HISTORY * 1.25 + 600) {
    const apps = Array.from({ length: BATCH }, (_, i) => ({ id: `/bulk/app-${i}`, cmd: 'sleep 1000', instances: 0, labels: { round: String(round) } }));
    const { status, json } = await callJson(base, 'PUT', '/v2/apps?force=true', apps);
    assert.ok(status < 300, JSON.stringify(json));
    round += 1;
  }
  last = (await snapshot(base)).eventId;
  await record.reach(last, 20_000);
  const bytes = record.committed.reduce((sum, f) => sum + JSON.stringify(f.data).length, 0);
  process.stderr.write(`# committed ${last} events (${(bytes / 2 ** 20).toFixed(1)} MiB of data) in ${round} batch PUTs, ${(performance.now() - started).toFixed(0)} ms\n`);
});

after(async () => {
  await Promise.all(streams.map((s) => s.close()));
  await stopParts(running, 5000);
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

async function start(port: number, dataDir: string): Promise<PartProcess> {
  const part = await startPart('scheduler', ['scheduler', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], dir);
  running.push(part);
  return part;
}

async function stop(part: PartProcess, signal: NodeJS.Signals): Promise<void> {
  part.child.kill(signal);
  await part.exited;
  running.splice(running.indexOf(part), 1);
}

async function open(base: string, lastEventId: number | string, options: StreamOptions = {}): Promise<SseStream> {
  const stream = await SseStream.open(base, { ...options, lastEventId });
  streams.push(stream);
  return stream;
}

/** One resync_required before any event with an id, and no replayed event. */
async function expectResync(base: string, lastEventId: number): Promise<SseFrame> {
  const stream = await open(base, lastEventId);
  // The frame after it must be a live event: commit one and see it arrive first.
  const { eventId: before } = await snapshot(base);
  const { status } = await callJson(base, 'POST', '/v2/apps', { id: `/resync/probe-${before}`, cmd: 'sleep 1000', instances: 0 });
  assert.equal(status, 201);
  await stream.reach(before + 1);
  assert.deepEqual(stream.violations, []);
  const beforeLive = stream.frames.slice(0, stream.frames.findIndex((f) => f.id !== undefined));
  const resyncs = stream.frames.filter((f) => f.event === 'resync_required');
  assert.equal(resyncs.length, 1);
  assert.ok(beforeLive.includes(resyncs[0] as SseFrame), 'resync_required comes before any event with an id');
  assert.equal(stream.committed[0]?.id, before + 1, `Last-Event-ID ${lastEventId}: nothing replayed after resync_required`);
  const resync = resyncs[0] as SseFrame;
  assert.equal(resync.data.lastEventId, lastEventId);
  await stream.close();
  return resync;
}

/**
 * Replays from `lastEventId` up to `upTo`: without `types` every id after it, contiguous; with
 * `types` (used to keep replays of the whole history small, see the first test) the ids of those
 * types, increasing.
 */
async function expectReplay(base: string, lastEventId: number, upTo: number, types?: readonly string[]): Promise<SseFrame[]> {
  const stream = await open(base, lastEventId, types === undefined ? {} : { types });
  await stream.reach(upTo, 20_000);
  assert.deepEqual(stream.violations, []);
  assert.equal(stream.frames.find((f) => f.event === 'resync_required'), undefined);
  const replayed = stream.committed.filter((f) => (f.id ?? 0) <= upTo);
  assert.ok((replayed[0]?.id ?? 0) > lastEventId);
  assertIdsIncrease(replayed, types === undefined, `replay from ${lastEventId}`);
  if (types === undefined) assert.equal(replayed[0]?.id, lastEventId + 1);
  await stream.close();
  return replayed;
}

/** Small events only, one or two per batch PUT: a replay of the whole history stays far below 32 MiB. */
const SMALL = ['deployment_info', 'deployment_success'];

test('a reader resuming from the oldest retained id gets the whole replay, even while changes keep being committed', { timeout: 60_000 }, async () => {
  // The whole history is ~11 MiB here; a subscriber that reads as fast as loopback allows must
  // still be able to resume from any id the history holds. Commits during the replay are normal
  // (the cluster does not stop for a reconnecting follower).
  const resync = await expectResync(base, 0);
  const oldest = Number(resync.data.oldestEventId);
  const churn = new Churn(() => base, { prefix: '/during-replay', workers: 1, pauseMs: 20 });
  try {
    const stream = await open(base, oldest - 1);
    const { eventId: upTo } = await snapshot(base);
    await stream.reach(upTo, 20_000);
    assert.equal(stream.endedByServer, false);
    assert.equal(stream.committed[0]?.id, oldest);
    assertIdsIncrease(stream.committed, true, 'replay of the whole history during commits');
    await stream.close();
  } finally {
    await churn.stop();
  }
});

test('resync_required once the history no longer reaches back; exact boundary; history and ids survive a restart; an id ahead (wiped data dir) resyncs', { timeout: 120_000 }, async () => {
  assert.deepEqual(record.violations, []);
  assertIdsIncrease(record.committed, true, 'live stream during the overflow');
  assert.equal(record.committed[0]?.id, 1);
  const recorded = new Map(record.committed.map((f) => [f.id, f]));

  // Last-Event-ID 0 is now out of reach: one resync_required naming the oldest id retained.
  const resync = await expectResync(base, 0);
  const oldest = Number(resync.data.oldestEventId);
  const newest = (await snapshot(base)).eventId;
  assert.ok(oldest > 1 && newest - oldest + 1 >= HISTORY, `oldest retained id ${oldest} of ${newest}: at least ${HISTORY} kept`);
  // The boundary: oldest - 1 is the last id the history can resume after; oldest - 2 is not.
  const replayed = await expectReplay(base, oldest - 1, last, SMALL);
  const expected = record.committed.filter((f) => (f.id ?? 0) >= oldest && (f.id ?? 0) <= last && SMALL.includes(f.event));
  assert.deepEqual(replayed.map((f) => [f.id, f.data]), expected.map((f) => [f.id, f.data]));
  await expectResync(base, oldest - 2);

  // kill -9 and restart on the same data dir: the history is reloaded from the store, ids do not restart.
  await stop(scheduler, 'SIGKILL');
  scheduler = await start(port, join(dir, 'scheduler'));
  const { eventId: lastAfter } = await snapshot(base);
  assert.ok(lastAfter >= newest, `after the restart the newest id is ${lastAfter}, was ${newest}`);
  const resyncAfter = await expectResync(base, 0);
  const oldestAfter = Number(resyncAfter.data.oldestEventId);
  const newestAfter = (await snapshot(base)).eventId;
  assert.ok(newestAfter - oldestAfter + 1 >= HISTORY, `after the restart ${newestAfter - oldestAfter + 1} events are kept`);
  // The same ids carry the same events after the restart as they did live.
  const after = await expectReplay(base, oldestAfter - 1, last, SMALL);
  assert.ok(after.length > 100);
  for (const frame of after) assert.deepEqual(frame.data, recorded.get(frame.id)?.data, `event ${String(frame.id)} after the restart`);
  await expectResync(base, oldestAfter - 2);

  // A wiped data dir: a client's id is ahead of the scheduler, its view belongs to other state.
  await stop(scheduler, 'SIGTERM');
  scheduler = await start(port, join(dir, 'scheduler-wiped'));
  const fresh = await snapshot(base);
  assert.ok(fresh.eventId < newestAfter);
  const ahead = await expectResync(base, newestAfter);
  assert.equal(ahead.data.lastEventId, newestAfter);
  // ...while on this fresh scheduler Last-Event-ID 0 replays its whole (short) history.
  const { eventId: freshLast } = await snapshot(base);
  const replay = await expectReplay(base, 0, freshLast);
  assert.equal(replay[0]?.id, 1);
});
