import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOps, emptyState } from '../../src/scheduler/core/state-ops.ts';
import type { Refused } from '../../src/scheduler/errors.ts';
import { createJob, deleteJob, runNow, stopRunById, type JobChange } from '../../src/scheduler/jobs/core/job-changes.ts';
import { advanceRuns, runKey, runLaunched, type RunChange } from '../../src/scheduler/jobs/core/runs.ts';
import type { ClusterState } from '../../src/scheduler/types.ts';

/**
 * A run's task that ended is kept in the state (goal running) until its run takes note
 * (agent-status.ts). When the run is ended another way first — stopped by hand, past its
 * deadline, its job deleted — in the short window between the task's end and the next
 * advanceRuns, stopRun must forget that task: nothing else would, and placement would count its
 * cpus and mem on its agent for ever (found while building the CLI's runs, #20).
 */

const CREATED = '2026-01-01T00:00:00.000Z';
const context = (now: string) => ({ now, nowMs: Date.parse(now), newRunId: () => 'r1' });

function applied<T>(state: ClusterState, change: JobChange<T> | Refused | RunChange): ClusterState {
  if ('ok' in change && !change.ok) throw new Error(change.error.code);
  return applyOps(state, change.ops);
}

/** A job whose run's task has just finished on its agent (TASK_FINISHED applied, the run not yet moved on). */
function taskJustEnded(deadline?: number): ClusterState {
  const restart = deadline === undefined ? {} : { restart: { policy: 'NEVER', activeDeadlineSeconds: deadline } };
  let state = applied(emptyState(), createJob(emptyState(), { id: 'a.job', run: { cmd: 'x', ...restart } }, CREATED));
  state = applied(state, runNow(state, 'a.job', {}, context(CREATED)));
  const run = state.jobRuns.get(runKey('a.job', 'r1'));
  const job = state.jobs.get('a.job');
  assert.ok(run !== undefined && job !== undefined);
  const { instance, change } = runLaunched(run, job, { taskId: 'a_job.t1', agentId: 'agent-1', host: 'h' }, CREATED);
  state = applyOps(state, [...change.ops, { op: 'put', coll: 'instances', key: instance.taskId, value: { ...instance, state: 'TASK_FINISHED' } }]);
  return state;
}

test('a run ended while its task had already ended leaves no instance behind', async (t) => {
  const cases: Array<[name: string, state: ClusterState, end: (s: ClusterState) => ClusterState]> = [
    ['stopped by hand', taskJustEnded(), (s) => applied(s, stopRunById(s, 'a.job', 'r1', context('2026-01-01T00:00:01.000Z')))],
    ['its job deleted with stopCurrentJobRuns', taskJustEnded(), (s) => applied(s, deleteJob(s, 'a.job', context('2026-01-01T00:00:01.000Z'), true))],
    ['past its active deadline', taskJustEnded(5), (s) => applied(s, advanceRuns(s, context('2026-01-01T00:00:06.000Z')))],
  ];
  for (const [name, state, end] of cases) {
    await t.test(name, () => {
      const after = end(state);
      assert.equal(after.jobRuns.size, 0, 'the run has ended');
      assert.deepEqual([...after.instances.keys()], [], 'its task left the state');
    });
  }
});
