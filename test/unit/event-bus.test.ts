import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventRecord } from '../../src/events/types.ts';
import { EventBus } from '../../src/scheduler/event-bus.ts';

const rec = (eventId: number, eventType: 'app_terminated_event' | 'deployment_info' = 'app_terminated_event'): EventRecord => ({
  eventId,
  event: eventType === 'app_terminated_event'
    ? { eventType, timestamp: 't', appId: `/a${eventId}` }
    : { eventType, timestamp: 't', plan: { id: 'd', version: 'v', steps: [] }, currentStep: { actions: [] } },
});

test('event bus: replay, filter and resync', async (t) => {
  const bus = new EventBus([rec(3), rec(4, 'deployment_info'), rec(5)], 5, 10);
  const cases: Array<{ name: string; from: number; types?: string[]; expect: number[] | 'resync' }> = [
    { name: 'everything after an id', from: 3, expect: [4, 5] },
    { name: 'up to date', from: 5, expect: [] },
    { name: 'from the future (other state): resync', from: 9, expect: 'resync' },
    { name: 'exactly the oldest kept', from: 2, expect: [3, 4, 5] },
    { name: 'history lost', from: 1, expect: 'resync' },
    { name: 'filtered by type', from: 2, types: ['deployment_info'], expect: [4] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const frames = bus.since(c.from, c.types === undefined ? undefined : new Set(c.types as never));
      assert.deepEqual(frames === 'resync' ? frames : frames.map((f) => Number(/^id: (\d+)/.exec(f)?.[1])), c.expect);
    });
  }
});

test('event bus: subscribers get each frame once, filtered, with its id, one write per publish', () => {
  const bus = new EventBus([], 0, 2);
  const all: string[] = [];
  const some: string[] = [];
  bus.subscribe({ types: undefined, send: (f) => all.push(f) });
  const unsubscribe = bus.subscribe({ types: new Set(['deployment_info']), send: (f) => some.push(f) });
  bus.publish([rec(1), rec(2, 'deployment_info')]);
  unsubscribe();
  bus.publish([rec(3, 'deployment_info'), rec(4), rec(5)]);
  bus.publish([rec(6)]);
  assert.equal(all.length, 3, 'one send per publish');
  assert.deepEqual(all.join('').match(/^id: \d+$/gm), ['id: 1', 'id: 2', 'id: 3', 'id: 4', 'id: 5', 'id: 6']);
  assert.equal(some.length, 1);
  assert.match(some[0] ?? '', /^id: 2\nevent: deployment_info\ndata: \{.*\}\n\n$/);
  assert.equal(bus.since(0, undefined), 'resync', 'a history of 2 no longer reaches event 1');
});

test('event bus: a subscriber with accepts gets only what it accepts, live, replayed and broadcast, ids global', () => {
  const bus = new EventBus([rec(1), rec(2)], 2, 10);
  const accepts = (e: { eventType: string; appId?: string }): boolean => e.appId === '/a2' || e.appId === '/a4';
  assert.deepEqual((bus.since(0, undefined, accepts) as string[]).map((f) => /^id: (\d+)/.exec(f)?.[1]), ['2']);
  const got: string[] = [];
  bus.subscribe({ types: undefined, accepts, send: (f) => got.push(f) });
  bus.publish([rec(3)]);
  bus.publish([rec(4), rec(5)]);
  bus.broadcast({ eventType: 'event_stream_attached', timestamp: 't', remoteAddress: '127.0.0.1' });
  assert.deepEqual(got.join('').match(/^id: \d+$/gm), ['id: 4'], 'nothing sent for a batch it may not see');
  assert.equal(got.length, 1);
});
