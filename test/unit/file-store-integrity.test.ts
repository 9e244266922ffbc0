import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileStore } from '../../src/scheduler/store/file-store.ts';
import { StoreDamagedError, StoreLockedError } from '../../src/scheduler/store/errors.ts';
import { appendRange, loadOnce, segments, silentLogger as logger, snapshots, withDir, writeRecords } from '../support/file-store-fixtures.ts';

/** Every file of the data dir with its bytes (to show that nothing was touched). */
function contents(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).filter((name) => name !== 'lock' && !name.startsWith('damaged-')).map((name) => [name, readFileSync(join(dir, name), 'base64')]));
}

/** Changes one byte in the middle of line `index` of a file. */
function flipByteInLine(path: string, index: number): void {
  const lines = readFileSync(path, 'utf8').split('\n');
  const line = lines[index]!;
  const at = Math.floor(line.length / 2);
  lines[index] = line.slice(0, at) + (line[at] === '1' ? '2' : '1') + line.slice(at + 1);
  writeFileSync(path, lines.join('\n'));
}

/** Three snapshots' worth of records: snapshots at 3 and 6 kept, segment state.log.6, live log 7..8. */
async function compactedTwice(dir: string): Promise<void> {
  // Closing waits for the snapshot being written, so each round ends in a known place.
  for (const [from, to, compactEvery] of [[1, 3, 3], [4, 6, 3], [7, 8, 1000]] as const) {
    const store = new FileStore({ dir, logger, compactEvery, logToSnapshot: 0 });
    await appendRange(store, await store.load(), from, to);
    await store.close();
  }
}

test('file store: a second store on a held data dir is refused and names the holder; the lock goes with close', () =>
  withDir(async (dir) => {
    const first = new FileStore({ dir, logger, holder: { listen: '127.0.0.1:8080' } });
    await first.load();
    const second = new FileStore({ dir, logger });
    await assert.rejects(second.load(), (err: unknown) => err instanceof StoreLockedError && err.message.includes(`"pid":${process.pid}`) && err.message.includes('127.0.0.1:8080'));
    await first.close();
    const third = new FileStore({ dir, logger });
    await third.load();
    await third.close();
  }));

test('file store: one changed byte in the middle of the live log stops start-up and touches nothing', () =>
  withDir(async (dir) => {
    await writeRecords(dir, 6);
    flipByteInLine(join(dir, 'state.log'), 2);
    const before = contents(dir);
    await assert.rejects(loadOnce(dir), (err: unknown) =>
      err instanceof StoreDamagedError && /state\.log at byte \d+: checksum mismatch; 3 valid record\(s\) follow it \(seq 4–6\)/.test(err.message) && /--repair/.test(err.message));
    assert.deepEqual(contents(dir), before);
  }));

test('file store: --repair keeps the records before the damage, reports the rest, and saves the files first', () =>
  withDir(async (dir) => {
    await writeRecords(dir, 6);
    flipByteInLine(join(dir, 'state.log'), 2);
    const original = readFileSync(join(dir, 'state.log'));
    const store = new FileStore({ dir, logger, repair: true });
    const loaded = await store.load();
    assert.deepEqual([...loaded.state.meta.keys()], ['k1', 'k2']);
    assert.equal(loaded.lastEventId, 6, 'event ids never go back');
    const repair = loaded.recovery.repair!;
    assert.deepEqual({ ...repair, savedTo: undefined }, {
      file: 'state.log', offset: repair.offset, problem: 'checksum mismatch', keptUpToSeq: 2, droppedRecords: 3, droppedSeqs: [4, 6], droppedFiles: [], savedTo: undefined,
    });
    assert.deepEqual(readFileSync(join(repair.savedTo, 'state.log')), original);
    // The store goes on from the kept records, and loads cleanly afterwards.
    await appendRange(store, loaded, 3, 3);
    await store.close();
    const again = await loadOnce(dir);
    assert.deepEqual([again.revision, again.state.meta.size, again.recovery.repair], [3, 3, undefined]);
  }));

test('file store: a changed byte in a set-aside segment stops start-up instead of replaying later logs over the gap', () =>
  withDir(async (dir) => {
    await compactedTwice(dir);
    assert.deepEqual(segments(dir), ['state.log.6']);
    flipByteInLine(join(dir, 'state.log.6'), 1);
    // The newest snapshot holds the segment: only a fallback would need it. Make it needed.
    writeFileSync(join(dir, 'state.snapshot.6.json'), 'bad');
    const before = contents(dir);
    await assert.rejects(loadOnce(dir), (err: unknown) => err instanceof StoreDamagedError && /state\.log\.6 at byte/.test(err.message));
    // The bad snapshot was set aside (copied into damaged-…), the logs are untouched.
    const after = contents(dir);
    assert.deepEqual(Object.keys(after).sort(), Object.keys(before).filter((name) => name !== 'state.snapshot.6.json').sort());
    assert.equal(after['state.log.6'], before['state.log.6']);
    assert.equal(after['state.log'], before['state.log']);
  }));

test('file store: a snapshot that fails its checksum is set aside; the one before it plus the logs give the same state', async (t) => {
  const damages: Record<string, (path: string) => void> = {
    'a changed byte': (path) => {
      const bytes = readFileSync(path);
      const at = bytes.indexOf('"k5"') + 2;
      bytes[at] = '9'.charCodeAt(0);
      writeFileSync(path, bytes);
    },
    truncated: (path) => writeFileSync(path, readFileSync(path).subarray(0, 40)),
  };
  for (const [name, damage] of Object.entries(damages)) {
    await t.test(name, () =>
      withDir(async (dir) => {
        await compactedTwice(dir);
        assert.deepEqual(snapshots(dir), ['state.snapshot.3.json', 'state.snapshot.6.json']);
        damage(join(dir, 'state.snapshot.6.json'));
        const loaded = await loadOnce(dir);
        assert.deepEqual([...loaded.state.meta.keys()].sort(), ['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8']);
        assert.equal(loaded.state.meta.get('k5'), 5);
        assert.deepEqual(loaded.recovery.skippedSnapshots.map((s) => s.file), ['state.snapshot.6.json']);
        assert.ok(existsSync(loaded.recovery.skippedSnapshots[0]!.movedTo));
        assert.deepEqual(snapshots(dir), ['state.snapshot.3.json']);
      }));
  }
});

test('file store: a torn tail is reported (file, bytes) beside being cut', () =>
  withDir(async (dir) => {
    await writeRecords(dir, 3);
    appendFileSync(join(dir, 'state.log'), '0badc0de {"ops":[');
    const loaded = await loadOnce(dir);
    assert.deepEqual(loaded.recovery.tornTail, { file: 'state.log', bytes: 17, problem: 'incomplete record (no end of line)' });
    assert.equal((await loadOnce(dir)).recovery.tornTail, undefined, 'cut once, gone after');
  }));

test('file store: two writers on one log (a repeated sequence number) stop start-up', () =>
  withDir(async (dir) => {
    await writeRecords(dir, 2);
    const log = readFileSync(join(dir, 'state.log'), 'utf8');
    // What a second scheduler on the same files appended: its own record 2, then 3.
    appendFileSync(join(dir, 'state.log'), log.split('\n')[1] + '\n');
    await assert.rejects(loadOnce(dir), (err: unknown) => err instanceof StoreDamagedError && /repeated/.test(err.message));
  }));
