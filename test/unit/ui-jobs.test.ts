import assert from 'node:assert/strict';
import { test } from 'node:test';
import { foldEvent, viewOf, type ClusterView, type StreamEvent } from '../../src/ui/core/cluster.ts';
import { EMPTY_HISTORY, foldJobEvent, historyEntries, jobPath, jobStatus, lastRun, runsSettling, type Job, type JobHistory, type JobRun } from '../../src/ui/core/jobs.ts';

const definition = { id: 'team-a.nightly', run: { cmd: 'echo hi', cpus: 0.1, mem: 32 } };
const listed = { ...definition, schedules: [{ id: 'n', cron: '0 2 * * *' }], activeRuns: [], history: { ...EMPTY_HISTORY } };
const run = (over: Partial<JobRun> = {}): JobRun => ({ id: 'r1', jobId: 'team-a.nightly', status: 'INITIAL', createdAt: 'T1', tasks: [], ...over });
const fold = (view: ClusterView, events: StreamEvent[]): ClusterView => events.reduce((v, e) => foldEvent(v, e).view, view);
const job = (v: ClusterView): Job | undefined => v.jobs.get('team-a.nightly');

test('job events on the view (table-driven)', () => {
  const start = viewOf([], [], [], [listed]);
  const done = run({ status: 'SUCCESS', completedAt: 'T2', message: 'TASK_FINISHED', tasks: [{ id: 'team-a_nightly.t1' }] });
  const failed = run({ id: 'r2', status: 'FAILED', completedAt: 'T3', message: 'TASK_FAILED: exit 1' });
  const cases: Array<[string, StreamEvent[], (v: ClusterView) => unknown, unknown]> = [
    ['listed with its schedules', [], (v) => job(v)?.schedules.map((s) => s.cron), ['0 2 * * *']],
    ['a job created', [{ eventType: 'job_created', job: { id: 'b', run: {} } }], (v) => [...v.jobs.keys()], ['team-a.nightly', 'b']],
    ['an update keeps runs and history', [{ eventType: 'job_run_started', jobRun: run() }, { eventType: 'job_updated', job: { ...definition, description: 'd', schedules: [] } }],
      (v) => [job(v)?.description, job(v)?.schedules.length, job(v)?.activeRuns.length], ['d', 0, 1]],
    ['a job deleted', [{ eventType: 'job_deleted', job: definition }], (v) => v.jobs.size, 0],
    ['a run started is active', [{ eventType: 'job_run_started', jobRun: run() }], (v) => job(v)?.activeRuns.map((r) => r.id), ['r1']],
    ['a run finished goes to the successes', [{ eventType: 'job_run_started', jobRun: run() }, { eventType: 'job_run_finished', jobRun: done }],
      (v) => [job(v)?.activeRuns.length, job(v)?.history.successCount, job(v)?.history.lastSuccessAt, job(v)?.history.successfulFinishedRuns.map((r) => [r.id, r.finishedAt, r.message, r.tasks.length])],
      [0, 1, 'T2', [['r1', 'T2', 'TASK_FINISHED', 1]]]],
    ['a run failed goes to the failures with its message', [{ eventType: 'job_run_started', jobRun: failed }, { eventType: 'job_run_failed', jobRun: failed }],
      (v) => [job(v)?.history.failureCount, job(v)?.history.failedFinishedRuns[0]?.message], [1, 'TASK_FAILED: exit 1']],
    ['a replayed end is counted once', [{ eventType: 'job_run_finished', jobRun: done }, { eventType: 'job_run_started', jobRun: run() }, { eventType: 'job_run_finished', jobRun: done }],
      (v) => [job(v)?.history.successCount, job(v)?.activeRuns.length], [1, 0]],
    ['a run of an unknown job is ignored', [{ eventType: 'job_run_started', jobRun: run({ jobId: 'nope' }) }], (v) => v === start, true],
    ['malformed job events change nothing', [{ eventType: 'job_created' }, { eventType: 'job_deleted' }, { eventType: 'job_run_failed' }], (v) => v === start, true],
  ];
  for (const [name, events, pick, expected] of cases) assert.deepEqual(pick(fold(start, events)), expected, name);
});

