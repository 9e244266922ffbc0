import type { RegisterRequest, TaskStatusUpdate } from '../../shared/agent-protocol.ts';
import { TERMINAL_TASK_STATES } from '../../shared/task-states.ts';

type ReportedTask = RegisterRequest['tasks'][number];

/**
 * The tasks a registration reports: those the agent runs, plus those whose end is still waiting
 * in the outbox. Without the latter, a scheduler met for the first time since a task ended (a
 * new leader after a failover) would mark it TASK_LOST, "not known to the agent", before the
 * outbox delivers how it really ended; the last terminal update of each such task says so.
 */
export function registrationTasks(running: readonly ReportedTask[], pending: readonly TaskStatusUpdate[]): ReportedTask[] {
  const known = new Set(running.map((task) => task.taskId));
  const ended = new Map<string, ReportedTask>();
  for (const update of pending) {
    if (known.has(update.taskId) || !TERMINAL_TASK_STATES.has(update.state)) continue;
    ended.set(update.taskId, { taskId: update.taskId, state: update.state, message: update.message });
  }
  return [...running, ...ended.values()];
}
