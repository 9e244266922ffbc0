import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activeRunCells, durationText, historyView, logTaskOf, parseEnvPairs, progressLines, runsOfJob, runView, type RunView } from '../../src/cli/client/core/job-runs.ts';

type Json = Record<string, unknown>;

const task = (id: string, status: string): Json => ({ id, agentId: 'agent-1', status });

test('parseEnvPairs: NAME=value words, = allowed in values, refusals', async (t) => {
  const cases: Array<[name: string, words: string[], expected: ReturnType<typeof parseEnvPairs>]> = [
    ['none', [], { ok: true, env: {} }],
    ['two', ['A=1', 'B=x y'], { ok: true, env: { A: '1', B: 'x y' } }],
    ['= in value, empty value', ['URL=a=b', 'E='], { ok: true, env: { URL: 'a=b', E: '' } }],
    ['later wins', ['A=1', 'A=2'], { ok: true, env: { A: '2' } }],
    ['no =', ['A'], { ok: false, error: "--env takes NAME=value, not 'A'" }],
    ['empty name', ['=1'], { ok: false, error: "--env takes NAME=value, not '=1'" }],
  ];
  for (const [name, words, expected] of cases) await t.test(name, () => assert.deepEqual(parseEnvPairs(words), expected));
});

test('runView: the run\'s status, moved on by its current task\'s status events, never by an old task\'s', async (t) => {
  const cases: Array<[name: string, run: Json, states: Array<[string, string]>, expected: RunView]> = [
    ['no task yet', { status: 'INITIAL', tasks: [] }, [], { status: 'INITIAL', message: '', taskId: '', agentId: '', attempts: 0 }],
    ['waiting, with why', { status: 'INITIAL', message: 'no agent has 5 cpus', tasks: [] }, [], { status: 'INITIAL', message: 'no agent has 5 cpus', taskId: '', agentId: '', attempts: 0 }],
    ['starting', { status: 'STARTING', tasks: [task('t1', 'TASK_STAGING')] }, [], { status: 'STARTING', message: '', taskId: 't1', agentId: 'agent-1', attempts: 1 }],
    ['running event ahead of the run', { status: 'STARTING', tasks: [task('t1', 'TASK_STAGING')] }, [['t1', 'TASK_RUNNING']], { status: 'ACTIVE', message: '', taskId: 't1', agentId: 'agent-1', attempts: 1 }],
    ['ended task leaves ACTIVE as is', { status: 'ACTIVE', tasks: [task('t1', 'TASK_RUNNING')] }, [['t1', 'TASK_FINISHED']], { status: 'ACTIVE', message: '', taskId: 't1', agentId: 'agent-1', attempts: 1 }],
    ['a staging event does not move ACTIVE back', { status: 'ACTIVE', tasks: [task('t1', 'TASK_RUNNING')] }, [['t1', 'TASK_STAGING']], { status: 'ACTIVE', message: '', taskId: 't1', agentId: 'agent-1', attempts: 1 }],
    ['restarting: the old task\'s state is not the run\'s', { status: 'INITIAL', message: 'restarting after TASK_FAILED: exit 2', tasks: [task('t1', 'TASK_FAILED')] }, [['t1', 'TASK_RUNNING']],
      { status: 'INITIAL', message: 'restarting after TASK_FAILED: exit 2', taskId: 't1', agentId: 'agent-1', attempts: 1 }],
    ['another task\'s event', { status: 'STARTING', tasks: [task('t1', 'TASK_FAILED'), task('t2', 'TASK_STAGING')] }, [['t1', 'TASK_RUNNING']],
      { status: 'STARTING', message: '', taskId: 't2', agentId: 'agent-1', attempts: 2 }],
    ['finished', { status: 'SUCCESS', message: 'TASK_FINISHED', tasks: [task('t1', 'TASK_FINISHED')] }, [['t1', 'TASK_RUNNING']],
      { status: 'SUCCESS', message: 'TASK_FINISHED', taskId: 't1', agentId: 'agent-1', attempts: 1 }],
  ];
  for (const [name, run, states, expected] of cases) await t.test(name, () => assert.deepEqual(runView(run, new Map(states)), expected));
});

test('progressLines: one line per change of status, message or task; none when nothing changed', async (t) => {
  const view = (over: Partial<RunView>): RunView => ({ status: 'INITIAL', message: '', taskId: '', agentId: '', attempts: 0, ...over });
  const starting = view({ status: 'STARTING', taskId: 't1', agentId: 'a1', attempts: 1 });
  const cases: Array<[name: string, before: RunView | undefined, now: RunView, lines: string[]]> = [
    ['first', undefined, view({}), ['INITIAL  waiting to be placed']],
    ['same', view({}), view({}), []],
    ['waits for resources', view({}), view({ message: 'no agent fits' }), ['INITIAL  no agent fits']],
    ['placed', view({}), starting, ['STARTING task t1 on agent a1']],
    ['running', starting, { ...starting, status: 'ACTIVE' }, ['ACTIVE   task t1 on agent a1']],
    ['restart', { ...starting, status: 'ACTIVE' }, view({ message: 'restarting after TASK_FAILED: exit 2', taskId: 't1', agentId: 'a1', attempts: 1 }), ['INITIAL  restarting after TASK_FAILED: exit 2']],
    ['second attempt', view({ taskId: 't1', attempts: 1 }), view({ status: 'STARTING', taskId: 't2', agentId: 'a2', attempts: 2 }), ['STARTING task t2 on agent a2 (attempt 2)']],
    ['success', starting, view({ status: 'SUCCESS', message: 'TASK_FINISHED' }), ['SUCCESS  TASK_FINISHED']],
    ['failure', starting, view({ status: 'FAILED', message: 'stopped by hand' }), ['FAILED   stopped by hand']],
  ];
  for (const [name, before, now, lines] of cases) await t.test(name, () => assert.deepEqual(progressLines(before, now), lines));
});

