import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOps, emptyState } from '../../src/scheduler/core/state-ops.ts';
import { advanceRuns, finishRun, historyOf, runKey, runLaunched, runTaskLaunch, type RunContext } from '../../src/scheduler/jobs/core/runs.ts';
import { tickKey, tickOps, tickSchedules } from '../../src/scheduler/jobs/core/schedule-ticks.ts';
import type { JobRun, JobSchedule, StoredJob } from '../../src/scheduler/jobs/types.ts';
import type { TaskState } from '../../src/events/types.ts';
import type { ClusterState, Instance, StateOp } from '../../src/scheduler/types.ts';

const T0 = '2026-03-01T10:00:00.000Z';
const at = (seconds: number): string => new Date(Date.parse(T0) + seconds * 1000).toISOString();

function context(seconds: number): RunContext {
  let n = 0;
  return { now: at(seconds), nowMs: Date.parse(at(seconds)), newRunId: () => `r${seconds}-${++n}` };
}

function job(id: string, overrides: Partial<StoredJob> = {}, run: Partial<StoredJob['run']> = {}): StoredJob {
  return {
    id, labels: {}, schedules: [],
    run: { cmd: 'true', cpus: 0.1, mem: 32, disk: 0, env: {}, artifacts: [], placement: { constraints: [] }, maxLaunchDelay: 60, restart: { policy: 'NEVER' }, ...run },
    ...overrides,
  };
}

function schedule(overrides: Partial<JobSchedule> = {}): JobSchedule {
  return { id: 's', cron: '* * * * * *', timeZone: 'UTC', startingDeadlineSeconds: 900, concurrencyPolicy: 'ALLOW', enabled: true, catchUp: 'ONE', ...overrides };
}

function runOf(jobId: string, id: string, overrides: Partial<JobRun> = {}): JobRun {
  return { id, jobId, status: 'INITIAL', createdAt: T0, tasks: [], failures: 0, ...overrides };
}

function state(jobs: StoredJob[], runs: JobRun[] = [], extra: StateOp[] = []): ClusterState {
  return applyOps(emptyState(), [
    ...jobs.map((j): StateOp => ({ op: 'put', coll: 'jobs', key: j.id, value: j })),
    ...runs.map((r): StateOp => ({ op: 'put', coll: 'jobRuns', key: runKey(r.jobId, r.id), value: r })),
    ...extra,
  ]);
}

/** A run launched on agent `a` with its task in `taskState`. */
function launched(j: StoredJob, run: JobRun, taskState: TaskState): { run: JobRun; task: Instance } {
  const { instance, change } = runLaunched(run, j, { taskId: `task-${run.id}`, agentId: 'a', host: '127.0.0.1' }, T0);
  const put = change.ops[0] as { value: JobRun };
  return { run: put.value, task: { ...instance, state: taskState } };
}

const taskOp = (task: Instance): StateOp => ({ op: 'put', coll: 'instances', key: task.taskId, value: task });

