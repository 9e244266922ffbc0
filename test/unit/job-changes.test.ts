import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOps, emptyState } from '../../src/scheduler/core/state-ops.ts';
import type { Refused } from '../../src/scheduler/errors.ts';
import { addSchedule, createJob, deleteJob, removeSchedule, replaceSchedule, updateJob, type JobChange } from '../../src/scheduler/jobs/core/job-changes.ts';
import { jobView, parseEmbeds } from '../../src/scheduler/jobs/core/job-view.ts';
import { historyOf } from '../../src/scheduler/jobs/core/runs.ts';
import type { ClusterState } from '../../src/scheduler/types.ts';

const NOW = '2026-01-01T00:00:00.000Z';
const CONTEXT = { now: NOW, nowMs: Date.parse(NOW), newRunId: () => 'r1' };
const cron = (id: string, expression = '* * * * *'): Record<string, unknown> => ({ id, cron: expression });

/** The state after a change, or the refusal's code. */
function after<T>(state: ClusterState, change: JobChange<T> | Refused): ClusterState | string {
  return change.ok ? applyOps(state, change.ops) : change.error.code;
}

const base = after(emptyState(), createJob(emptyState(), { id: 'a.job', run: { cmd: 'x' }, schedules: [cron('s1')] }, NOW)) as ClusterState;

test('job changes: what each stores, or which refusal', async (t) => {
  const cases: Array<[name: string, change: (s: ClusterState) => JobChange<unknown> | Refused, expected: string | { schedules: string[]; cmd?: string } | 'gone']> = [
    ['create again', (s) => createJob(s, { id: 'a.job', run: { cmd: 'y' } }, NOW), 'ERR_SCHED_JOB_EXISTS'],
    ['create invalid', (s) => createJob(s, { id: 'A', run: { cmd: 'y' } }, NOW), 'ERR_SCHED_INVALID'],
    ['update keeps schedules, ignores those in the body', (s) => updateJob(s, 'a.job', { run: { cmd: 'y' }, schedules: [cron('other')] }, NOW), { schedules: ['s1'], cmd: 'y' }],
    ['update a missing job', (s) => updateJob(s, 'b.job', { run: { cmd: 'y' } }, NOW), 'ERR_SCHED_JOB_NOT_FOUND'],
    ['delete', (s) => deleteJob(s, 'a.job', CONTEXT), 'gone'],
    ['delete a missing job', (s) => deleteJob(s, 'b.job', CONTEXT), 'ERR_SCHED_JOB_NOT_FOUND'],
    ['add a schedule', (s) => addSchedule(s, 'a.job', cron('s2'), NOW), { schedules: ['s1', 's2'] }],
    ['add an existing schedule', (s) => addSchedule(s, 'a.job', cron('s1'), NOW), 'ERR_SCHED_SCHEDULE_EXISTS'],
    ['add to a missing job', (s) => addSchedule(s, 'b.job', cron('s2'), NOW), 'ERR_SCHED_JOB_NOT_FOUND'],
    ['add an invalid schedule', (s) => addSchedule(s, 'a.job', cron('s2', '* *'), NOW), 'ERR_SCHED_INVALID'],
    ['replace in place', (s) => replaceSchedule(s, 'a.job', 's1', { cron: '0 * * * *' }, NOW), { schedules: ['s1'] }],
    ['replace a missing schedule', (s) => replaceSchedule(s, 'a.job', 's9', { cron: '0 * * * *' }, NOW), 'ERR_SCHED_SCHEDULE_NOT_FOUND'],
    ['remove', (s) => removeSchedule(s, 'a.job', 's1', NOW), { schedules: [] }],
    ['remove a missing schedule', (s) => removeSchedule(s, 'a.job', 's9', NOW), 'ERR_SCHED_SCHEDULE_NOT_FOUND'],
  ];
  for (const [name, change, expected] of cases) {
    await t.test(name, () => {
      const result = after(base, change(base));
      if (typeof expected === 'string' && expected !== 'gone') return assert.equal(result, expected);
      assert.ok(typeof result !== 'string', String(result));
      const job = result.jobs.get('a.job');
      if (expected === 'gone') return assert.equal(job, undefined);
      assert.deepEqual(job?.schedules.map((s) => s.id), expected.schedules);
      if (expected.cmd !== undefined) assert.equal(job?.run.cmd, expected.cmd);
    });
  }
});

test('each change emits Metronome\'s event with the job as it is (as it was, for a delete)', () => {
  const cases: Array<[JobChange<unknown> | Refused, string, string[]]> = [
    [createJob(emptyState(), { id: 'b', run: { cmd: 'x' } }, NOW), 'job_created', []],
    [addSchedule(base, 'a.job', cron('s2'), NOW), 'job_updated', ['s1', 's2']],
    [removeSchedule(base, 'a.job', 's1', NOW), 'job_updated', []],
    [deleteJob(base, 'a.job', CONTEXT), 'job_deleted', ['s1']],
  ];
  for (const [change, eventType, schedules] of cases) {
    assert.ok(change.ok);
    const [event] = change.events;
    assert.equal(event?.eventType, eventType);
    assert.ok(event !== undefined && 'job' in event);
    assert.deepEqual((event.job.schedules as Array<{ id: string }>).map((s) => s.id), schedules);
  }
});

test('a job view embeds what was asked', () => {
  const job = base.jobs.get('a.job');
  assert.ok(job);
  const cases: Array<[string[], string[]]> = [
    [[], ['id', 'labels', 'run']],
    [['schedules'], ['id', 'labels', 'run', 'schedules']],
    [['activeRuns', 'history', 'historySummary'], ['activeRuns', 'history', 'historySummary', 'id', 'labels', 'run']],
  ];
  for (const [embed, keys] of cases) {
    const parsed = parseEmbeds(embed);
    assert.ok(parsed.ok);
    assert.deepEqual(Object.keys(jobView(job, parsed.embeds, historyOf(base, 'a.job'), [])).sort(), keys);
  }
  assert.deepEqual(parseEmbeds(['schedules', 'runs']), { ok: false, details: [{ path: '/embed', errors: ["unknown embed 'runs'; one of activeRuns, schedules, history, historySummary"] }] });
});
