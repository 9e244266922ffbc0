import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import type { RoutingTable } from '../../src/lb/core/routing-table.ts';
import { RoutingState } from '../../src/lb/routing-state.ts';
import { app, task, view } from '../support/lb-fixtures.ts';

const web = app('/web', { HAPROXY_GROUP: 'g' }, [10001]);

test('a burst of views becomes one swap; an unchanged table is not swapped in', async () => {
  const swaps: RoutingTable[] = [];
  const state = new RoutingState({ groups: ['g'], debounceMs: 5, onSwap: (table) => swaps.push(table) });
  try {
    state.offer(view([web], [], 1));
    state.offer(view([web], [task('/web', 1, [31001])], 2));
    state.offer(view([web], [task('/web', 1, [31001]), task('/web', 2, [31002])], 3));
    assert.equal(swaps.length, 0, 'nothing before the debounce');
    await sleep(30);
    assert.equal(swaps.length, 1);
    assert.equal(state.generation, 1);
    assert.equal(state.current.servicePorts['10001']?.backends.length, 2);

    const before = state.current;
    // A change the LB does not route (another group's app) leaves the table and its reference alone.
    state.offer(view([web, app('/other', { HAPROXY_GROUP: 'x' }, [10002])], [task('/web', 1, [31001]), task('/web', 2, [31002])], 4));
    await sleep(30);
    assert.equal(swaps.length, 1);
    assert.equal(state.current, before);
  } finally {
    state.close();
  }
});

test('close() cancels a pending rebuild', async () => {
  let swapped = false;
  const state = new RoutingState({ groups: ['g'], debounceMs: 5, onSwap: () => (swapped = true) });
  state.offer(view([web], []));
  state.close();
  await sleep(20);
  assert.equal(swapped, false);
});