test('runsOfJob and logTaskOf: active and finished runs newest first; a run\'s last task', async (t) => {
  const job = {
    activeRuns: [{ id: 'r3', status: 'ACTIVE', createdAt: '2026-12-06T10:03:00.000Z', tasks: [task('t3', 'TASK_RUNNING')] }],
    history: {
      successfulFinishedRuns: [{ id: 'r1', createdAt: '2026-12-06T10:01:00.000Z', tasks: [task('t1a', 'TASK_FAILED'), task('t1b', 'TASK_FINISHED')] }],
      failedFinishedRuns: [{ id: 'r4', createdAt: '2026-12-06T10:04:00.000Z', tasks: [] }, { id: 'r2', createdAt: '2026-12-06T10:02:00.000Z', tasks: [] }],
    },
  };
  const cases: Array<[name: string, job: Json, ids: string[]]> = [
    ['all kinds', job, ['r4', 'r3', 'r2', 'r1']],
    ['nothing', {}, []],
  ];
  for (const [name, j, ids] of cases) await t.test(name, () => assert.deepEqual(runsOfJob(j).map((r) => `${String(r.id)}`), ids));
  await t.test('statuses', () => assert.deepEqual(runsOfJob(job).map((r) => r.status), ['FAILED', 'ACTIVE', 'FAILED', 'SUCCESS']));
  await t.test('last task', () => assert.equal(logTaskOf(runsOfJob(job)[3] as Json)?.id, 't1b'));
  await t.test('no task', () => assert.equal(logTaskOf(runsOfJob(job)[0] as Json), undefined));
});

test('durationText: ms, s, m and s, h and m; - when unknown', async (t) => {
  const at = (ms: number): string => new Date(Date.UTC(2026, 11, 6) + ms).toISOString();
  const cases: Array<[ms: number, text: string]> = [[850, '850ms'], [12_400, '12s'], [184_000, '3m4s'], [7_500_000, '2h5m']];
  for (const [ms, text] of cases) await t.test(text, () => assert.equal(durationText(at(0), at(ms)), text));
  await t.test('unknown', () => assert.equal(durationText('', at(0)), '-'));
});

test('activeRunCells: id, status, age, slot, current task, agent, message', async (t) => {
  const now = Date.parse('2026-12-06T10:00:30.000Z');
  const cases: Array<[name: string, run: Json, cells: string[]]> = [
    ['scheduled, running', { id: 'r1', status: 'ACTIVE', createdAt: '2026-12-06T10:00:00.000Z', scheduledAt: '2026-12-06T10:00:00.000Z', tasks: [task('t1', 'TASK_RUNNING')] },
      ['r1', 'ACTIVE', '30s', '2026-12-06T10:00:00.000Z', 't1', 'agent-1', '-']],
    ['by hand, waiting', { id: 'r2', status: 'INITIAL', createdAt: '2026-12-06T10:00:25.000Z', message: 'no agent fits', tasks: [] }, ['r2', 'INITIAL', '5s', '-', '-', '-', 'no agent fits']],
  ];
  for (const [name, run, cells] of cases) await t.test(name, () => assert.deepEqual(activeRunCells(run, now), cells));
});

test('historyView: counts, finished runs by when they finished, skipped slots and ranges', async (t) => {
  const history = {
    successCount: 7, failureCount: 1, lastSuccessAt: '2026-12-06T10:05:00.000Z', lastFailureAt: '2026-12-06T10:02:01.000Z',
    successfulFinishedRuns: [{ id: 'r5', createdAt: '2026-12-06T10:04:58.000Z', finishedAt: '2026-12-06T10:05:00.000Z', scheduledAt: '2026-12-06T10:04:58.000Z', message: 'TASK_FINISHED' }],
    failedFinishedRuns: [{ id: 'r2', createdAt: '2026-12-06T10:02:00.000Z', finishedAt: '2026-12-06T10:02:01.000Z', message: 'TASK_FAILED: exit 3' }],
    skippedSlots: [
      { scheduleId: 's', scheduledAt: '2026-12-06T10:03:00.000Z', reason: 'forbidden-concurrent' },
      { scheduleId: 's', scheduledAt: '2026-12-05T00:00:00.000Z', until: '2026-12-06T09:00:00.000Z', reason: 'missed-deadline' },
    ],
  };
  const view = historyView(history);
  await t.test('summary', () => assert.equal(view.summary, '7 succeeded (last 2026-12-06T10:05:00.000Z), 1 failed (last 2026-12-06T10:02:01.000Z)'));
  await t.test('empty summary', () => assert.equal(historyView({}).summary, '0 succeeded, 0 failed'));
  await t.test('finished', () => assert.deepEqual(view.finished, [
    ['r5', 'SUCCESS', '2026-12-06T10:04:58.000Z', '2s', '2026-12-06T10:04:58.000Z', 'TASK_FINISHED'],
    ['r2', 'FAILED', '2026-12-06T10:02:00.000Z', '1s', '-', 'TASK_FAILED: exit 3'],
  ]));
  await t.test('skipped', () => assert.deepEqual(view.skipped, [
    ['s', '2026-12-06T10:03:00.000Z', 'forbidden-concurrent'],
    ['s', '2026-12-05T00:00:00.000Z .. 2026-12-06T09:00:00.000Z', 'missed-deadline'],
  ]));
});
