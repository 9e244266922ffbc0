import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyOps, emptyState, StateDraft } from '../../src/scheduler/core/state-ops.ts';
import { FileStore } from '../../src/scheduler/store/file-store.ts';
import type { StateOp } from '../../src/scheduler/types.ts';
import type { CommitRecord } from '../../src/scheduler/store/state-store.ts';
import { appendRange, loadOnce, logLines, record, segments, silentLogger, snapshots, withDir, writeRecords } from '../support/file-store-fixtures.ts';

const logger = silentLogger;

test('file store: a torn tail is cut off and earlier records survive', async (t) => {
  const tails: Record<string, string> = {
    'half a line': '0badc0de {"ops":[{"op":"put","coll":"meta","key":"x"',
    'bad checksum': '00000000 {"ops":[],"events":[]}\n',
    'garbage bytes': '\u0000\u0000\u0000\u0000',
  };
  for (const [name, tail] of Object.entries(tails)) {
    await t.test(name, () =>
      withDir(async (dir) => {
        await writeRecords(dir, 3);
        appendFileSync(join(dir, 'state.log'), tail);
        const store = new FileStore({ dir, logger });
        const loaded = await store.load();
        assert.equal(loaded.state.meta.size, 3);
        // Later appends land after the good records, not behind the garbage.
        await store.append([record(4)], applyOps(loaded.state, record(4).ops), loaded.revision);
        await store.close();
        const again = await loadOnce(dir);
        assert.equal(again.state.meta.size, 4);
      }));
  }
});

test('file store: compaction keeps state, event ids and history; the log holds only what the snapshot does not', () =>
  withDir(async (dir) => {
    const store = new FileStore({ dir, logger, compactEvery: 3, logToSnapshot: 1 });
    await appendRange(store, await store.load(), 1, 7);
    // close() waits for a snapshot still being written.
    await store.close();
    const seqs = snapshots(dir).map((name) => Number(name.split('.')[2])).sort((a, b) => a - b);
    // How many compactions ran depends on how fast each background snapshot landed: one or more.
    assert.ok(seqs.length === 1 || seqs.length === 2, `at most two snapshots kept: ${snapshots(dir).join()}`);
    assert.equal(logLines(dir), 7 - seqs.at(-1)!, 'the log restarted after the last snapshot');
    const olderKept = seqs.length === 2 ? seqs[0]! : 0;
    assert.ok(segments(dir).every((name) => Number(name.split('.')[2]) > olderKept), `only the logs since the older snapshot are kept (for a fallback): ${segments(dir).join()}`);
    const loaded = await loadOnce(dir);
    assert.equal(loaded.state.meta.size, 7);
    assert.equal(loaded.lastEventId, 7);
    assert.deepEqual(loaded.history.map((e) => e.eventId), [1, 2, 3, 4, 5, 6, 7]);
  }));

test('file store: records appended while a snapshot is written go to the new log and are all kept', () =>
  withDir(async (dir) => {
    const store = new FileStore({ dir, logger, compactEvery: 1, logToSnapshot: 1 });
    const loaded = await store.load();
    // A state large enough that its snapshot takes many writes.
    const big: StateOp[] = Array.from({ length: 20_000 }, (_, i) => ({ op: 'put', coll: 'meta', key: `big${i}`, value: 'x'.repeat(50) }));
    const state = applyOps(loaded.state, big);
    const revision = await store.append([{ ops: big, events: [] }], state, loaded.revision);
    assert.equal(logLines(dir), 0, 'the log is set aside at once');
    await appendRange(store, { state, revision }, 1, 5);
    await store.close();
    const again = await loadOnce(dir);
    assert.equal(again.state.meta.size, 20_005);
    assert.deepEqual(again.history.map((e) => e.eventId), [1, 2, 3, 4, 5]);
  }));

test('file store: a log set aside for a snapshot that never landed (a crash) is replayed; the half-written snapshot is removed', () =>
  withDir(async (dir) => {
    await writeRecords(dir, 3);
    // What a crash while the snapshot was being written leaves: the set-aside log and a new one.
    renameSync(join(dir, 'state.log'), join(dir, 'state.log.3'));
    writeFileSync(join(dir, 'state.snapshot.tmp'), '{"seq":3,"sta');
    const store = new FileStore({ dir, logger });
    const loaded = await store.load();
    assert.deepEqual([loaded.revision, loaded.state.meta.size], [3, 3]);
    assert.deepEqual(loaded.recovery.removedLeftovers, ['state.snapshot.tmp']);
    await appendRange(store, loaded, 4, 5);
    await store.close();
    const reopened = new FileStore({ dir, logger, compactEvery: 1, logToSnapshot: 1 });
    const again = await reopened.load();
    assert.deepEqual([again.revision, again.state.meta.size], [5, 5]);
    await appendRange(reopened, again, 6, 6);
    await reopened.close();
    assert.deepEqual(snapshots(dir), ['state.snapshot.6.json']);
    // With one snapshot, every log since the start stays: a bad snapshot can still be rebuilt from them.
    assert.deepEqual(segments(dir), ['state.log.3', 'state.log.6']);
    const last = await loadOnce(dir);
    assert.deepEqual(last.history.map((e) => e.eventId), [1, 2, 3, 4, 5, 6]);
  }));

