import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NameIndex } from '../../src/dns/core/name-index.ts';
import { isReverseName, reverseName } from '../../src/dns/core/reverse.ts';
import { TaskIndex } from '../../src/dns/core/task-index.ts';
import { applyEvent } from '../../src/events/core/view.ts';
import { statusUpdate } from '../support/discovery-stand-in.ts';
import { app, task, viewOf } from '../support/dns-fixtures.ts';

test('reverseName: IPv4 and IPv6 reverse owner names (table-driven)', () => {
  const cases: [ip: string, name: string | undefined][] = [
    ['127.0.0.11', '11.0.0.127.in-addr.arpa'],
    ['10.1.2.3', '3.2.1.10.in-addr.arpa'],
    ['::1', `1.${'0.'.repeat(31)}ip6.arpa`],
    ['2001:db8::567:89ab', 'b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa'],
    ['node-1.example', undefined],
    ['256.0.0.1', undefined],
  ];
  for (const [ip, name] of cases) assert.equal(reverseName(ip), name, ip);
  assert.equal(isReverseName('11.0.0.127.in-addr.arpa'), true);
  assert.equal(isReverseName('web.marathon.mesos'), false);
});

test('NameIndex.patch: a new generation; the old one never changes', () => {
  const empty = NameIndex.empty();
  const names = Array.from({ length: 5000 }, (_, i) => `n${i}.marathon.mesos`);
  const first = empty.patch(new Map(names.map((name) => [name, Object.freeze({})])));
  assert.equal(first.size, 5000);
  assert.equal(empty.size, 0);
  const second = first.patch(new Map<string, ReturnType<typeof first.get>>([['n1.marathon.mesos', undefined], ['new.marathon.mesos', Object.freeze({})]]));
  assert.equal(second.size, 5000);
  assert.equal(second.has('n1.marathon.mesos'), false);
  assert.equal(second.has('new.marathon.mesos'), true);
  assert.equal(first.has('n1.marathon.mesos'), true, 'the previous generation keeps its names');
  assert.equal(first.has('new.marathon.mesos'), false);
  assert.equal([...second.keys()].length, 5000);
  assert.equal(second.get('n2.marathon.mesos'), first.get('n2.marathon.mesos'));
  assert.equal(first.patch(new Map()), first, 'an empty patch is the same generation');
});

test('TaskIndex.sync: changed apps and hosts between views, by object identity', () => {
  const a = app('/a');
  const b = app('/b');
  const index = new TaskIndex();
  const v1 = viewOf([a, b], [task('a.1', a.id, { host: '127.0.0.1' }), task('b.1', b.id, { host: '127.0.0.2' })], 1);
  assert.deepEqual([...index.sync(v1).apps].sort(), ['/a', '/b']);

  // One status update: only its app changed; a known host is no host change.
  const v2 = applyEvent(v1, 2, statusUpdate({ id: 'a.2', appId: '/a', host: '127.0.0.1' }, 'TASK_RUNNING'));
  assert.deepEqual(index.sync(v2), { apps: new Set(['/a']), hostsChanged: false });
  assert.deepEqual([...index.tasksOf('/a')].map((t) => t.id), ['a.1', 'a.2']);

  // The last task on 127.0.0.2 ends: the host goes.
  const v3 = applyEvent(v2, 3, statusUpdate({ id: 'b.1', appId: '/b', host: '127.0.0.2' }, 'TASK_KILLED'));
  assert.deepEqual(index.sync(v3), { apps: new Set(['/b']), hostsChanged: true });
  assert.deepEqual([...index.hosts], ['127.0.0.1']);

  // An app definition changes: that app, nothing else.
  const v4 = { ...v3, eventId: 4, apps: new Map(v3.apps).set('/a', { ...a, version: 'v2' }) };
  assert.deepEqual(index.sync(v4), { apps: new Set(['/a']), hostsChanged: false });
});
