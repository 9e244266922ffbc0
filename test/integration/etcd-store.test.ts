import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { applyOps } from '../../src/scheduler/core/state-ops.ts';
import type { EtcdFollower } from '../../src/scheduler/store/etcd-follower.ts';
import { EtcdStore, type EtcdStoreOptions } from '../../src/scheduler/store/etcd-store.ts';
import { EtcdClient, EtcdWatchError } from '../../src/scheduler/store/etcd/etcd-client.ts';
import { RevisionConflict } from '../../src/scheduler/store/state-store.ts';
import type { StateOp } from '../../src/scheduler/types.ts';
import { stateStoreContract, type StorePlace } from '../support/contracts/state-store-contract.ts';
import { startEtcd, type EtcdServer } from '../support/etcd.ts';
import { record, silentLogger } from '../support/file-store-fixtures.ts';
import { waitFor } from '../support/wait.ts';

/** One real etcd for the file; each test gets a key prefix of its own. */
let etcd: Promise<EtcdServer> | undefined;
const server = (): Promise<EtcdServer> => (etcd ??= startEtcd());
after(async () => {
  await (await etcd)?.stop();
});

let places = 0;
function etcdPlace(options: Partial<EtcdStoreOptions> = {}): () => Promise<StorePlace & { prefix: string }> {
  return async () => {
    const { url } = await server();
    const prefix = `/corral-test-${process.pid}-${places += 1}`;
    return {
      prefix,
      open: () => new EtcdStore({ endpoints: [url], prefix, logger: silentLogger, ...options }),
      remove: async () => {
        const client = new EtcdClient([url]);
        await client.txn([], [{ deleteRange: { key: `${prefix}/`, end: `${prefix}0` } }]).finally(() => client.close());
      },
    };
  };
}

stateStoreContract('etcd store', etcdPlace());
// The same promises hold while every append starts a snapshot in the background.
stateStoreContract('etcd store compacting at every append', etcdPlace({ compactEvery: 1, logToSnapshot: 0 }));

/** `count` puts of about `bytes` each on meta keys `big<n>`. */
const bigOps = (count: number, bytes: number): StateOp[] =>
  Array.from({ length: count }, (_, n) => ({ op: 'put', coll: 'meta', key: `big${n}`, value: 'x'.repeat(bytes) }));

async function keysUnder(url: string, prefix: string): Promise<string[]> {
  const client = new EtcdClient([url]);
  try {
    const { kvs } = await client.range(`${prefix}/`, { end: `${prefix}0`, keysOnly: true });
    return kvs.map((kv) => kv.key.slice(prefix.length));
  } finally {
    await client.close();
  }
}

test('etcd store: a commit of thousands of ops (> 1.5 MiB, past etcd\'s request limit) is written whole and loads back', async () => {
  const place = await etcdPlace()();
  const ops = bigOps(5000, 400);
  const store = place.open();
  const loaded = await store.load();
  const state = applyOps(loaded.state, ops);
  const revision = await store.append([{ ops, events: record(1).events }], state, loaded.revision);
  await store.close();
  const again = place.open();
  const reloaded = await again.load();
  await again.close();
  assert.equal(reloaded.revision, revision);
  assert.equal(reloaded.state.meta.size, 5000);
  assert.equal(reloaded.state.meta.get('big4999'), 'x'.repeat(400));
  assert.deepEqual(reloaded.history.map((e) => e.eventId), [1]);
});

test('etcd store: a large commit whose compare-and-set fails (another writer moved the head) is a RevisionConflict and leaves no parts behind', async () => {
  const place = await etcdPlace()();
  const { url } = await server();
  const store = place.open();
  const loaded = await store.load();
  const revision = await store.append([record(1)], applyOps(loaded.state, record(1).ops), loaded.revision);
  const client = new EtcdClient([url]);
  try {
    await client.txn([], [{ put: { key: `${place.prefix}/head`, value: '7' } }]);
    const ops = bigOps(3000, 800);
    await assert.rejects(store.append([{ ops, events: [] }], applyOps(loaded.state, ops), revision), (err: unknown) => err instanceof RevisionConflict && /revision 7, not 1/.test(err.message));
    assert.deepEqual((await keysUnder(url, place.prefix)).sort(), ['/head', '/lock', `/log/${'1'.padStart(16, '0')}`]);
  } finally {
    await client.close();
    await store.close();
  }
});

