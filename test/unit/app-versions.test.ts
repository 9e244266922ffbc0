import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeApp, type ChangeContext } from '../../src/scheduler/core/app-changes.ts';
import { versionsToDrop } from '../../src/scheduler/core/app-versions.ts';
import { applyOps, appVersionsOf } from '../../src/scheduler/core/state-ops.ts';
import type { ClusterState } from '../../src/scheduler/types.ts';
import { agent, instance, state } from '../support/scheduler-fixtures.ts';

const at = (n: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();

const cases: Array<{ name: string; stored: number[]; max: number; inUse: number[]; dropped: number[] }> = [
  { name: 'under the limit: nothing goes', stored: [1, 2, 3], max: 5, inUse: [], dropped: [] },
  { name: 'the oldest beyond the limit go', stored: [3, 1, 5, 2, 4], max: 3, inUse: [], dropped: [2, 1] },
  { name: 'a version in use stays however old', stored: [1, 2, 3, 4, 5], max: 2, inUse: [1], dropped: [3, 2] },
  { name: 'a limit below one keeps the newest all the same', stored: [1, 2], max: 0, inUse: [], dropped: [1] },
];

for (const c of cases) {
  test(`app versions: ${c.name}`, () => {
    assert.deepEqual(versionsToDrop(c.stored.map(at), c.max, new Set(c.inUse.map(at))), c.dropped.map(at));
  });
}

const ctx = (now: string, fields: Partial<ChangeContext> = {}): ChangeContext => ({ now, deploymentId: `d-${now}`, force: true, clientIp: '127.0.0.1', uri: '/v2/apps', ...fields });

/** Applies a write (which must succeed) to the state. */
function write(s: ClusterState, body: unknown, mode: 'create' | 'partial', context: ChangeContext): ClusterState {
  const change = writeApp(s, body, mode, context, '/web');
  if (!change.ok) throw new Error(change.error.code);
  return applyOps(s, change.ops);
}

test('app versions: a thousand scale operations keep the limit, plus the versions an instance or the configuration uses', () => {
  let s = write(state({ agents: [agent('a')] }), { id: '/web', cmd: 'sleep 100', instances: 1 }, 'create', ctx(at(0)));
  // One instance still runs the first version.
  const first = s.apps.get('/web')!;
  s = { ...s, instances: new Map([['web.1', instance('web.1', first, 'a')]]) };
  s = write(s, { cmd: 'sleep 200' }, 'partial', ctx(at(1)));
  for (let n = 2; n <= 1000; n += 1) s = write(s, { instances: 1 + (n % 3) }, 'partial', ctx(at(n), { maxVersions: 50 }));
  const versions = appVersionsOf(s, '/web').map((app) => app.version).sort();
  assert.equal(versions[0], at(0), 'the version a running instance was launched from is kept');
  assert.equal(versions[1], at(1), 'the version of the current configuration is kept');
  assert.deepEqual(versions.slice(2), Array.from({ length: 50 }, (_, i) => at(951 + i)));
});

test('app versions: without a limit in the context, Marathon\'s 50 apply', () => {
  let s = write(state({}), { id: '/web', cmd: 'sleep 100', instances: 0 }, 'create', ctx(at(0)));
  for (let n = 1; n <= 60; n += 1) s = write(s, { instances: n % 2 }, 'partial', ctx(at(n)));
  // The newest 50, and the one whose configuration the app still runs.
  assert.equal(appVersionsOf(s, '/web').length, 51);
});
