import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoutingTable } from '../../src/lb/core/routing-table.ts';
import { RoutingTableHolder } from '../../src/lb/routing-table-holder.ts';
import { app, task, view } from '../support/lb-fixtures.ts';

const web = app('/web', { HAPROXY_GROUP: 'g' }, [10001]);

test('a burst of views becomes one swap; an unchanged table is not swapped in', async () => {
  const swaps: RoutingTable[] = [];
  const state = new RoutingTableHolder({ groups: ['g'], debounceMs: 5, onSwap: (table) => swaps.push(table) });
  try {
    state.offer(view([web], [], 1));
    state.offer(view([web], [task('/web', 1, [31001])], 2));
    state.offer(view([web], [task('/web', 1, [31001]), task('/web', 2, [31002])], 3));
    assert.equal(swaps.length, 0, 'nothing before the debounce');
    assert.equal(state.flush(), true);
    assert.equal(swaps.length, 1);
    assert.equal(state.generation, 1);
    assert.equal(state.current.servicePorts['10001']?.backends.length, 2);

    const before = state.current;
    // A change the LB does not route (another group's app) leaves the table and its reference alone.
    state.offer(view([web, app('/other', { HAPROXY_GROUP: 'x' }, [10002])], [task('/web', 1, [31001]), task('/web', 2, [31002])], 4));
    assert.equal(state.flush(), false);
    assert.equal(swaps.length, 1);
    assert.equal(state.current, before);
  } finally {
    state.close();
  }
});

test('close() cancels a pending rebuild', () => {
  let swapped = false;
  const state = new RoutingTableHolder({ groups: ['g'], debounceMs: 5, onSwap: () => (swapped = true) });
  state.offer(view([web], []));
  state.close();
  assert.equal(state.flush(), false, 'nothing left to build');
  assert.equal(swapped, false);
});

test('a route whose certificate cannot be loaded is rejected; the others are swapped in', () => {
  const secure = app('/secure', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 's.test', HAPROXY_0_SSL_CERT: '/nope.pem' }, [10003]);
  const asked: string[][] = [];
  const state = new RoutingTableHolder({
    groups: ['g'],
    debounceMs: 5,
    onSwap: () => undefined,
    checkCertificates: (paths) => {
      asked.push([...paths]);
      return new Map([['/nope.pem', 'cannot read /nope.pem: ENOENT']]);
    },
  });
  state.offer(view([web, secure], []));
  state.flush();
  state.close();
  assert.deepEqual(asked, [['/nope.pem']]);
  assert.deepEqual(Object.keys(state.current.servicePorts), ['10001']);
  assert.deepEqual(state.current.rejected.map((r) => r.reason), ['HAPROXY_0_SSL_CERT /nope.pem: cannot read /nope.pem: ENOENT']);
});
