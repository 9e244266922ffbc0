import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyState } from '../../src/scheduler/core/state-ops.ts';
import { EventBus } from '../../src/scheduler/event-bus.ts';
import { SchedulerState } from '../../src/scheduler/state.ts';
import type { CommitRecord, StateStore } from '../../src/scheduler/store/state-store.ts';
import type { CompletedTask } from '../../src/scheduler/core/completed-tasks.ts';
import type { ClusterState, StateOp } from '../../src/scheduler/types.ts';
import { NOW, app, instance, state as fixtureState } from '../support/scheduler-fixtures.ts';

/** A store that holds appends until told, to see what the state does meanwhile. */
class HeldStore implements StateStore {
  readonly appends: CommitRecord[][] = [];
  #release: Array<(err?: Error) => void> = [];
  async load() {
    return { state: emptyState(), revision: 0, lastEventId: 0, history: [], recovery: { skippedSnapshots: [], removedLeftovers: [] } };
  }
  append(records: readonly CommitRecord[], _after: ClusterState, expectedRevision: number): Promise<number> {
    this.appends.push([...records]);
    return new Promise((resolve, reject) => this.#release.push((err) => (err ? reject(err) : resolve(expectedRevision + records.length))));
  }
  release(err?: Error): void {
    this.#release.shift()?.(err);
  }
  async close() {}
}

const put = (key: string) => (s: ClusterState) => ({
  ops: [{ op: 'put' as const, coll: 'meta' as const, key, value: s.meta.size }],
  events: [{ eventType: 'app_terminated_event' as const, timestamp: 't', appId: `/${key}` }],
  result: key,
});

test('transactions queued during a write go out together, each computed on the state the previous ones leave', async () => {
  const store = new HeldStore();
  const bus = new EventBus([], 0);
  const state = new SchedulerState(store, bus, emptyState(), 0);
  const first = state.transact(put('a'));
  const second = state.transact(put('b'));
  const third = state.transact(put('c'));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(store.appends.length, 1, 'the first write is on its way');
  assert.equal(state.current.meta.size, 0, 'nothing is applied before it is durable');
  store.release();
  assert.equal(await first, 'a');
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(store.appends[1]?.map((r) => r.events.map((e) => e.eventId)), [[2], [3]], 'b and c in one write, ids in order');
  store.release();
  assert.deepEqual([await second, await third], ['b', 'c']);
  assert.deepEqual([...state.current.meta], [['a', 0], ['b', 1], ['c', 2]]);
  assert.equal(bus.lastEventId, 3);
});

test('a failed write rejects its transactions and changes nothing; later ones go on', async () => {
  const store = new HeldStore();
  const bus = new EventBus([], 0);
  const state = new SchedulerState(store, bus, emptyState(), 0);
  const failing = state.transact(put('a'));
  await new Promise((resolve) => setImmediate(resolve));
  store.release(new Error('disk full'));
  await assert.rejects(failing, /disk full/);
  assert.deepEqual([state.current.meta.size, bus.lastEventId], [0, 0]);
  const next = state.transact(put('b'));
  await new Promise((resolve) => setImmediate(resolve));
  store.release();
  assert.equal(await next, 'b');
  assert.equal(bus.lastEventId, 1, 'ids of the failed write were not used up');
});

test('onEnded: an instance a commit deletes with a terminal status is handed over as it was, in its end state', async () => {
  const store = new HeldStore();
  const bus = new EventBus([], 0);
  const web = app({ id: '/web' });
  const running = instance('web.1', web, 'S1', { startedAt: NOW });
  const state = new SchedulerState(store, bus, fixtureState({ apps: [web], instances: [running] }), 0);
  const ended: CompletedTask[][] = [];
  state.onEnded((tasks) => ended.push([...tasks]));
  const status = (taskStatus: 'TASK_RUNNING' | 'TASK_KILLED') => ({
    eventType: 'status_update_event' as const, timestamp: '2026-01-01T00:00:09.000Z', slaveId: 'S1', taskId: 'web.1', taskStatus, message: 'killed', appId: '/web', host: 'S1', ipAddresses: [], ports: [], version: NOW,
  });
  const write = (ops: StateOp[], taskStatus: 'TASK_RUNNING' | 'TASK_KILLED') => {
    const done = state.transact(() => ({ ops, events: [status(taskStatus)], result: undefined }));
    return new Promise((resolve) => setImmediate(resolve)).then(() => store.release()).then(() => done);
  };
  await write([], 'TASK_RUNNING');
  assert.deepEqual(ended, [], 'a running update ends nothing');
  await write([{ op: 'del', coll: 'instances', key: 'web.1' }], 'TASK_KILLED');
  assert.deepEqual(ended, [[{ instance: { ...running, state: 'TASK_KILLED', message: 'killed' }, endedAt: '2026-01-01T00:00:09.000Z' }]]);
  assert.equal(state.current.instances.has('web.1'), false, 'the store keeps no terminal instance');
});
