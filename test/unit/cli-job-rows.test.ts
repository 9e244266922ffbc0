import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jobCells, jobPath, labelsText, scheduleText } from '../../src/cli/client/core/job-rows.ts';

test('scheduleText: cron and time zone, UTC by default, (disabled) when off', async (t) => {
  const cases: Array<[name: string, schedule: Record<string, unknown>, text: string]> = [
    ['zone given', { id: 'n', cron: '0 2 * * *', timeZone: 'Europe/Berlin', enabled: true }, '0 2 * * * Europe/Berlin'],
    ['no zone', { id: 'n', cron: '*/10 * * * * *' }, '*/10 * * * * * UTC'],
    ['disabled', { id: 'n', cron: '0 * * * *', timeZone: 'UTC', enabled: false }, '0 * * * * UTC (disabled)'],
  ];
  for (const [name, schedule, text] of cases) await t.test(name, () => assert.equal(scheduleText(schedule), text));
});

test('labelsText: k=v pairs, - when none', async (t) => {
  const cases: Array<[name: string, labels: unknown, text: string]> = [
    ['two', { team: 'a', tier: 'batch' }, 'team=a tier=batch'],
    ['empty', {}, '-'],
    ['missing', undefined, '-'],
  ];
  for (const [name, labels, text] of cases) await t.test(name, () => assert.equal(labelsText(labels), text));
});

test('jobCells: id, description, schedules, labels', async (t) => {
  const cases: Array<[name: string, job: Record<string, unknown>, cells: string[]]> = [
    ['full', { id: 'a.b', description: 'report', labels: { x: '1' }, schedules: [{ cron: '0 2 * * *', timeZone: 'Europe/Berlin' }, { cron: '0 * * * *', enabled: false }] },
      ['a.b', 'report', '0 2 * * * Europe/Berlin, 0 * * * * UTC (disabled)', 'x=1']],
    ['bare', { id: 'c', description: '', labels: {} }, ['c', '-', '-', '-']],
  ];
  for (const [name, job, cells] of cases) await t.test(name, () => assert.deepEqual(jobCells(job), cells));
});

test('jobPath: the id as one path segment', async (t) => {
  const cases: Array<[id: string, path: string]> = [
    ['team-a.nightly', '/v1/jobs/team-a.nightly'],
    [' spaced ', '/v1/jobs/spaced'],
    ['a/b', '/v1/jobs/a%2Fb'],
  ];
  for (const [id, path] of cases) await t.test(id, () => assert.equal(jobPath(id), path));
});