test('etcd store: a snapshot replaces the log entries and parts it holds, and the state loads from it', async () => {
  const place = await etcdPlace({ compactEvery: 3, logToSnapshot: 0 })();
  const { url } = await server();
  const store = place.open();
  let { state, revision } = await store.load();
  for (let n = 1; n <= 4; n += 1) {
    state = applyOps(state, record(n).ops);
    revision = await store.append([record(n)], state, revision);
  }
  await store.close();
  const keys = await keysUnder(url, place.prefix);
  assert.deepEqual(keys.filter((key) => !key.startsWith('/parts/')).sort(), ['/head', `/log/${'4'.padStart(16, '0')}`, '/snapshot']);
  assert.ok(keys.every((key) => !key.startsWith('/parts/') || key.includes('~snap-')), keys.join(' '));
  const again = place.open();
  const loaded = await again.load();
  await again.close();
  assert.deepEqual([loaded.revision, [...loaded.state.meta.keys()].sort(), loaded.history.map((e) => e.eventId)], [4, ['k1', 'k2', 'k3', 'k4'], [1, 2, 3, 4]]);
});

test('etcd store: the hold is renewed, so a store keeps writing long past its lease TTL', async () => {
  const place = await etcdPlace({ lockTtlSeconds: 1 })();
  const store = place.open();
  let { state, revision } = await store.load();
  try {
    const until = Date.now() + 3000;
    for (let n = 1; Date.now() < until; n += 1) {
      state = applyOps(state, record(n).ops);
      revision = await store.append([record(n)], state, revision);
    }
  } finally {
    await store.close();
  }
  assert.ok(revision >= 10, `${revision} appends`);
});

/** A fresh place on the test etcd holding one committed record (seq 1), closed again. */
async function placeWithOneRecord(): Promise<{ place: Awaited<ReturnType<ReturnType<typeof etcdPlace>>>; url: string }> {
  const place = await etcdPlace()();
  const { url } = await server();
  const store = place.open();
  const loaded = await store.load();
  await store.append([record(1)], applyOps(loaded.state, record(1).ops), loaded.revision);
  await store.close();
  return { place, url };
}

test('etcd store: parts a killed writer left (no log entry names them) are deleted at the next load and reported', async () => {
  const { place, url } = await placeWithOneRecord();
  const client = new EtcdClient([url]);
  const orphan = `${place.prefix}/parts/${'2'.padStart(16, '0')}-dead/`;
  try {
    await client.txn([], [{ put: { key: `${orphan}000000`, value: '[{"seq":2' } }, { put: { key: `${orphan}000001`, value: ',"ops":[]}]' } }]);
    const again = place.open();
    const reloaded = await again.load();
    await again.close();
    assert.deepEqual(reloaded.recovery.removedLeftovers, [orphan]);
    assert.deepEqual([reloaded.revision, [...reloaded.state.meta.keys()]], [1, ['k1']]);
    assert.deepEqual((await keysUnder(url, place.prefix)).filter((key) => key.startsWith('/parts/')), []);
  } finally {
    await client.close();
  }
});

test('etcd store: a head the log does not reach stops the load (ERR_STORE_DAMAGED), nothing changed', async () => {
  const { place, url } = await placeWithOneRecord();
  const client = new EtcdClient([url]);
  try {
    await client.txn([], [{ put: { key: `${place.prefix}/head`, value: '3' } }]);
    await assert.rejects(place.open().load(), (err: Error & { code?: string }) => err.code === 'ERR_STORE_DAMAGED' && /head says seq 3 but its snapshot and log end at 1/.test(err.message));
    const { kvs } = await client.range(`${place.prefix}/head`);
    assert.equal(kvs[0]?.value.toString(), '3');
  } finally {
    await client.close();
  }
});

test('etcd client: watch from a revision sees every later change in order, ends on abort, and names compacted history', async () => {
  const { url } = await server();
  const client = new EtcdClient([url]);
  const prefix = `/corral-watch-${process.pid}`;
  try {
    const first = await client.txn([], [{ put: { key: `${prefix}/a`, value: '1' } }]);
    await client.txn([], [{ put: { key: `${prefix}/b`, value: '2' } }]);
    await client.txn([], [{ deleteRange: { key: `${prefix}/a` } }]);
    const abort = new AbortController();
    const seen: string[] = [];
    for await (const batch of client.watch(`${prefix}/`, { end: `${prefix}0`, startRevision: first.revision, signal: abort.signal })) {
      for (const event of batch.events) seen.push(`${event.type} ${event.kv.key.slice(prefix.length)} ${event.kv.value.toString()}`);
      if (seen.length === 3) abort.abort();
    }
    assert.deepEqual(seen, ['PUT /a 1', 'PUT /b 2', 'DELETE /a ']);
    const last = await client.txn([], [{ put: { key: `${prefix}/c`, value: '3' } }]);
    await client.compact(last.revision);
    const watching = client.watch(`${prefix}/`, { end: `${prefix}0`, startRevision: first.revision, signal: new AbortController().signal });
    await assert.rejects(watching.next(), (err: EtcdWatchError) => err instanceof EtcdWatchError && err.compactRevision === last.revision);
  } finally {
    await client.close();
  }
});

