/**
 * Mesos keeps the latest completed tasks of each framework in memory (`completed_tasks` in
 * `/master/state`, `/master/tasks`), bounded by `--max_completed_tasks_per_framework`. Corral
 * forgets an instance as soon as it ends (the durable store holds only live ones), so the
 * history is gathered from the commits that end instances and is kept in memory only.
 */
import { TERMINAL_TASK_STATES, type ClusterEvent } from '../../events/types.ts';
import type { Instance } from '../types.ts';

/** Mesos' default `--max_completed_tasks_per_framework`. */
export const MAX_COMPLETED_TASKS = 1000;

/** An instance as it ended: its terminal state and message, and when. */
export interface CompletedTask {
  instance: Instance;
  /** ISO time of the terminal status update. */
  endedAt: string;
}

/**
 * The instances a commit ended: each terminal `status_update_event`, with the instance as it
 * was before the commit (`before`) in its terminal state. An instance launched and ended in the
 * same commit is not known before it and is left out.
 */
export function endedTasks(events: readonly ClusterEvent[], before: (taskId: string) => Instance | undefined): CompletedTask[] {
  const out: CompletedTask[] = [];
  for (const event of events) {
    if (event.eventType !== 'status_update_event' || !TERMINAL_TASK_STATES.has(event.taskStatus)) continue;
    const instance = before(event.taskId);
    if (instance === undefined) continue;
    out.push({ instance: { ...instance, state: event.taskStatus, message: event.message }, endedAt: event.timestamp });
  }
  return out;
}

/** The newest `max` of `history` followed by `added` (oldest first, as Mesos' circular buffer). */
export function keepRecent<T>(history: readonly T[], added: readonly T[], max: number): T[] {
  if (max <= 0) return [];
  const all = added.length === 0 ? [...history] : [...history, ...added];
  return all.length > max ? all.slice(all.length - max) : all;
}