test('a job task\'s status update reads the jobs again; an app\'s does not (table-driven)', () => {
  const active = viewOf([], [], [], [{ ...listed, activeRuns: [run()] }]);
  const idle = viewOf([], [], [], [listed]);
  const status = (appId: string): StreamEvent => ({ eventType: 'status_update_event', appId, taskId: 't', taskStatus: 'TASK_RUNNING' });
  const cases: Array<[string, ClusterView, StreamEvent, string | undefined]> = [
    ['a task of the job with an active run', active, status('/team-a/nightly'), 'jobs'],
    ['a task of an app', active, status('/team-a/web'), 'queue'],
    ['the job has no active run', idle, status('/team-a/nightly'), 'queue'],
  ];
  for (const [name, view, event, refresh] of cases) assert.equal(foldEvent(view, event).refresh, refresh, name);
  assert.equal(foldJobEvent(active.jobs, status('/team-a/nightly')).jobs, active.jobs, 'the jobs themselves are unchanged');
});

test('jobPath, lastRun, jobStatus and historyEntries (table-driven)', () => {
  assert.equal(jobPath('team-a.nightly-report'), '/team-a/nightly-report');
  const h = (over: Partial<JobHistory>): JobHistory => ({ ...EMPTY_HISTORY, ...over });
  const lastCases: Array<[string, JobHistory, unknown]> = [
    ['never', h({}), { status: 'NEVER' }],
    ['a success', h({ lastSuccessAt: 'T2' }), { status: 'SUCCESS', at: 'T2' }],
    ['a failure after a success', h({ lastSuccessAt: 'T2', lastFailureAt: 'T3' }), { status: 'FAILED', at: 'T3' }],
    ['a success after a failure', h({ lastSuccessAt: 'T4', lastFailureAt: 'T3' }), { status: 'SUCCESS', at: 'T4' }],
  ];
  for (const [name, history, want] of lastCases) assert.deepEqual(lastRun(history), want, name);

  const j = (over: Partial<Job>): Job => ({ ...listed, ...over });
  const statusCases: Array<[string, Job, string]> = [
    ['never run', j({}), 'Never run'],
    ['a run waiting', j({ activeRuns: [run()] }), 'Starting'],
    ['a run active', j({ activeRuns: [run(), run({ id: 'r2', status: 'ACTIVE' })] }), 'Running'],
    ['last failed', j({ history: h({ lastFailureAt: 'T1' }) }), 'Failed'],
    ['last succeeded', j({ history: h({ lastSuccessAt: 'T1' }) }), 'Succeeded'],
  ];
  for (const [name, value, want] of statusCases) assert.equal(jobStatus(value), want, name);

  const entries = historyEntries(h({
    successfulFinishedRuns: [{ id: 'a', createdAt: 'T1', finishedAt: 'T2', tasks: [] }],
    failedFinishedRuns: [{ id: 'b', createdAt: 'T3', finishedAt: 'T4', message: 'TASK_FAILED', tasks: [] }],
    skippedSlots: [{ scheduleId: 'n', scheduledAt: 'T3', reason: 'forbidden-concurrent' }],
  }));
  assert.deepEqual(entries.map((e) => [e.kind, e.at]), [['failure', 'T4'], ['skipped', 'T3'], ['success', 'T2']]);
});

test('runsSettling: a run INITIAL or STARTING is read again on the heartbeat (table-driven)', () => {
  const cases: Array<[string, JobRun[], boolean]> = [
    ['no runs', [], false],
    ['waiting to be placed', [run()], true],
    ['starting', [run({ status: 'STARTING' })], true],
    ['active', [run({ status: 'ACTIVE' })], false],
    ['one active, one starting', [run({ status: 'ACTIVE' }), run({ id: 'r2', status: 'STARTING' })], true],
  ];
  for (const [name, runs, want] of cases) assert.equal(runsSettling(viewOf([], [], [], [{ ...listed, activeRuns: runs }]).jobs), want, name);
});
