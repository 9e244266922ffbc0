import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blobsNamedBy, planImageGc, type GcImage, type GcInput } from '../../src/agent/containers/core/image-gc.ts';

const d = (n: string): string => `sha256:${n.padStart(64, '0')}`;
const HOUR = 3_600_000;
const NOW = 100 * HOUR;

/** Images a, b, c: each its manifest (1 byte), config (1 byte), a shared base layer (100) and its own layer (10, 20, 30). */
const image = (name: string, own: string, lastUsedMs: number | undefined): GcImage => ({ name, manifest: d(`m${own}`), blobs: [d(`m${own}`), d(`c${own}`), d('base'), d(own)], lastUsedMs });
const sizes = new Map([[d('base'), 100], [d('a'), 10], [d('b'), 20], [d('c'), 30], [d('orphan'), 5], ...['a', 'b', 'c'].flatMap((x) => [[d(`m${x}`), 1], [d(`c${x}`), 1]] as Array<[string, number]>)]);
const base = (over: Partial<GcInput>): GcInput => ({
  images: [image('a', 'a', NOW - 5 * HOUR), image('b', 'b', NOW - 3 * HOUR), image('c', 'c', NOW - 2 * HOUR)],
  blobSizes: sizes, inUse: new Set(), unpackedInUse: new Set(), unpacked: [d('ma'), d('mb'), d('mc')], nowMs: NOW, minAgeMs: HOUR, maxBytes: 1000, ...over,
});
// Total: 100 + 10 + 20 + 30 + 5 + 6 = 171.

test('image GC: unused images go oldest-used first until the layout fits; shared layers and used images stay', async (t) => {
  const cases: Array<[name: string, input: GcInput, images: string[], blobs: string[], unpacked: string[], after: number]> = [
    ['under the limit: nothing, not even an orphan blob', base({}), [], [], [], 171],
    ['over: the oldest goes first, with the orphan; the shared base stays', base({ maxBytes: 160 }), ['a'], [d('a'), d('ca'), d('ma'), d('orphan')].sort(), [d('ma')], 154],
    ['further over: the two oldest', base({ maxBytes: 140 }), ['a', 'b'], [d('a'), d('b'), d('ca'), d('cb'), d('ma'), d('mb'), d('orphan')].sort(), [d('ma'), d('mb')], 132],
    ['a running task holds the oldest: the next ones go', base({ maxBytes: 140, inUse: new Set(['a']) }), ['b', 'c'], [d('b'), d('c'), d('cb'), d('cc'), d('mb'), d('mc'), d('orphan')].sort(), [d('mb'), d('mc')], 112],
    ['used within the minimum age: kept even over the limit', base({ maxBytes: 0, minAgeMs: 4 * HOUR }), ['a'], [d('a'), d('ca'), d('ma'), d('orphan')].sort(), [d('ma')], 154],
    ['a use time not known yet: kept', base({ maxBytes: 0, images: [image('a', 'a', undefined)] }), [], [d('b'), d('c'), d('cb'), d('cc'), d('mb'), d('mc'), d('orphan')].sort(), [d('mb'), d('mc')], 112],
    ['every image removed when all are old and the limit is 0', base({ maxBytes: 0 }), ['a', 'b', 'c'], [...sizes.keys()].sort(), [d('ma'), d('mb'), d('mc')], 0],
    ["an image's unpacked root filesystem a task's overlay uses stays", base({ maxBytes: 160, unpackedInUse: new Set([d('ma')]) }), ['a'], [d('a'), d('ca'), d('ma'), d('orphan')].sort(), [], 154],
    ['an unpacked digest no image names any more (a moved tag) goes', base({ maxBytes: 160, unpacked: [d('ma'), d('old')] }), ['a'], [d('a'), d('ca'), d('ma'), d('orphan')].sort(), [d('ma'), d('old')], 154],
  ];
  for (const [name, input, images, blobs, unpacked, after] of cases) {
    await t.test(name, () => {
      const plan = planImageGc(input);
      assert.deepEqual(plan.removeImages, images);
      assert.deepEqual(plan.removeBlobs, blobs);
      assert.deepEqual(plan.removeUnpacked, unpacked);
      assert.equal(plan.bytesBefore, 171);
      assert.equal(plan.bytesAfter, after);
    });
  }
});

test('image GC: the blobs a manifest or an index names', async (t) => {
  const cases: Array<[name: string, json: unknown, expected: string[]]> = [
    ['a manifest', { config: { digest: d('c') }, layers: [{ digest: d('e1') }, { digest: d('e2') }] }, [d('c'), d('e1'), d('e2')]],
    ['an index', { manifests: [{ digest: d('f1') }] }, [d('f1')]],
    ['malformed digests dropped', { config: { digest: 'sha256:../x' }, layers: [null, { digest: 3 }] }, []],
    ['nothing', null, []],
  ];
  for (const [name, json, expected] of cases) await t.test(name, () => assert.deepEqual(blobsNamedBy(json), expected));
});
