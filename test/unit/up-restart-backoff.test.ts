import assert from 'node:assert/strict';
import { test } from 'node:test';
import { restartDelay, SCHEDULER_RESTART, type RestartPolicy } from '../../src/cli/core/restart-backoff.ts';

test('restartDelay doubles while the part dies young, caps, and starts over after a stable run', () => {
  const policy: RestartPolicy = { firstMs: 500, maxMs: 3000, stableMs: 60_000 };
  const cases: Array<[previousMs: number | undefined, ranMs: number, expected: number, why: string]> = [
    [undefined, 0, 500, 'first death'],
    [undefined, 120_000, 500, 'first death after a long run'],
    [500, 1000, 1000, 'died young again: doubles'],
    [1000, 59_999, 2000, 'just short of stable'],
    [2000, 10, 3000, 'capped'],
    [3000, 10, 3000, 'stays at the cap'],
    [3000, 60_000, 500, 'a stable run starts over'],
  ];
  for (const [previousMs, ranMs, expected, why] of cases) assert.equal(restartDelay(policy, previousMs, ranMs), expected, why);
});

test('the scheduler policy restarts the first time within a second', () => {
  assert.ok(restartDelay(SCHEDULER_RESTART, undefined, 0) <= 1000);
});
