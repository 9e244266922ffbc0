/**
 * Turning schedules' slots into runs, exactly once per slot (issue #20). Each schedule has a
 * `JobTick` saying up to when its slots were decided; one tick decides the window after it with
 * `dueSlots` and writes the runs, the skipped slots and the new tick in the same transaction. A
 * window is thus decided once whatever dies between ticks: an uncommitted tick is decided again
 * by whoever leads next, a committed one never. Pure: the clock and ids come in.
 */
import type { ClusterState, StateOp } from '../../types.ts';
import type { JobSchedule, JobTick, SkippedSlot, StoredJob } from '../types.ts';
import { decideSlotStart } from './concurrency.ts';
import { activeRunsOf, hasRunFor, recordSkipped, RunSteps, startRun, stopRun, type RunChange, type RunContext } from './runs.ts';
import { dueSlots, nextSlot } from './slots.ts';

export const tickKey = (jobId: string, scheduleId: string): string => `${jobId} ${scheduleId}`;

const freshTick = (schedule: JobSchedule, now: string): JobTick => ({ lastEvaluatedAt: now, cron: schedule.cron, timeZone: schedule.timeZone, enabled: schedule.enabled });

/** A tick still decided with what the schedule says now; one of another cron, zone or enabled flag starts again from now. */
const tickFits = (tick: JobTick | undefined, schedule: JobSchedule): tick is JobTick =>
  tick !== undefined && tick.cron === schedule.cron && tick.timeZone === schedule.timeZone && tick.enabled === schedule.enabled;

/**
 * The tick writes for a job's schedules as they are now (after a create or change): a new or
 * changed schedule's slots count from `now`, an unchanged one keeps its tick, a removed one's goes.
 */
export function tickOps(state: ClusterState, jobId: string, schedules: readonly JobSchedule[], now: string): StateOp[] {
  const ops: StateOp[] = [];
  const kept = new Set(schedules.map((s) => s.id));
  for (const key of state.jobTicks.keys()) {
    const [owner, scheduleId = ''] = key.split(' ');
    if (owner === jobId && !kept.has(scheduleId)) ops.push({ op: 'del', coll: 'jobTicks', key });
  }
  for (const schedule of schedules) {
    const key = tickKey(jobId, schedule.id);
    if (!tickFits(state.jobTicks.get(key), schedule)) ops.push({ op: 'put', coll: 'jobTicks', key, value: freshTick(schedule, now) });
  }
  return ops;
}

/** Decides every schedule's due slots up to `now`; also says when the next slot of any schedule is. */
export function tickSchedules(state: ClusterState, context: RunContext): RunChange & { nextSlotMs?: number } {
  const steps = new RunSteps(state);
  const now = new Date(context.nowMs);
  let nextSlotMs: number | undefined;
  for (const job of state.jobs.values()) {
    for (const schedule of job.schedules) {
      steps.add(tickSchedule(steps.state, job, schedule, now, context));
      const next = nextSlot(schedule, now)?.getTime();
      if (next !== undefined && (nextSlotMs === undefined || next < nextSlotMs)) nextSlotMs = next;
    }
  }
  return { ops: steps.ops, events: steps.events, ...(nextSlotMs !== undefined ? { nextSlotMs } : {}) };
}

function tickSchedule(state: ClusterState, job: StoredJob, schedule: JobSchedule, now: Date, context: RunContext): RunChange {
  const key = tickKey(job.id, schedule.id);
  const tick = state.jobTicks.get(key);
  if (!tickFits(tick, schedule)) return { ops: [{ op: 'put', coll: 'jobTicks', key, value: freshTick(schedule, context.now) }], events: [] };
  const due = dueSlots(schedule, { lastEvaluatedAt: new Date(tick.lastEvaluatedAt), now });
  // A window without slots needs no write: the next tick looks at it again with the next one.
  if (due.slots.length === 0 && due.skippedRange === undefined) return { ops: [], events: [] };

  const steps = new RunSteps(state);
  const skipped: SkippedSlot[] = [];
  const range = due.skippedRange;
  if (range !== undefined) skipped.push({ scheduleId: schedule.id, scheduledAt: range.after.toISOString(), until: range.before.toISOString(), reason: range.reason });
  for (const slot of due.slots) {
    const scheduledAt = slot.scheduledAt.toISOString();
    if (slot.action === 'skip') {
      skipped.push({ scheduleId: schedule.id, scheduledAt, reason: slot.reason });
      continue;
    }
    // The tick makes a repeat impossible; this guards a hand-edited or restored state all the same.
    if (hasRunFor(steps.state, job.id, scheduledAt, schedule.id)) continue;
    const decision = decideSlotStart(schedule.concurrencyPolicy, activeRunsOf(steps.state, job.id));
    if (decision.action === 'skip') {
      skipped.push({ scheduleId: schedule.id, scheduledAt, reason: decision.reason });
      continue;
    }
    if (decision.action === 'replace') {
      for (const runId of decision.stop) {
        const active = activeRunsOf(steps.state, job.id).find((r) => r.id === runId);
        if (active !== undefined) steps.add(stopRun(steps.state, active, `replaced by the run of the slot at ${scheduledAt} (concurrencyPolicy REPLACE)`, context));
      }
    }
    steps.add(startRun(job, context.newRunId(), { scheduledAt, scheduleId: schedule.id }, context.now).change);
  }
  steps.add(recordSkipped(steps.state, job.id, skipped));
  steps.add({ ops: [{ op: 'put', coll: 'jobTicks', key, value: { ...tick, lastEvaluatedAt: context.now } }], events: [] });
  return { ops: steps.ops, events: steps.events };
}
