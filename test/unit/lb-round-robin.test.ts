import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundRobin } from '../../src/lb/core/round-robin.ts';

test('RoundRobin cycles through the items of each key independently', () => {
  const rr = new RoundRobin();
  const picks = Array.from({ length: 5 }, () => rr.pick('a', ['x', 'y', 'z']));
  assert.deepEqual(picks, ['x', 'y', 'z', 'x', 'y']);
  assert.equal(rr.pick('b', ['p', 'q']), 'p');
  assert.equal(rr.pick('a', ['x', 'y', 'z']), 'z');
});

test('RoundRobin returns undefined for no items and survives a shrinking list', () => {
  const rr = new RoundRobin();
  assert.equal(rr.pick('a', []), undefined);
  rr.pick('a', [1, 2, 3]);
  rr.pick('a', [1, 2, 3]);
  // Position 2 does not exist any more: wrap instead of returning undefined.
  assert.equal(rr.pick('a', [1, 2]), 1);
  assert.equal(rr.pick('a', [1, 2]), 2);
});

test('RoundRobin.retain forgets the positions of gone pools', () => {
  const rr = new RoundRobin();
  rr.pick('keep', ['x', 'y']);
  rr.pick('gone', ['x', 'y']);
  rr.retain(new Set(['keep']));
  assert.equal(rr.pick('keep', ['x', 'y']), 'y');
  assert.equal(rr.pick('gone', ['x', 'y']), 'x');
});
