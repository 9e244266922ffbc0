import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jobDefinitionOf, jobFormOf, NEW_JOB_FORM, type JobForm } from '../../src/ui/core/job-form.ts';
import { describeSlot, nextSlot } from '../../src/ui/core/job-schedule.ts';

const form = (over: Partial<JobForm>): JobForm => ({ ...NEW_JOB_FORM, ...over });

test('jobDefinitionOf: a new job from the form, with a schedule when a cron is given (table-driven)', () => {
  const cases: [string, JobForm, Record<string, unknown>][] = [
    ['no schedule', form({ id: ' team-a.report ', cmd: 'echo hi' }), { id: 'team-a.report', run: { cmd: 'echo hi', cpus: 0.1, mem: 64 } }],
    ['a schedule, env, labels, disk, a bad number as typed', form({ id: 'a', cmd: 'x', cpus: 'lots', disk: '10', env: 'DAY=mon', labels: 'team=a', description: 'nightly', cron: '0 2 * * *', timeZone: 'Europe/Berlin', concurrencyPolicy: 'FORBID' }), {
      id: 'a', description: 'nightly', labels: { team: 'a' }, run: { cmd: 'x', cpus: 'lots', mem: 64, disk: 10, env: { DAY: 'mon' } },
      schedules: [{ id: 'default', cron: '0 2 * * *', timeZone: 'Europe/Berlin', concurrencyPolicy: 'FORBID' }],
    }],
  ];
  for (const [name, f, expected] of cases) assert.deepEqual(jobDefinitionOf(f), expected, name);
});

test('jobFormOf then jobDefinitionOf: an edit keeps what the form does not show', () => {
  const base = {
    id: 'a', run: { cmd: 'x', cpus: 1, mem: 128, env: { A: '1' }, restart: { policy: 'ON_FAILURE' }, artifacts: [] }, labels: {},
    schedules: [{ id: 'nightly', cron: '0 2 * * *', timeZone: 'UTC', concurrencyPolicy: 'ALLOW', enabled: true, startingDeadlineSeconds: 60 }],
  };
  const shown = jobFormOf(base);
  assert.deepEqual(shown, { id: 'a', description: '', cmd: 'x', cpus: '1', mem: '128', disk: '', env: 'A=1', labels: '', cron: '0 2 * * *', timeZone: 'UTC', concurrencyPolicy: 'ALLOW' });
  assert.deepEqual(jobDefinitionOf(shown, base), base);
  assert.deepEqual(jobDefinitionOf({ ...shown, mem: '256', cron: '30 3 * * *' }, base), {
    ...base, run: { ...base.run, mem: 256 }, schedules: [{ ...base.schedules[0], cron: '30 3 * * *' }],
  });
});

test('nextSlot and describeSlot: croner in the schedule\'s zone, as the scheduler reads it (table-driven)', () => {
  const now = new Date('2026-03-28T12:00:00Z');
  const cases: [cron: string, zone: string, enabled: boolean, slot: string | undefined, words: string][] = [
    ['0 2 * * *', 'UTC', true, '2026-03-29T02:00:00.000Z', '2026-03-29 02:00 UTC (in 14h 0m)'],
    // The DST gap: 02:30 does not exist in Berlin on 2026-03-29; it runs at 03:00 CEST (01:00 UTC), as docs/jobs.md says.
    ['30 2 * * *', 'Europe/Berlin', true, '2026-03-29T01:00:00.000Z', '2026-03-29 03:00 Europe/Berlin (in 13h 0m)'],
    ['*/5 * * * *', 'UTC', true, '2026-03-28T12:05:00.000Z', '2026-03-28 12:05 UTC (in 5m)'],
    ['0 2 * * *', 'UTC', false, undefined, 'none'],
    ['not a cron', 'UTC', true, undefined, 'none'],
  ];
  for (const [cron, timeZone, enabled, slot, words] of cases) {
    const next = nextSlot({ id: 's', cron, timeZone, enabled }, now);
    assert.equal(next?.toISOString(), slot, cron);
    assert.equal(describeSlot(next, timeZone, now.getTime()), words, cron);
  }
});