test('advanceRuns: a run by its task, its wait, its deadline (table-driven)', async (t) => {
  const never = job('j');
  const retry = job('j', {}, { restart: { policy: 'ON_FAILURE' } });
  const deadline = job('j', {}, { restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 30 } });
  type Expect = { status?: string; ended?: 'SUCCESS' | 'FAILED'; message?: RegExp; launches?: number; launchAfter?: string; taskGone?: boolean; taskGoal?: string };
  const cases: Array<[name: string, jobDef: StoredJob | undefined, build: (j: StoredJob) => { run: JobRun; task?: Instance }, seconds: number, expected: Expect]> = [
    ['a new run asks for a launch', never, () => ({ run: runOf('j', 'r') }), 1, { status: 'INITIAL', launches: 1 }],
    ['a run in backoff waits', retry, () => ({ run: runOf('j', 'r', { launchAfter: at(5), failures: 1 }) }), 4, { status: 'INITIAL', launches: 0 }],
    ['a run after its backoff asks for a launch', retry, () => ({ run: runOf('j', 'r', { launchAfter: at(5), failures: 1 }) }), 5, { status: 'INITIAL', launches: 1 }],
    ['a run not placed within maxLaunchDelay fails', never, () => ({ run: runOf('j', 'r', { message: 'no agent with mem' }) }), 61, { ended: 'FAILED', message: /^not launched within maxLaunchDelay \(60 s\): no agent with mem$/ }],
    ['a staging task: STARTING', never, (j) => launched(j, runOf('j', 'r'), 'TASK_STAGING'), 1, { status: 'STARTING' }],
    ['a running task: ACTIVE', never, (j) => launched(j, runOf('j', 'r'), 'TASK_RUNNING'), 1, { status: 'ACTIVE' }],
    ['a finished task: SUCCESS, the task forgotten', never, (j) => launched(j, runOf('j', 'r'), 'TASK_FINISHED'), 1, { ended: 'SUCCESS', taskGone: true }],
    ['a failed task, NEVER: FAILED', never, (j) => launched(j, runOf('j', 'r'), 'TASK_FAILED'), 1, { ended: 'FAILED', message: /^TASK_FAILED/, taskGone: true }],
    ['a failed task, ON_FAILURE: restart after 1 s', retry, (j) => launched(j, runOf('j', 'r'), 'TASK_FAILED'), 1, { status: 'INITIAL', launchAfter: at(2), message: /^restarting after TASK_FAILED/, taskGone: true }],
    ['the third failure waits 4 s', retry, (j) => launched(j, runOf('j', 'r', { failures: 2 }), 'TASK_FAILED'), 10, { status: 'INITIAL', launchAfter: at(14) }],
    ['no restart past the active deadline', deadline, (j) => launched(j, runOf('j', 'r', { failures: 5 }), 'TASK_FAILED'), 10, { ended: 'FAILED', message: /after the active deadline/ }],
    ['a vanished task counts as lost', retry, (j) => ({ run: launched(j, runOf('j', 'r'), 'TASK_RUNNING').run }), 1, { status: 'INITIAL', message: /^restarting after TASK_LOST/ }],
    ['an overrun run is stopped: FAILED, its task killed', deadline, (j) => launched(j, runOf('j', 'r'), 'TASK_RUNNING'), 31, { ended: 'FAILED', message: /^active deadline of 30 s exceeded$/, taskGoal: 'stopped' }],
    ['a run of a deleted job is stopped', undefined, () => launched(never, runOf('j', 'r'), 'TASK_RUNNING'), 1, { ended: 'FAILED', message: /its job was deleted/, taskGoal: 'stopped' }],
  ];
  for (const [name, jobDef, build, seconds, expected] of cases) {
    await t.test(name, () => {
      const { run, task } = build(jobDef ?? never);
      const before = state(jobDef === undefined ? [] : [jobDef], [run], task === undefined ? [] : [taskOp(task)]);
      const change = advanceRuns(before, context(seconds));
      const afterState = applyOps(before, change.ops);
      const stored = afterState.jobRuns.get(runKey('j', 'r'));
      if (expected.ended !== undefined) {
        assert.equal(stored, undefined, 'an ended run leaves the active runs');
        const history = historyOf(afterState, 'j');
        const list = expected.ended === 'SUCCESS' ? history.successfulFinishedRuns : history.failedFinishedRuns;
        assert.equal(list[0]?.id, 'r');
        const event = change.events.find((e) => e.eventType === (expected.ended === 'SUCCESS' ? 'job_run_finished' : 'job_run_failed'));
        assert.ok(event, change.events.map((e) => e.eventType).join());
        if (expected.message !== undefined) assert.match(String(list[0]?.message), expected.message);
      } else {
        assert.equal(stored?.status, expected.status);
        if (expected.message !== undefined) assert.match(String(stored?.message), expected.message);
        if (expected.launchAfter !== undefined) assert.equal(stored?.launchAfter, expected.launchAfter);
      }
      if (expected.launches !== undefined) assert.equal(change.launches.length, expected.launches);
      if (expected.taskGone === true) assert.equal(afterState.instances.get(task?.taskId ?? ''), undefined);
      if (expected.taskGoal !== undefined) assert.equal(afterState.instances.get(task?.taskId ?? '')?.goal, expected.taskGoal);
    });
  }
});

test('advanceRuns changes nothing on a second pass over its own result', () => {
  const j = job('j', {}, { restart: { policy: 'ON_FAILURE' } });
  const { run, task } = launched(j, runOf('j', 'r'), 'TASK_RUNNING');
  const first = state([j], [run], [taskOp(task)]);
  const once = applyOps(first, advanceRuns(first, context(1)).ops);
  const again = advanceRuns(once, context(1));
  assert.deepEqual([again.ops, again.events, again.launches], [[], [], []]);
});

