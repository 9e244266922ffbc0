import assert from 'node:assert/strict';
import { test } from 'node:test';
import { upgradeStep } from '../../src/scheduler/core/rolling-upgrade.ts';
import type { Instance } from '../../src/scheduler/types.ts';
import { app, instance } from '../support/scheduler-fixtures.ts';

/** `old` instances of the old configuration, `fresh` new ones of which `freshReady` are ready; maxLaunch is the room left. */
function step(instances: number, minimumHealthCapacity: number, maximumOverCapacity: number, old: number, fresh: number, freshReady: number, oldNotReady = 0) {
  const a = app({ id: '/web', instances, upgradeStrategy: { minimumHealthCapacity, maximumOverCapacity } });
  const olds = Array.from({ length: old }, (_, i) => instance(`old${i}`, a, 'a', { configVersion: 'old', state: i < oldNotReady ? 'TASK_STAGING' : 'TASK_RUNNING' }));
  const news = Array.from({ length: fresh }, (_, i) => instance(`new${i}`, a, 'a', { state: i < freshReady ? 'TASK_RUNNING' : 'TASK_STAGING' }));
  const result = upgradeStep(a, news, olds, (i: Instance) => i.state === 'TASK_RUNNING', (list) => list);
  return { maxLaunch: result.maxLaunch, stop: result.stop.length };
}

test('rolling upgrade arithmetic, table (Marathon: keep ceil(N×minHealth) ready, never above floor(N×(1+maxOver)))', async (t) => {
  const cases: Array<[string, Parameters<typeof step>, { maxLaunch: number; stop: number }]> = [
    ['defaults (1, 1): start all new, keep all old', [4, 1, 1, 4, 0, 0], { maxLaunch: 4, stop: 0 }],
    ['defaults: old go as new become ready (room is capacity, not need)', [4, 1, 1, 4, 4, 2], { maxLaunch: 2, stop: 2 }],
    ['(0.5, 0): kill half first, no extra room', [4, 0.5, 0, 4, 0, 0], { maxLaunch: 2, stop: 2 }],
    ['(0.5, 0): then as new get ready', [4, 0.5, 0, 2, 2, 2], { maxLaunch: 2, stop: 2 }],
    ['(1, 0): one old goes first (no room, none to spare)', [3, 1, 0, 3, 0, 0], { maxLaunch: 1, stop: 1 }],
    ['(1, 0.5): 1 extra, no old until a new is ready', [2, 1, 0.5, 2, 0, 0], { maxLaunch: 1, stop: 0 }],
    ['(0, 0): everything old at once', [3, 0, 0, 3, 0, 0], { maxLaunch: 3, stop: 3 }],
    ['old instances that are not ready go at once', [2, 1, 1, 2, 0, 0, 1], { maxLaunch: 3, stop: 1 }],
    ['scaled to 0: all old go', [0, 1, 1, 2, 0, 0], { maxLaunch: 0, stop: 2 }],
  ];
  for (const [name, args, expected] of cases) await t.test(name, () => assert.deepEqual(step(...args), expected));
});

test('rolling upgrade never has more ready instances missing than allowed, over a whole simulated upgrade', () => {
  for (const [minH, maxO] of [[1, 1], [0.5, 0], [0.75, 0.25], [1, 0], [0, 1]] as const) {
    let old = 8;
    let fresh = 0;
    for (let round = 0; round < 40 && old > 0; round += 1) {
      const { maxLaunch, stop } = step(8, minH, maxO, old, fresh, fresh);
      const floor = Math.min(Math.ceil(8 * minH), 7);
      // Starting new and stopping old happen together; new ones are ready by the next round.
      assert.ok(fresh + old - stop >= (maxO === 0 && minH === 1 ? 7 : floor), `(${minH}, ${maxO}) round ${round}: too few ready`);
      old -= stop;
      fresh += Math.min(8 - fresh, maxLaunch);
      assert.ok(old + fresh <= Math.max(8, Math.floor(8 * (1 + maxO))), `(${minH}, ${maxO}) round ${round}: over capacity`);
    }
    assert.deepEqual([old, fresh], [0, 8], `(${minH}, ${maxO}) finishes`);
  }
});