test('file store: an empty directory loads as empty state', () =>
  withDir(async (dir) => {
    writeFileSync(join(dir, 'state.log'), '');
    const loaded = await loadOnce(dir);
    assert.deepEqual(loaded.state, emptyState());
    assert.equal(loaded.lastEventId, 0);
  }));

test('file store: records a snapshot already holds are not replayed (crash between snapshot and log truncation)', () =>
  withDir(async (dir) => {
    await writeRecords(dir, 3);
    const before = readFileSync(join(dir, 'state.log'), 'utf8');
    const store = new FileStore({ dir, logger, compactEvery: 4 });
    const loaded = await store.load();
    await store.append([record(4)], applyOps(loaded.state, record(4).ops), loaded.revision);
    await store.close();
    assert.equal(readFileSync(join(dir, 'state.log'), 'utf8'), '', 'compacted');
    appendFileSync(join(dir, 'state.log'), before);
    const again = await loadOnce(dir);
    assert.deepEqual(again.history.map((e) => e.eventId), [1, 2, 3, 4]);
    assert.equal(again.state.meta.size, 4);
  }));

test('file store: a failing compaction does not fail a durable write', () =>
  withDir(async (dir) => {
    const store = new FileStore({ dir, logger, compactEvery: 1 });
    const loaded = await store.load();
    // Start-up removes leftovers, so the obstacle comes after it.
    mkdirSync(join(dir, 'state.snapshot.tmp'));
    await store.append([record(1)], applyOps(loaded.state, record(1).ops), loaded.revision);
    await store.close();
    rmSync(join(dir, 'state.snapshot.tmp'), { recursive: true });
    const again = await loadOnce(dir);
    assert.equal(again.state.meta.size, 1);
  }));

for (const kind of ['commit', 'scratch'] as const) {
  test(`a ${kind} state draft copies each collection once and never touches the state it started from`, () => {
    const base = applyOps(emptyState(), [{ op: 'put', coll: 'meta', key: 'a', value: 1 }]);
    const draft = new StateDraft(base, kind);
    draft.apply([{ op: 'put', coll: 'meta', key: 'b', value: 2 }]);
    const afterFirst = draft.state.meta;
    draft.apply([{ op: 'del', coll: 'meta', key: 'a' }, { op: 'put', coll: 'taskFailures', key: '/x', value: { appId: '/x' } as never }]);
    assert.equal(draft.state.meta, afterFirst, 'copied once, then changed in place');
    assert.deepEqual([...draft.state.meta], [['b', 2]]);
    assert.deepEqual([...base.meta], [['a', 1]]);
    assert.equal(base.taskFailures.size, 0);
  });
}

test('file store: records appended together (group commit) take one revision each', () =>
  withDir(async (dir) => {
    const store = new FileStore({ dir, logger });
    const { state, revision } = await store.load();
    assert.equal(await store.append([record(1), record(2), record(3)], applyOps(state, [...record(1).ops, ...record(2).ops, ...record(3).ops]), revision), revision + 3);
    await store.close();
    assert.equal((await loadOnce(dir)).revision, revision + 3);
  }));

test('file store: a large state is compacted only once the log has grown to three times its snapshot', () =>
  withDir(async (dir) => {
    const store = new FileStore({ dir, logger, compactEvery: 1 });
    let { state, revision } = await store.load();
    // A big state in one record: its snapshot is far larger than the small records that follow.
    const big: CommitRecord = { ops: [{ op: 'put', coll: 'meta', key: 'big', value: 'x'.repeat(100_000) }], events: [] };
    state = applyOps(state, big.ops);
    revision = await store.append([big], state, revision);
    assert.equal(readFileSync(join(dir, 'state.log'), 'utf8'), '', 'the first record is compacted at once');
    for (let n = 1; n <= 20; n += 1) {
      state = applyOps(state, record(n).ops);
      revision = await store.append([record(n)], state, revision);
    }
    assert.equal(readFileSync(join(dir, 'state.log'), 'utf8').split('\n').filter((l) => l !== '').length, 20, 'small records wait in the log');
    const large = (key: string, size: number): CommitRecord => ({ ops: [{ op: 'put', coll: 'meta', key, value: 'y'.repeat(size) }], events: [] });
    for (const [key, size] of [['large1', 100_000], ['large2', 100_000]] as const) {
      state = applyOps(state, large(key, size).ops);
      revision = await store.append([large(key, size)], state, revision);
    }
    assert.equal(readFileSync(join(dir, 'state.log'), 'utf8').split('\n').filter((l) => l !== '').length, 22, 'twice the snapshot: still in the log');
    state = applyOps(state, large('large3', 150_000).ops);
    revision = await store.append([large('large3', 150_000)], state, revision);
    assert.equal(readFileSync(join(dir, 'state.log'), 'utf8'), '', 'three times the snapshot: compacted');
    await store.close();
    const again = await loadOnce(dir);
    assert.deepEqual([again.revision, again.state.meta.size], [24, 24]);
  }));
