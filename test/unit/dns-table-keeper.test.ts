import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TableKeeper } from '../../src/dns/table-keeper.ts';
import { DOMAIN, TTL, app, sampleView, silentLogger, task, viewOf } from '../support/dns-fixtures.ts';

const NOW_MS = 1_700_000_000_000;

function keeper(debounceMs = 1000): TableKeeper {
  return new TableKeeper({ domain: DOMAIN, ttl: TTL, debounceMs, logger: silentLogger(), now: () => NOW_MS });
}

test('TableKeeper starts unsynced with a clock-based serial', () => {
  const tables = keeper();
  assert.equal(tables.current.synced, false);
  assert.equal(tables.current.soa.serial, NOW_MS / 1000);
  tables.close();
});

test('TableKeeper swaps on change, skips unchanged views, bumps the serial once per change', () => {
  const tables = keeper();
  const unsynced = tables.current;
  tables.offer(sampleView());
  assert.equal(tables.current, unsynced, 'nothing swapped before the debounce fires');
  assert.equal(tables.flush(), true);
  const first = tables.current;
  assert.equal(first.synced, true);
  assert.equal(first.soa.serial, unsynced.soa.serial + 1);

  // A new event id with the same records (say, a deployment event) changes nothing served.
  tables.offer({ ...sampleView(), eventId: 8 });
  assert.equal(tables.flush(), false);
  assert.equal(tables.current, first);

  const solo = app('/solo');
  tables.offer(viewOf([solo], [task('solo.1', solo.id)], 9));
  assert.equal(tables.flush(), true);
  assert.equal(tables.current.soa.serial, first.soa.serial + 1);
  assert.ok(tables.current.names.has('solo.marathon.mesos'));
  assert.equal(tables.flush(), false, 'nothing queued');
  tables.close();
});

test('TableKeeper folds a burst of views into one rebuild of the latest', async () => {
  const tables = keeper(5);
  const a = app('/a');
  for (let i = 1; i <= 20; i++) tables.offer(viewOf([a], Array.from({ length: i }, (_, n) => task(`a.${n}`, a.id, { host: `127.0.3.${n + 1}` })), i));
  await sleep(30);
  assert.equal(tables.current.eventId, 20);
  assert.equal(tables.current.names.get('a.marathon.mesos')?.A?.length, 20);
  assert.equal(tables.current.soa.serial, NOW_MS / 1000 + 1, 'one swap for the whole burst');
  tables.close();
});
