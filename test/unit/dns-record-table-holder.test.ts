import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildRecords } from '../../src/dns/core/records.ts';
import { RecordTableHolder } from '../../src/dns/record-table-holder.ts';
import type { ClusterEvent } from '../../src/events/types.ts';
import { applyEvent } from '../../src/events/core/view.ts';
import { statusUpdate } from '../support/discovery-stand-in.ts';
import { DOMAIN, TTL, app, sampleView, silentLogger, task, viewOf } from '../support/dns-fixtures.ts';

const NOW_MS = 1_700_000_000_000;

function holder(debounceMs = 1000): RecordTableHolder {
  return new RecordTableHolder({ domain: DOMAIN, ttl: TTL, debounceMs, logger: silentLogger(), now: () => NOW_MS });
}

test('RecordTableHolder starts unsynced with a clock-based serial', () => {
  const tables = holder();
  assert.equal(tables.current.synced, false);
  assert.equal(tables.current.soa.serial, NOW_MS / 1000);
  tables.close();
});

test('RecordTableHolder swaps on change, skips unchanged views, bumps the serial once per change', () => {
  const tables = holder();
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

test('RecordTableHolder folds a burst of views into one rebuild of the latest', async () => {
  const tables = holder(5);
  const a = app('/a');
  for (let i = 1; i <= 20; i++) tables.offer(viewOf([a], Array.from({ length: i }, (_, n) => task(`a.${n}`, a.id, { host: `127.0.3.${n + 1}` })), i));
  await sleep(30);
  assert.equal(tables.current.eventId, 20);
  assert.equal(tables.current.names.get('a.marathon.mesos')?.A?.length, 20);
  assert.equal(tables.current.soa.serial, NOW_MS / 1000 + 1, 'one swap for the whole burst');
  tables.close();
});

test('RecordTableHolder patches from the ids events touched, and equals a full build, gaps included', () => {
  const web = app('/web', { portDefinitions: [{ port: 10000, protocol: 'tcp' }] });
  const other = app('/other');
  let view = viewOf([web, other], [task('web.1', web.id), task('other.1', other.id, { host: '127.0.0.12' })], 1);
  const tables = holder();
  tables.offer(view);
  tables.flush();
  const events: ClusterEvent[] = [
    statusUpdate({ id: 'web.2', appId: '/web', host: '127.0.0.13', ports: [31002] }, 'TASK_RUNNING'),
    statusUpdate({ id: 'web.1', appId: '/web', host: '127.0.0.11' }, 'TASK_KILLED'),
    { eventType: 'instance_health_changed_event', timestamp: '', instanceId: 'other.1', runSpecId: '/other', runSpecVersion: '', healthy: false },
    { eventType: 'app_terminated_event', timestamp: '', appId: '/other' },
  ];
  for (const [i, event] of events.entries()) {
    view = applyEvent(view, 2 + i, event);
    tables.offer(view);
    if (i === 1) tables.flush();
  }
  tables.flush();
  const fresh = buildRecords(view, { domain: DOMAIN, ttl: TTL, serial: 1 });
  assert.equal(tables.current.digest, fresh.digest);
  assert.deepEqual(new Map([...tables.current.names].filter(([name]) => name !== DOMAIN).sort()), new Map([...fresh.names].filter(([name]) => name !== DOMAIN).sort()));

  // A view that skips an event (a gap in the chain): the next build compares everything.
  const skipped = applyEvent(applyEvent(view, 10, statusUpdate({ id: 'web.3', appId: '/web', host: '127.0.0.14' }, 'TASK_RUNNING')), 11, statusUpdate({ id: 'web.4', appId: '/web', host: '127.0.0.15' }, 'TASK_RUNNING'));
  tables.offer(skipped);
  tables.flush();
  assert.deepEqual(tables.current.names.get('web.marathon.mesos')?.A?.map((r) => r.address), ['127.0.0.13', '127.0.0.14', '127.0.0.15']);
  tables.close();
});
