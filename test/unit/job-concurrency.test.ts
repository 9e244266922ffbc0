import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decideSlotStart, overran, restartDecision, type RestartDecision, type SlotStart } from '../../src/scheduler/jobs/core/concurrency.ts';
import type { ConcurrencyPolicy, JobRun, JobRunSpec, JobRunStatus } from '../../src/scheduler/jobs/types.ts';

function run(id: string, status: JobRunStatus, createdAt = '2026-01-01T00:00:00.000Z'): JobRun {
  return { id, jobId: 'job', status, createdAt, tasks: [], failures: 0 };
}

test('decideSlotStart: concurrencyPolicy against the job\'s runs (table-driven)', () => {
  const cases: [policy: ConcurrencyPolicy, runs: JobRun[], expected: SlotStart][] = [
    ['ALLOW', [], { action: 'start' }],
    ['ALLOW', [run('r1', 'ACTIVE')], { action: 'start' }],
    ['FORBID', [], { action: 'start' }],
    ['FORBID', [run('r1', 'SUCCESS'), run('r2', 'FAILED')], { action: 'start' }],
    ['FORBID', [run('r1', 'ACTIVE')], { action: 'skip', reason: 'forbidden-concurrent' }],
    ['FORBID', [run('r1', 'INITIAL')], { action: 'skip', reason: 'forbidden-concurrent' }],
    ['FORBID', [run('r1', 'STARTING')], { action: 'skip', reason: 'forbidden-concurrent' }],
    ['REPLACE', [], { action: 'start' }],
    ['REPLACE', [run('r1', 'SUCCESS')], { action: 'start' }],
    ['REPLACE', [run('r1', 'ACTIVE'), run('r2', 'FAILED'), run('r3', 'STARTING')], { action: 'replace', stop: ['r1', 'r3'] }],
  ];
  for (const [policy, runs, expected] of cases) assert.deepEqual(decideSlotStart(policy, runs), expected, `${policy} ${runs.map((r) => r.status).join(',')}`);
});

test('restartDecision: ON_FAILURE backs off exponentially to a cap, bounded by activeDeadlineSeconds (table-driven)', () => {
  const now = new Date('2026-01-01T00:10:00.000Z');
  const started = run('r1', 'ACTIVE', '2026-01-01T00:00:00.000Z');
  const after = (ms: number): RestartDecision => ({ action: 'restart', at: new Date(now.getTime() + ms) });
  const cases: [restart: JobRunSpec['restart'], failures: number, expected: RestartDecision][] = [
    [{ policy: 'NEVER' }, 1, { action: 'fail', reason: 'restart-never' }],
    [{ policy: 'ON_FAILURE' }, 1, after(1_000)],
    [{ policy: 'ON_FAILURE' }, 2, after(2_000)],
    [{ policy: 'ON_FAILURE' }, 4, after(8_000)],
    [{ policy: 'ON_FAILURE' }, 7, after(60_000)],
    [{ policy: 'ON_FAILURE' }, 50, after(60_000)],
    // Run created at 00:00, now 00:10: a 700 s deadline leaves 100 s, a 601 s one 1 s.
    [{ policy: 'ON_FAILURE', activeDeadlineSeconds: 700 }, 7, after(60_000)],
    [{ policy: 'ON_FAILURE', activeDeadlineSeconds: 602 }, 1, after(1_000)],
    [{ policy: 'ON_FAILURE', activeDeadlineSeconds: 601 }, 1, { action: 'fail', reason: 'active-deadline' }],
    [{ policy: 'ON_FAILURE', activeDeadlineSeconds: 630 }, 6, { action: 'fail', reason: 'active-deadline' }],
  ];
  for (const [restart, failures, expected] of cases) assert.deepEqual(restartDecision(started, restart, failures, now), expected, `${JSON.stringify(restart)} after ${failures}`);
  assert.deepEqual(restartDecision(started, { policy: 'ON_FAILURE' }, 3, now, { initialMs: 500, factor: 3, maxMs: 10_000 }), after(4_500));
});

test('overran: an active run past activeDeadlineSeconds (table-driven)', () => {
  const createdAt = '2026-01-01T00:00:00.000Z';
  const cases: [status: JobRunStatus, deadline: number | undefined, now: string, expected: boolean][] = [
    ['ACTIVE', undefined, '2027-01-01T00:00:00Z', false],
    ['ACTIVE', 60, '2026-01-01T00:01:00Z', false],
    ['ACTIVE', 60, '2026-01-01T00:01:00.001Z', true],
    ['STARTING', 60, '2026-01-01T00:05:00Z', true],
    ['SUCCESS', 60, '2026-01-01T00:05:00Z', false],
    ['FAILED', 60, '2026-01-01T00:05:00Z', false],
  ];
  for (const [status, deadline, now, expected] of cases) assert.equal(overran(run('r1', status, createdAt), deadline, new Date(now)), expected, `${status} ${deadline} ${now}`);
});
