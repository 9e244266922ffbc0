import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOps, countInstances, emptyState, instanceOp, stateFromJson, stateToJson } from '../../src/scheduler/core/state-ops.ts';
import type { StoredJob } from '../../src/scheduler/jobs/types.ts';
import type { Instance } from '../../src/scheduler/types.ts';
import { app, instance, state } from '../support/scheduler-fixtures.ts';

const web = app({ id: '/web', instances: 2 });
const stored = instance('web.1', web, 'a', { state: 'TASK_STAGING', unreachableSince: '2026-01-01T00:00:00.000Z' });

test('instanceOp: changed fields only as a patch, a whole put when a field goes away', () => {
  const cases: Array<{ name: string; after: Instance; op: 'patch' | 'put'; fields?: string[] }> = [
    { name: 'state and message', after: { ...stored, state: 'TASK_RUNNING', message: 'up' }, op: 'patch', fields: ['message', 'state'] },
    { name: 'nothing', after: { ...stored }, op: 'patch', fields: [] },
    { name: 'a field set to undefined', after: { ...stored, unreachableSince: undefined }, op: 'put' },
    { name: 'a field removed', after: (({ unreachableSince: _gone, ...rest }) => rest)(stored), op: 'put' },
  ];
  for (const { name, after, op, fields } of cases) {
    const made = instanceOp(stored, after);
    assert.equal(made.op, op, name);
    if (fields !== undefined && made.op === 'patch') assert.deepEqual(Object.keys(made.value).sort(), fields, name);
    // Through JSON, as the state log replays it: the same instance either way.
    const replayed = applyOps(state({ apps: [web], instances: [stored] }), JSON.parse(JSON.stringify([made])));
    assert.deepEqual(replayed.instances.get('web.1'), JSON.parse(JSON.stringify(after)), name);
  }
});

test('a patch moves an instance between its tallies; a patch of a missing instance changes nothing', () => {
  const before = state({ apps: [web], instances: [stored] });
  const after = applyOps(before, [instanceOp(stored, { ...stored, state: 'TASK_RUNNING' }), { op: 'patch', coll: 'instances', key: 'gone', value: { state: 'TASK_RUNNING' } }]);
  assert.deepEqual([countInstances(after, '/web', 'state:TASK_STAGING'), countInstances(after, '/web', 'state:TASK_RUNNING'), countInstances(after, '/web', 'all')], [0, 1, 1]);
  assert.equal(after.instances.has('gone'), false);
});

test('jobs survive the JSON round trip; a snapshot from before jobs loads with none', () => {
  const job: StoredJob = {
    id: 'team.nightly', labels: {}, schedules: [{ id: 'n', cron: '0 2 * * *', timeZone: 'UTC', startingDeadlineSeconds: 900, concurrencyPolicy: 'ALLOW', enabled: true, catchUp: 'ONE' }],
    run: { cmd: 'true', cpus: 1, mem: 128, disk: 0, env: {}, artifacts: [], placement: { constraints: [] }, maxLaunchDelay: 3600, restart: { policy: 'NEVER' } },
  };
  const state = applyOps(emptyState(), [{ op: 'put', coll: 'jobs', key: job.id, value: job }]);
  assert.deepEqual([...stateFromJson(JSON.parse(JSON.stringify(stateToJson(state)))).jobs], [[job.id, job]]);
  const { jobs: _jobs, ...old } = stateToJson(emptyState());
  assert.equal(stateFromJson(old as ReturnType<typeof stateToJson>).jobs.size, 0);
});
