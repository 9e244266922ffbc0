import type { TaskState } from '../../events/types.ts';

/** How a task's process ended, as far as the agent could observe it. */
export interface ObservedExit {
  /** Exit code of the task's leader (the trampoline passes the command's code through), if known. */
  code: number | undefined;
  /** Signal that ended the leader itself, if any. */
  signal: string | undefined;
  /** The agent was killing the task (a kill request or its own shutdown). */
  killing: boolean;
  /** The kernel OOM-killed something in the task's cgroup. */
  oomKilled: boolean;
}

export interface TerminalStatus {
  state: TaskState;
  message: string;
  reason?: string;
  exitStatus?: number;
}

const SIGNALS: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM' };

/** Mesos' terminal state, message and reason for an observed exit. */
export function terminalStatus(exit: ObservedExit): TerminalStatus {
  if (exit.oomKilled) {
    return { state: 'TASK_FAILED', message: 'Memory limit exceeded: the task was OOM-killed', reason: 'REASON_CONTAINER_LIMITATION_MEMORY', ...(exit.code !== undefined ? { exitStatus: exit.code } : {}) };
  }
  if (exit.killing) return { state: 'TASK_KILLED', message: 'Command terminated by a kill request', ...(exit.code !== undefined ? { exitStatus: exit.code } : {}) };
  if (exit.code === 0) return { state: 'TASK_FINISHED', message: 'Command exited with status 0', exitStatus: 0 };
  if (exit.code !== undefined && exit.code > 128 && exit.code < 160) {
    // sh reports a command killed by signal N as 128+N.
    const signal = SIGNALS[exit.code - 128] ?? `signal ${exit.code - 128}`;
    return { state: 'TASK_FAILED', message: `Command terminated with signal ${signal}`, reason: 'REASON_COMMAND_EXECUTOR_FAILED', exitStatus: exit.code };
  }
  if (exit.code !== undefined) return { state: 'TASK_FAILED', message: `Command exited with status ${exit.code}`, reason: 'REASON_COMMAND_EXECUTOR_FAILED', exitStatus: exit.code };
  if (exit.signal !== undefined) return { state: 'TASK_FAILED', message: `Command terminated with signal ${exit.signal}`, reason: 'REASON_COMMAND_EXECUTOR_FAILED' };
  return { state: 'TASK_FAILED', message: 'Task ended while the agent was not running; its exit status is unknown', reason: 'REASON_EXECUTOR_TERMINATED' };
}
