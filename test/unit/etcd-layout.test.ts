import assert from 'node:assert/strict';
import { test } from 'node:test';
import { etcdKeys, groupOf, orphanGroups, padSeq, parseHead, prefixEnd, splitBytes, txnGroups } from '../../src/scheduler/store/core/etcd-layout.ts';

test('etcd keys: under the prefix, a trailing slash dropped; log and part names sort by seq', () => {
  const cases: Array<[string, string, string]> = [
    ['/corral', '/corral/head', '/corral/log/0000000000000012'],
    ['/corral/', '/corral/head', '/corral/log/0000000000000012'],
    ['/a/b', '/a/b/head', '/a/b/log/0000000000000012'],
  ];
  for (const [prefix, head, log] of cases) {
    const keys = etcdKeys(prefix);
    assert.deepEqual([keys.head, keys.log(12)], [head, log], prefix);
  }
  const keys = etcdKeys('/c');
  // A snapshot's parts sort after every commit's parts of seq up to its own, before those after it.
  const order = [keys.commitParts(9, 'zz'), keys.snapshotParts(9, 'aa'), keys.commitParts(10, 'aa'), keys.snapshotParts(10, 'aa')];
  assert.deepEqual([...order].sort(), order);
  assert.equal(keys.part(keys.commitParts(3, 'id'), 7), '/c/parts/0000000000000003-id/000007');
});

test('padSeq: 16 digits, so that keys sort as numbers', () => {
  for (const [seq, text] of [[0, '0000000000000000'], [1, '0000000000000001'], [1234567890123456, '1234567890123456']] as const) assert.equal(padSeq(seq), text);
});

test('prefixEnd: the prefix with its last byte + 1; all keys for none', () => {
  const cases: Array<[string, Buffer]> = [
    ['/c/', Buffer.from('/c0')],
    ['a', Buffer.from('b')],
    ['', Buffer.from([0])],
    // A multi-byte UTF-8 key ends at its last byte, not its last character.
    ['é', Buffer.from([0xc3, 0xaa])],
    ['\u{10FFFF}', Buffer.from([0xf4, 0x8f, 0xbf, 0xc0])],
  ];
  for (const [prefix, end] of cases) assert.deepEqual(prefixEnd(prefix), end, prefix);
});

test('splitBytes: pieces of at most the size, one empty piece for nothing', () => {
  const cases: Array<[number, number, number[]]> = [
    [0, 4, [0]],
    [3, 4, [3]],
    [4, 4, [4]],
    [9, 4, [4, 4, 1]],
  ];
  for (const [length, size, pieces] of cases) {
    const bytes = Buffer.alloc(length, 1);
    const split = splitBytes(bytes, size);
    assert.deepEqual(split.map((piece) => piece.length), pieces, `${length} by ${size}`);
    assert.deepEqual(Buffer.concat(split), bytes);
  }
});

test('txnGroups: consecutive part numbers, a few per transaction', () => {
  const cases: Array<[number, number, number[][]]> = [
    [1, 4, [[0]]],
    [4, 4, [[0, 1, 2, 3]]],
    [6, 4, [[0, 1, 2, 3], [4, 5]]],
    [3, 1, [[0], [1], [2]]],
  ];
  for (const [parts, perTxn, groups] of cases) assert.deepEqual(txnGroups(parts, perTxn), groups, `${parts} by ${perTxn}`);
});

test('parseHead: a missing head is 0; anything but a seq is refused', () => {
  const cases: Array<[string | undefined, number | RegExp]> = [
    [undefined, 0],
    ['0', 0],
    ['42', 42],
    ['x', /not a seq/],
    ['-1', /not a seq/],
    ['', /not a seq/],
  ];
  for (const [value, expected] of cases) {
    if (typeof expected === 'number') assert.equal(parseHead(value), expected);
    else assert.throws(() => parseHead(value), expected);
  }
});

test('orphanGroups and groupOf: part groups nothing references', () => {
  assert.equal(groupOf('/c/parts/0001-ab/000003'), '/c/parts/0001-ab/');
  const cases: Array<[string[], string[], string[]]> = [
    [[], [], []],
    [['/p/a/', '/p/b/'], ['/p/a/'], ['/p/b/']],
    [['/p/a/', '/p/b/'], ['/p/a/', '/p/b/', '/p/c/'], []],
  ];
  for (const [groups, referenced, orphans] of cases) assert.deepEqual(orphanGroups(groups, referenced), orphans);
});
