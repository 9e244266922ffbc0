import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOps, emptyState } from '../../../src/scheduler/core/state-ops.ts';
import { ERR_STORE_LOCKED } from '../../../src/scheduler/store/errors.ts';
import { RevisionConflict, type StateStore } from '../../../src/scheduler/store/state-store.ts';
import type { ClusterState, StateOp } from '../../../src/scheduler/types.ts';
import { record } from '../file-store-fixtures.ts';

/** Where an implementation keeps state (a directory, an etcd key prefix), new and empty for each test. */
export interface StorePlace {
  /** Opens a store on the place; several may be open on it at once. */
  open(): StateStore;
  remove(): Promise<void>;
}

const keys = (state: ClusterState): string[] => [...state.meta.keys()].sort();

/**
 * What every StateStore must do, whatever keeps the state (see src/scheduler/README.md):
 * registers node:test tests that each run on a new place from `newPlace`.
 */
export function stateStoreContract(name: string, newPlace: () => Promise<StorePlace>): void {
  const onPlace = (title: string, run: (place: StorePlace) => Promise<void>): void => {
    test(`state store contract (${name}): ${title}`, async () => {
      const place = await newPlace();
      try {
        await run(place);
      } finally {
        await place.remove();
      }
    });
  };

  /** Opens, loads, runs, closes: the store is closed even when the run fails. */
  const withStore = async <T>(place: StorePlace, run: (store: StateStore, loaded: Awaited<ReturnType<StateStore['load']>>) => Promise<T>): Promise<T> => {
    const store = place.open();
    const loaded = await store.load();
    try {
      return await run(store, loaded);
    } finally {
      await store.close();
    }
  };

  onPlace('a new place loads as empty state, with a recovery report', async (place) => {
    await withStore(place, async (_store, loaded) => {
      assert.deepEqual(loaded.state, emptyState());
      assert.deepEqual([loaded.revision, loaded.lastEventId, loaded.history], [0, 0, []]);
      assert.deepEqual([loaded.recovery.skippedSnapshots, loaded.recovery.removedLeftovers], [[], []]);
    });
  });

  onPlace('records appended one at a time are all there after reopening: state, revision, last event id, history', async (place) => {
    const last = await withStore(place, async (store, loaded) => {
      let { state, revision } = loaded;
      for (let n = 1; n <= 5; n += 1) {
        state = applyOps(state, record(n).ops);
        const next = await store.append([record(n)], state, revision);
        assert.ok(next > revision, `the revision grows: ${revision} then ${next}`);
        revision = next;
      }
      return revision;
    });
    await withStore(place, async (_store, loaded) => {
      assert.deepEqual(keys(loaded.state), ['k1', 'k2', 'k3', 'k4', 'k5']);
      assert.equal(loaded.revision, last);
      assert.equal(loaded.lastEventId, 5);
      assert.deepEqual(loaded.history.map((e) => e.eventId), [1, 2, 3, 4, 5]);
      assert.ok(loaded.recovery !== undefined);
    });
  });

  onPlace('records appended together (group commit) are all there after reopening, in order', async (place) => {
    const records = [record(1), record(2), record(3)];
    const revision = await withStore(place, (store, loaded) => store.append(records, applyOps(loaded.state, records.flatMap((r) => r.ops)), loaded.revision));
    await withStore(place, async (_store, loaded) => {
      assert.equal(loaded.revision, revision);
      assert.deepEqual(loaded.history.map((e) => e.eventId), [1, 2, 3]);
      assert.deepEqual(keys(loaded.state), ['k1', 'k2', 'k3']);
    });
  });

  onPlace('puts, deletes and records without events survive reopening', async (place) => {
    const ops: StateOp[] = [
      { op: 'put', coll: 'meta', key: 'gone', value: 1 },
      { op: 'put', coll: 'meta', key: 'kept', value: { nested: ['x'] } },
      { op: 'put', coll: 'taskFailures', key: '/web', value: { appId: '/web', taskId: 'web.1', host: 'h', slaveId: 'S0', state: 'TASK_FAILED', message: 'm', timestamp: 't', version: 'v' } },
    ];
    await withStore(place, async (store, loaded) => {
      let state = applyOps(loaded.state, ops);
      let revision = await store.append([{ ops, events: [] }], state, loaded.revision);
      const del: StateOp[] = [{ op: 'del', coll: 'meta', key: 'gone' }];
      state = applyOps(state, del);
      revision = await store.append([{ ops: del, events: [] }], state, revision);
      await store.append([{ ops: [], events: record(7).events }], state, revision);
    });
    await withStore(place, async (_store, loaded) => {
      assert.deepEqual([...loaded.state.meta], [['kept', { nested: ['x'] }]]);
      assert.equal(loaded.state.taskFailures.get('/web')?.taskId, 'web.1');
      assert.deepEqual([loaded.lastEventId, loaded.history.map((e) => e.eventId)], [7, [7]]);
    });
  });

  onPlace('an append from a stale revision is refused with RevisionConflict and writes nothing', async (place) => {
    await withStore(place, async (store, loaded) => {
      const state = applyOps(loaded.state, record(1).ops);
      const revision = await store.append([record(1)], state, loaded.revision);
      await assert.rejects(store.append([record(2)], applyOps(state, record(2).ops), loaded.revision), RevisionConflict);
      // The store stays usable at the revision it is at.
      await store.append([record(3)], applyOps(state, record(3).ops), revision);
    });
    await withStore(place, async (_store, loaded) => {
      assert.deepEqual(keys(loaded.state), ['k1', 'k3']);
      assert.deepEqual(loaded.history.map((e) => e.eventId), [1, 3]);
    });
  });

  onPlace('a second store on a place in use is refused, and the first keeps writing; close lets the next one in', async (place) => {
    const first = place.open();
    const loaded = await first.load();
    const second = place.open();
    try {
      await assert.rejects(second.load(), (err: unknown) => (err as { code?: unknown }).code === ERR_STORE_LOCKED);
      await first.append([record(1)], applyOps(loaded.state, record(1).ops), loaded.revision);
    } finally {
      await first.close();
      await second.close();
    }
    await withStore(place, async (_store, again) => assert.deepEqual(keys(again.state), ['k1']));
  });
}