test('tickSchedules: slots into runs or skips, the tick moved on with them (table-driven)', async (t) => {
  const tickAt = (s: JobSchedule, seconds: number): StateOp => ({ op: 'put', coll: 'jobTicks', key: tickKey('j', s.id), value: { lastEvaluatedAt: at(seconds), cron: s.cron, timeZone: s.timeZone, enabled: s.enabled } });
  type Expect = { started: string[]; skipped: Array<[string, string]>; stopped?: string[]; tick: string };
  const every = schedule();
  const forbid = schedule({ concurrencyPolicy: 'FORBID' });
  const replace = schedule({ concurrencyPolicy: 'REPLACE' });
  const minutely = schedule({ cron: '0 * * * * *' });
  const cases: Array<[name: string, s: JobSchedule, extra: StateOp[], runs: JobRun[], seconds: number, expected: Expect]> = [
    ['a schedule without a tick starts counting now', every, [], [], 3, { started: [], skipped: [], tick: at(3) }],
    ['a changed cron starts counting again', every, [tickAt({ ...every, cron: '0 * * * * *' }, 0)], [], 3, { started: [], skipped: [], tick: at(3) }],
    ['each slot of the window runs', every, [tickAt(every, 0)], [], 2, { started: [at(1), at(2)], skipped: [], tick: at(2) }],
    ['a window without a slot writes nothing', schedule({ cron: '0 0 * * * *' }), [tickAt(schedule({ cron: '0 0 * * * *' }), 0)], [], 2, { started: [], skipped: [], tick: at(0) }],
    ['FORBID skips a slot while a run is active', forbid, [tickAt(forbid, 0)], [runOf('j', 'old', { status: 'ACTIVE' })], 1, { started: [], skipped: [[at(1), 'forbidden-concurrent']], tick: at(1) }],
    ['REPLACE stops the active run first', replace, [tickAt(replace, 0)], [runOf('j', 'old', { status: 'ACTIVE' })], 1, { started: [at(1)], skipped: [], stopped: ['old'], tick: at(1) }],
    ['slots missed while down, past the grace: ONE runs the latest', minutely, [tickAt(minutely, -1)], [], 135, { started: [at(120)], skipped: [[at(0), 'catch-up-one'], [at(60), 'catch-up-one']], tick: at(135) }],
    ['ALL runs each of them', schedule({ cron: '0 * * * * *', catchUp: 'ALL' }), [tickAt(schedule({ cron: '0 * * * * *', catchUp: 'ALL' }), -1)], [], 135, { started: [at(0), at(60), at(120)], skipped: [], tick: at(135) }],
    ['NONE runs none of them', schedule({ cron: '0 * * * * *', catchUp: 'NONE' }), [tickAt(schedule({ cron: '0 * * * * *', catchUp: 'NONE' }), -1)], [], 135, { started: [], skipped: [[at(0), 'catch-up-none'], [at(60), 'catch-up-none'], [at(120), 'catch-up-none']], tick: at(135) }],
    ['an on-time slot runs whatever the catch-up', minutely, [tickAt(minutely, -1)], [], 125, { started: [at(120)], skipped: [[at(0), 'catch-up-one'], [at(60), 'catch-up-one']], tick: at(125) }],
    ['slots past the starting deadline are recorded missed', schedule({ cron: '0 * * * * *', startingDeadlineSeconds: 30 }), [tickAt(schedule({ cron: '0 * * * * *', startingDeadlineSeconds: 30 }), -1)], [], 120, { started: [at(120)], skipped: [[at(0), 'missed-deadline'], [at(60), 'missed-deadline']], tick: at(120) }],
    ['a disabled schedule decides nothing', schedule({ enabled: false }), [tickAt(schedule({ enabled: false }), 0)], [], 5, { started: [], skipped: [], tick: at(0) }],
  ];
  for (const [name, s, extra, runs, seconds, expected] of cases) {
    await t.test(name, () => {
      const j = job('j', { schedules: [s] });
      const before = state([j], runs, extra);
      const change = tickSchedules(before, context(seconds));
      const afterState = applyOps(before, change.ops);
      const started = change.events.filter((e) => e.eventType === 'job_run_started').map((e) => String((e as unknown as { jobRun: JobRun }).jobRun.scheduledAt)).sort();
      assert.deepEqual(started, expected.started.sort());
      assert.deepEqual(historyOf(afterState, 'j').skippedSlots.map((k) => [k.scheduledAt, k.reason]).sort(), expected.skipped);
      assert.deepEqual(change.events.filter((e) => e.eventType === 'job_run_failed').map((e) => (e as unknown as { jobRun: JobRun }).jobRun.id), expected.stopped ?? []);
      assert.equal(afterState.jobTicks.get(tickKey('j', s.id))?.lastEvaluatedAt, expected.tick);
      // Deciding again at the same instant decides nothing new: each slot once.
      const repeat = tickSchedules(afterState, context(seconds));
      assert.deepEqual(repeat.events, []);
    });
  }
});

