import type { TaskState } from '../events/types.ts';
import { keepRecent, MAX_COMPLETED_TASKS, type CompletedTask } from './core/completed-tasks.ts';

/**
 * The tasks that ended since this scheduler took the lead, newest last and at most `max`, and
 * how many ended in each terminal state (Mesos' `master/tasks_finished` and the like). In
 * memory only: a restart or a failover starts both afresh, as a restarted Mesos master does.
 */
export class CompletedTaskHistory {
  readonly #max: number;
  #tasks: CompletedTask[] = [];
  readonly #ended = new Map<TaskState, number>();

  constructor(max = MAX_COMPLETED_TASKS) {
    this.#max = max;
  }

  record(ended: readonly CompletedTask[]): void {
    if (ended.length === 0) return;
    for (const { instance } of ended) this.#ended.set(instance.state, (this.#ended.get(instance.state) ?? 0) + 1);
    this.#tasks = keepRecent(this.#tasks, ended, this.#max);
  }

  get tasks(): readonly CompletedTask[] {
    return this.#tasks;
  }

  /** Tasks that ended in each terminal state since the start. */
  get endedByState(): ReadonlyMap<TaskState, number> {
    return this.#ended;
  }
}
