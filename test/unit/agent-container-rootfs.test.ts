import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mountPointsUnder, overlayMountOptions, unpackedManifestDigest } from '../../src/agent/containers/core/rootfs.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

test('overlay mount options: absolute paths the kernel can split, else why not', async (t) => {
  const cases: Array<[name: string, dirs: { lower: string; upper: string; work: string }, expected: string | RegExp]> = [
    ['plain paths', { lower: '/w/image-rootfs/ab/rootfs', upper: '/w/containers/t1/upper', work: '/w/containers/t1/work' }, 'lowerdir=/w/image-rootfs/ab/rootfs,upperdir=/w/containers/t1/upper,workdir=/w/containers/t1/work'],
    ['a task id with + and .', { lower: '/w/l', upper: '/w/c/app.1+2f/upper', work: '/w/c/app.1+2f/work' }, 'lowerdir=/w/l,upperdir=/w/c/app.1+2f/upper,workdir=/w/c/app.1+2f/work'],
    ['a comma', { lower: '/w,x/l', upper: '/w/u', work: '/w/k' }, /cannot hold the path \/w,x\/l/],
    ['a colon (lowerdir separator)', { lower: '/w/l', upper: '/w:1/u', work: '/w/k' }, /cannot hold the path \/w:1\/u/],
    ['a backslash', { lower: '/w/l', upper: '/w/u', work: '/w\\k' }, /cannot hold/],
    ['a relative path', { lower: 'l', upper: '/w/u', work: '/w/k' }, /absolute paths, not l/],
  ];
  for (const [name, dirs, expected] of cases) {
    await t.test(name, () => {
      const result = overlayMountOptions(dirs);
      if (typeof expected === 'string') assert.deepEqual(result, { ok: true, options: expected });
      else assert.match(result.ok ? '' : result.reason, expected);
    });
  }
});

test('mount points under a directory: strictly under it, unescaped, deepest first', async (t) => {
  const line = (point: string, type = 'overlay'): string => `47 26 0:39 / ${point} rw,relatime - ${type} ${type} rw`;
  const cases: Array<[name: string, mountinfo: string, dir: string, expected: string[]]> = [
    ['none', [line('/'), line('/proc', 'proc')].join('\n'), '/w/containers', []],
    ['one overlay in a bundle', [line('/'), line('/w/containers/t1/rootfs')].join('\n'), '/w/containers', ['/w/containers/t1/rootfs']],
    ['the directory itself is not under it', line('/w/containers/t1'), '/w/containers/t1', []],
    ['a sibling with the same prefix is not under it', line('/w/containers/t10/rootfs'), '/w/containers/t1', []],
    ['a trailing slash on the directory', line('/w/containers/t1/rootfs'), '/w/containers/t1/', ['/w/containers/t1/rootfs']],
    ['octal escapes decoded', line('/w/containers/a\\040b/rootfs'), '/w/containers', ['/w/containers/a b/rootfs']],
    ['deepest first, then by name; duplicates once', [line('/w/c/t2/rootfs'), line('/w/c/t1/rootfs'), line('/w/c/t1/rootfs/proc', 'proc'), line('/w/c/t1/rootfs')].join('\n'), '/w/c', ['/w/c/t1/rootfs/proc', '/w/c/t1/rootfs', '/w/c/t2/rootfs']],
    ['a truncated line', '47 26 0:39 /', '/w', []],
  ];
  for (const [name, mountinfo, dir, expected] of cases) {
    await t.test(name, () => assert.deepEqual(mountPointsUnder(mountinfo, dir), expected));
  }
});

test("umoci.json: the manifest digest umoci unpacked", async (t) => {
  const cases: Array<[name: string, json: unknown, expected: string | undefined]> = [
    ['as umoci writes it', { umoci_version: '2', from_descriptor_path: { descriptor_walk: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: DIGEST, size: 400 }] } }, DIGEST],
    ['no walk', { umoci_version: '2' }, undefined],
    ['an empty walk', { from_descriptor_path: { descriptor_walk: [] } }, undefined],
    ['a malformed digest', { from_descriptor_path: { descriptor_walk: [{ digest: 'sha256:../../etc' }] } }, undefined],
    ['not an object', 'umoci', undefined],
  ];
  for (const [name, json, expected] of cases) {
    await t.test(name, () => assert.equal(unpackedManifestDigest(json), expected));
  }
});