test('tickOps: a new or changed schedule counts from now, an unchanged keeps its tick, a removed loses it', () => {
  const a = schedule({ id: 'a' });
  const b = schedule({ id: 'b' });
  const base = applyOps(state([job('j')]), tickOps(state([job('j')]), 'j', [a, b], at(0)));
  assert.deepEqual([...base.jobTicks.keys()].sort(), ['j a', 'j b']);
  const ops = tickOps(base, 'j', [a, { ...b, cron: '0 * * * * *' }, schedule({ id: 'c' })], at(9));
  const next = applyOps(base, ops);
  assert.equal(next.jobTicks.get('j a')?.lastEvaluatedAt, at(0));
  assert.equal(next.jobTicks.get('j b')?.lastEvaluatedAt, at(9));
  assert.equal(next.jobTicks.get('j c')?.lastEvaluatedAt, at(9));
  assert.deepEqual([...applyOps(next, tickOps(next, 'j', [], at(10))).jobTicks.keys()], []);
});

test('finishRun of a slot starts the dependents whose parents all succeeded for it; a failure skips them', () => {
  const slot = at(60);
  const parentA = job('a');
  const parentB = job('b');
  const child = job('c', { dependencies: ['a', 'b'] });
  const base = state([parentA, parentB, child]);
  const runA = runOf('a', 'ra', { scheduledAt: slot, scheduleId: 's' });
  const runB = runOf('b', 'rb', { scheduledAt: slot, scheduleId: 's' });

  const afterA = applyOps(base, finishRun(base, runA, 'SUCCESS', 'TASK_FINISHED', context(61)).ops);
  assert.equal([...afterA.jobRuns.values()].filter((r) => r.jobId === 'c').length, 0, 'b has not succeeded for the slot yet');
  const change = finishRun(afterA, runB, 'SUCCESS', 'TASK_FINISHED', context(62));
  const childRuns = [...applyOps(afterA, change.ops).jobRuns.values()].filter((r) => r.jobId === 'c');
  assert.deepEqual(childRuns.map((r) => [r.scheduledAt, r.scheduleId]), [[slot, 'after:b']]);

  const failed = applyOps(base, finishRun(base, runA, 'FAILED', 'TASK_FAILED', context(61)).ops);
  assert.deepEqual(historyOf(failed, 'c').skippedSlots.map((s) => [s.scheduledAt, s.reason]), [[slot, 'parent-failed']]);
  // A run by hand (no slot) starts nothing.
  const byHand = finishRun(base, runOf('a', 'rh'), 'SUCCESS', '', context(61));
  assert.deepEqual(byHand.events.map((e) => e.eventType), ['job_run_finished']);
});

test('run.docker: the run asks for an agent with images (and privileged containers), and its task runs in the image', async (t) => {
  const docker = { image: 'busybox', forcePullImage: true, privileged: false, parameters: [{ key: 'env', value: 'A=1' }] };
  const cases: Array<[name: string, jobDef: StoredJob, request: Record<string, unknown>, container: unknown]> = [
    ['no docker: a process on the host', job('j'), {}, undefined],
    ['docker: an image', job('j', {}, { docker }), { image: true }, { image: 'busybox', forcePull: true, volumes: [], env: { A: '1' } }],
    [
      'privileged docker',
      job('j', {}, { cmd: undefined, docker: { ...docker, privileged: true, parameters: [] } }),
      { image: true, privileged: true },
      { image: 'busybox', forcePull: true, volumes: [], privileged: true },
    ],
  ];
  for (const [name, jobDef, request, container] of cases) {
    await t.test(name, () => {
      const run = runOf('j', 'r');
      const [launch] = advanceRuns(state([jobDef], [run]), context(1)).launches;
      assert.equal(launch?.request.image, request.image);
      assert.equal(launch?.request.privileged, request.privileged);
      const { instance } = runLaunched(run, jobDef, { taskId: 'j.1', agentId: 'a', host: '127.0.0.1' }, T0);
      assert.deepEqual(runTaskLaunch(jobDef, run, instance).container, container);
    });
  }
});
