/** What a task asks for: Marathon's `cpus` and `mem`. */
export interface TaskLimits {
  cpus: number;
  /** MiB. */
  mem: number;
}

export type IsolationKind = 'cgroup-v2' | 'cgroup-v1' | 'none';

/** One task's cgroup (one directory per hierarchy: two on cgroup v1, one on v2). */
export interface TaskCgroup {
  readonly taskId: string;
  /** The task's cgroup directories, for logs. */
  readonly dirs: readonly string[];
  /**
   * Files the task's leader must write its own pid into ("echo $$ > f") before it execs the
   * command, so that everything it starts is inside from the first instruction.
   * `enterCgroupScript(procsFiles)` builds that shell prefix.
   */
  readonly procsFiles: readonly string[];
  /**
   * True if the kernel OOM-killed something in this cgroup (v1: the `oom_kill` counter of
   * memory.oom_control; v2: `oom_kill` in memory.events). Once seen it stays true, also after
   * destroy(), so read it when the task has exited, in either order.
   */
  oomKilled(): boolean;
  /** Kills whatever is left and removes the cgroup directories (retrying while processes exit). */
  destroy(): Promise<void>;
}

export interface Isolator {
  readonly kind: IsolationKind;
  /** Why there is no isolation (for 'none'), for the one start-up log line. */
  readonly reason?: string;
  /**
   * The directories the task cgroups are made under (empty for 'none'): the agent's own cgroup
   * once `useAgent` was called, the common parent before.
   */
  readonly parentDirs: readonly string[];
  /**
   * Names the agent (its id, stable across restarts): task cgroups are made and found under
   * `<parent>/agent-<id>`, so agents sharing a parent never touch each other's tasks.
   */
  useAgent(agentId: string): void;
  /**
   * Makes the task's cgroup with its limits written; undefined when there is no isolation.
   * A cgroup left with the same name (a task id used again) is killed and made afresh.
   * Throws an IsolationError when the cgroup cannot be made.
   */
  prepare(taskId: string, limits: TaskLimits): Promise<TaskCgroup | undefined>;
  /** cgroups of tasks left by an earlier run of the agent (for recovery): by task id. */
  existing(): Promise<Map<string, TaskCgroup>>;
  /** Removes the agent's own cgroup if no task cgroup is left in it (at shutdown). */
  release(): Promise<void>;
}
