import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { DISCOVERY_EVENT_TYPES } from '../../src/events/types.ts';
import { assertIdsIncrease, callJson, Churn, comparable, fold, snapshot, SseStream } from '../support/events-stream.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * GET /v2/events against a real scheduler: the wire format, filters, replay from Last-Event-ID,
 * and resuming a dropped connection with nothing missed or repeated.
 */

const dir = tempDir('corral-events-stream-');
let scheduler: PartProcess;
let base: string;
const streams: SseStream[] = [];

before(async () => {
  scheduler = await startPart('scheduler', ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler')], dir);
  base = String(scheduler.ready.api);
});

after(async () => {
  await Promise.all(streams.map((s) => s.close()));
  await stopParts([scheduler], 5000);
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

async function open(options: Parameters<typeof SseStream.open>[1] = {}): Promise<SseStream> {
  const stream = await SseStream.open(base, options);
  streams.push(stream);
  return stream;
}

async function ok(method: string, path: string, body?: unknown): Promise<void> {
  const { status, json } = await callJson(base, method, path, body);
  assert.ok(status < 300, `${method} ${path}: ${status} ${JSON.stringify(json)}`);
}

test('framing, repeatable event_type filters, plan-format=light, replay from 0 and the heartbeat', { timeout: 30_000 }, async () => {
  const all = await open();
  const filtered = await open({ types: ['api_post_event', 'app_terminated_event'] });
  const light = await open({ types: ['deployment_info', 'deployment_success'], query: { 'plan-format': 'light' } });

  await ok('POST', '/v2/apps', { id: '/framing/a', cmd: 'sleep 1000', instances: 0, labels: { line: 'one\ntwo' } });
  await ok('PUT', '/v2/apps/framing/a?force=true', { labels: { HAPROXY_GROUP: 'external' } });
  await ok('POST', '/v2/apps', { id: '/framing/b', cmd: 'sleep 1000', instances: 0 });
  await ok('DELETE', '/v2/apps/framing/a?force=true');
  const { eventId: last } = await snapshot(base);
  await all.reach(last);
  const lastOf = (...wanted: string[]): number => Math.max(...all.committed.filter((f) => wanted.includes(f.event)).map((f) => f.id ?? 0));
  await filtered.reach(lastOf('api_post_event', 'app_terminated_event'));
  await light.reach(lastOf('deployment_info', 'deployment_success'));

  // Every frame is `id: N\nevent: T\ndata: <one line>\n\n` (no id for per-connection events),
  // data carries eventType = T and an ISO timestamp: SseStream records any deviation.
  for (const stream of [all, filtered, light]) assert.deepEqual(stream.violations, []);
  assert.equal(all.frames[0]?.event, 'event_stream_attached');
  assert.equal(all.frames[0]?.id, undefined);
  assert.equal(typeof all.frames[0]?.data.remoteAddress, 'string');
  // A label holding a newline stays inside the one data line (JSON escapes it).
  assert.equal(all.committed.find((f) => f.event === 'api_post_event')?.data.appDefinition.labels.line, 'one\ntwo');
  assertIdsIncrease(all.committed, true, 'unfiltered stream');
  const types = new Set(all.committed.map((f) => f.event));
  for (const type of ['api_post_event', 'deployment_info', 'deployment_success', 'app_terminated_event']) assert.ok(types.has(type), `saw ${type}`);

  // The filter: only the asked types (not even event_stream_attached), the same frames as on the
  // unfiltered stream, ids still increasing.
  assert.deepEqual(filtered.frames.map((f) => f.event).filter((t) => t !== 'api_post_event' && t !== 'app_terminated_event'), []);
  assertIdsIncrease(filtered.frames, false, 'filtered stream');
  const expected = all.committed.filter((f) => f.event === 'api_post_event' || f.event === 'app_terminated_event');
  assert.deepEqual(filtered.frames.map((f) => [f.id, f.data]), expected.map((f) => [f.id, f.data]));

  // plan-format=light is accepted; plans carry id, version and steps, no original/target groups.
  assert.ok(light.frames.length >= 4);
  for (const frame of light.frames) {
    assert.ok(frame.event === 'deployment_info' || frame.event === 'deployment_success');
    assert.deepEqual(Object.keys(frame.data.plan).filter((k) => k === 'original' || k === 'target'), []);
    assert.equal(typeof frame.data.plan.id, 'string');
    assert.ok(Array.isArray(frame.data.plan.steps));
  }

  // Last-Event-ID 0 on a scheduler whose history reaches back to 1: the full history, then live.
  const replay = await open({ lastEventId: 0 });
  await replay.reach(last);
  assert.deepEqual(replay.violations, []);
  // Deployments may finish meanwhile and add events past `last` to either stream: compare up to it.
  const upTo = (frames: typeof replay.committed) => frames.filter((f) => Number(f.id) <= last).map((f) => [f.id, f.event, f.data]);
  assert.deepEqual(upTo(replay.committed), upTo(all.committed));
  assert.equal(replay.committed[0]?.id, 1);

  // A Last-Event-ID equal to the newest id: nothing replayed, the next commit arrives.
  const current = await open({ lastEventId: last });
  await ok('POST', '/v2/apps', { id: '/framing/c', cmd: 'sleep 1000', instances: 0 });
  await current.reach(last + 1);
  assert.equal(current.committed[0]?.id, last + 1);

  // An idle connection gets a `:` comment every 5 s (liveness deadline, not a timing assertion).
  await waitFor('a heartbeat comment', () => (all.heartbeats > 0 ? true : undefined), 12_000);
});

test('resume after a dropped connection: no missed and no repeated ids; the folded view equals a fresh snapshot', { timeout: 60_000 }, async () => {
  const start = await snapshot(base);
  const first = await open({ lastEventId: start.eventId });
  // A follower's stream: only the discovery types, dropped and resumed at another moment.
  const followerTypes = [...DISCOVERY_EVENT_TYPES, 'resync_required'];
  const followerFirst = await open({ lastEventId: start.eventId, types: followerTypes });
  const churn = new Churn(() => base, { prefix: '/resume', workers: 3 });
  try {
    await waitFor('100 events on the first connection', () => (first.committed.length >= 100 ? true : undefined), 20_000);
    await first.close();
    const droppedAt = first.lastId ?? start.eventId;
    // Changes keep being committed while nobody listens on this connection.
    await waitFor('more commits after the drop', async () => ((await snapshot(base)).eventId > droppedAt + 100 ? true : undefined), 20_000);
    await followerFirst.close();
    const followerDroppedAt = followerFirst.lastId ?? start.eventId;
    const second = await open({ lastEventId: droppedAt });
    await waitFor('more commits after the follower drop', async () => ((await snapshot(base)).eventId > followerDroppedAt + 100 ? true : undefined), 20_000);
    const followerSecond = await open({ lastEventId: followerDroppedAt, types: followerTypes });
    await waitFor('the resumed streams to receive live events', () => (followerSecond.committed.length >= 10 && second.committed.length >= 10 ? true : undefined), 20_000);
    await churn.stop();
    // Deployments of the last changes finish a moment later and add events: wait until quiet.
    await waitFor('the last deployments to finish', async () => ((await callJson(base, 'GET', '/v2/deployments')).json.length === 0 ? true : undefined), 20_000);
    const final = await snapshot(base);
    await second.reach(final.eventId);

    assert.ok(churn.commits > 50 && churn.failures === 0, `churn committed ${churn.commits} changes, ${churn.failures} failed:\n${churn.failed.join('\n')}`);
    for (const stream of [first, second, followerFirst, followerSecond]) assert.deepEqual(stream.violations, []);
    assert.equal(second.frames.find((f) => f.event === 'resync_required'), undefined);
    assert.equal(second.committed[0]?.id, droppedAt + 1, 'the replay starts right after the last id seen');
    const combined = [...first.committed, ...second.committed];
    assert.equal(combined[0]?.id, start.eventId + 1);
    assertIdsIncrease(combined, true, 'dropped + resumed stream');
    assert.equal(combined.at(-1)?.id, final.eventId);
    assert.deepEqual(comparable(fold(start, combined)), comparable(final));

    // The filtered pair: ids increase across the reconnection, and the fold gives the same view
    // (its eventId is that of the last discovery event, which may be below the snapshot's).
    const followerCombined = [...followerFirst.committed, ...followerSecond.committed];
    assertIdsIncrease(followerCombined, false, 'filtered dropped + resumed stream');
    assert.ok((followerSecond.committed[0]?.id ?? 0) > followerDroppedAt);
    await waitFor('the filtered stream to catch up', () => {
      const folded = comparable(fold(start, [...followerFirst.committed, ...followerSecond.committed]));
      const wanted = comparable(final);
      return JSON.stringify([folded.apps, folded.tasks]) === JSON.stringify([wanted.apps, wanted.tasks]) ? true : undefined;
    }, 10_000);
  } finally {
    await churn.stop();
  }
});