test('etcd store, watch from a revision: a follower started at any revision sees every later commit (large ones in parts too), in order, and ends equal to a fresh load', async () => {
  const place = await etcdPlace({ compactEvery: 4, logToSnapshot: 0 })();
  const { url } = await server();
  const client = new EtcdClient([url]);
  const store = place.open() as EtcdStore;
  const followers: Array<{ follower: EtcdFollower; followed: Promise<void> }> = [];
  const abort = new AbortController();
  try {
    let { state, revision } = await store.load();
    for (let n = 1; n <= 8; n += 1) {
      if (n % 2 === 1) {
        const follower = store.follower(client);
        await follower.read();
        followers.push({ follower, followed: follower.follow(abort.signal, () => undefined) });
      }
      // Every third commit is past the inline limit: in parts.
      const ops = n % 3 === 0 ? [...record(n).ops, ...bigOps(800, 400)] : record(n).ops;
      state = applyOps(state, ops);
      revision = await store.append([{ ops, events: record(n).events }], state, revision);
    }
    await waitFor('every follower to reach the last commit', () => (followers.every(({ follower }) => follower.seq === revision) ? true : undefined), 10_000);
    abort.abort();
    await Promise.all(followers.map(({ followed }) => followed));
    await store.close();
    const fresh = place.open();
    const loaded = await fresh.load();
    await fresh.close();
    for (const [index, { follower }] of followers.entries()) {
      assert.equal(follower.seq, loaded.revision, `follower ${index}`);
      assert.equal(follower.lastEventId, loaded.lastEventId);
      assert.deepEqual(follower.history.map((e) => e.eventId), loaded.history.map((e) => e.eventId));
      assert.deepEqual([...follower.state.meta.entries()].sort(), [...loaded.state.meta.entries()].sort(), `follower ${index}'s state`);
    }
  } finally {
    abort.abort();
    await store.close();
    await client.close();
  }
});

test('etcd store, taking over from a follower: only the log after its seq is read; a snapshot that dropped part of it, or compacted history, means reading everything again', async () => {
  const place = await etcdPlace({ compactEvery: 3, logToSnapshot: 0 })();
  const { url } = await server();
  const client = new EtcdClient([url]);
  const store = place.open() as EtcdStore;
  try {
    let { state, revision } = await store.load();
    const commit = async (n: number): Promise<void> => {
      state = applyOps(state, record(n).ops);
      revision = await store.append([record(n)], state, revision);
    };
    await commit(1);
    const behind = store.follower(client);
    await behind.read();
    await commit(2);
    const close = store.follower(client);
    await close.read();
    await commit(3);
    await commit(4);
    // The snapshot after the third record (in the background) drops log entries 1-3: wait for it.
    await waitFor('the snapshot to replace log entries 1-3', async () => ((await keysUnder(url, place.prefix)).includes('/snapshot') ? true : undefined));
    assert.equal(await close.catchUp(), -1, 'seq 3 is gone from the log: read everything');
    assert.deepEqual([close.seq, [...close.state.meta.keys()].sort()], [4, ['k1', 'k2', 'k3', 'k4']]);
    const fresh = store.follower(client);
    await fresh.read();
    await commit(5);
    await commit(6);
    assert.equal(await fresh.catchUp(), 2, 'only the two entries after its seq');
    assert.equal(await behind.catchUp(), -1);
    for (const follower of [fresh, behind]) assert.deepEqual([follower.seq, [...follower.state.meta.keys()].sort(), follower.lastEventId], [6, ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'], 6]);

    // Following from a revision etcd compacted away fails with the compaction named, and a re-read is whole again.
    const stale = store.follower(client);
    await stale.read();
    await commit(7);
    await commit(8);
    const last = await client.range(`${place.prefix}/head`);
    await client.compact(last.revision);
    await assert.rejects(stale.follow(new AbortController().signal, () => undefined), (err: EtcdWatchError) => err instanceof EtcdWatchError && err.compactRevision === last.revision);
    await stale.read();
    assert.equal(stale.seq, 8);
  } finally {
    await store.close();
    await client.close();
  }
});

test('etcd client: a watch whose etcd dies ends with an EtcdWatchError (the caller re-reads)', async () => {
  const own = await startEtcd('etcd-dies');
  const client = new EtcdClient([own.url]);
  try {
    const { revision } = await client.txn([], [{ put: { key: '/dies/a', value: '1' } }]);
    const watching = (async () => {
      for await (const batch of client.watch('/dies/', { end: '/dies0', startRevision: revision, signal: new AbortController().signal })) {
        if (batch.events.length > 0) await own.stop();
      }
    })();
    await assert.rejects(watching, (err: Error) => err instanceof EtcdWatchError && /broke|closed/.test(err.message));
  } finally {
    await client.close();
    await own.stop();
  }
});
