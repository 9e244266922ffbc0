import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskState } from '../events/types.ts';
import type { TaskLaunch } from '../shared/agent-protocol.ts';
import type { Logger } from '../shared/log.ts';
import { buildTaskEnv } from './core/task-env.ts';
import { forgetTaskProcess, recordTaskProcess } from './task-processes.ts';

export interface TaskReport {
  taskId: string;
  state: TaskState;
  message: string;
  exitStatus?: number;
}

interface RunningTask {
  launch: TaskLaunch;
  child: ChildProcess;
  state: TaskState;
  killTimer?: NodeJS.Timeout;
  exited: Promise<void>;
}

export interface TaskRunnerOptions {
  workDir: string;
  host: string;
  baseEnv: Record<string, string>;
  logger: Logger;
  report: (report: TaskReport) => void;
}

/**
 * Runs tasks as process groups in sandbox directories: `sh -c cmd` (or `args` exec'd directly),
 * stdout/stderr to files. Kill is SIGTERM to the group, then SIGKILL after the grace period;
 * when a task's main process ends, what is left of its group is killed too, so nothing is orphaned.
 */
export class TaskRunner {
  readonly #options: TaskRunnerOptions;
  readonly #tasks = new Map<string, RunningTask>();
  /** Recently ended task ids: a launch resent after the task ended must not run it again. */
  readonly #ended = new Set<string>();
  #shuttingDown = false;

  constructor(options: TaskRunnerOptions) {
    this.#options = options;
  }

  list(): Array<{ taskId: string; state: TaskState }> {
    return [...this.#tasks.values()].map((t) => ({ taskId: t.launch.taskId, state: t.state }));
  }

  launch(task: TaskLaunch): void {
    if (this.#tasks.has(task.taskId) || this.#ended.has(task.taskId)) return; // a resent launch
    if (this.#shuttingDown) {
      // A launch that crossed the shutdown must not start a process nobody will kill.
      this.#options.report({ taskId: task.taskId, state: 'TASK_LOST', message: 'agent is shutting down' });
      return;
    }
    try {
      this.#start(task);
    } catch (err) {
      // Whatever stops a launch (a sandbox that cannot be made, a bad spec) ends it visibly.
      this.#tasks.delete(task.taskId);
      this.#options.logger.error({ taskId: task.taskId, err: (err as Error).message }, 'launch failed');
      this.#options.report({ taskId: task.taskId, state: 'TASK_FAILED', message: `Failed to launch: ${(err as Error).message}` });
    }
  }

  #start(task: TaskLaunch): void {
    const { workDir, host, baseEnv, logger } = this.#options;
    const sandbox = join(workDir, 'sandboxes', task.taskId);
    mkdirSync(sandbox, { recursive: true });
    this.#report(task.taskId, 'TASK_STARTING', '');
    const env = buildTaskEnv(task, host, sandbox, baseEnv);
    const [file, argv] = task.cmd !== undefined ? ['/bin/sh', ['-c', task.cmd]] : [task.args?.[0] ?? '', task.args?.slice(1) ?? []];
    const stdout = createWriteStream(join(sandbox, 'stdout'), { flags: 'a' });
    const stderr = createWriteStream(join(sandbox, 'stderr'), { flags: 'a' });
    const child = spawn(file, argv, { cwd: sandbox, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(stdout);
    child.stderr?.pipe(stderr);
    let resolveExit: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => (resolveExit = resolve));
    const running: RunningTask = { launch: task, child, state: 'TASK_STARTING', exited };
    this.#tasks.set(task.taskId, running);
    child.on('spawn', () => {
      if (child.pid !== undefined) recordTaskProcess(sandbox, child.pid);
      logger.info({ taskId: task.taskId, taskPid: child.pid, ports: task.ports }, 'task started');
      if (running.state === 'TASK_STARTING') this.#report(task.taskId, 'TASK_RUNNING', '');
    });
    child.on('error', (err) => {
      // Spawn failures (missing executable for `args`) end here without an 'exit'.
      if (child.pid !== undefined) return;
      this.#finish(running, 'TASK_FAILED', `Failed to launch: ${err.message}`);
      resolveExit();
    });
    child.on('exit', (code, signal) => {
      this.#killGroup(child, 'SIGKILL');
      forgetTaskProcess(sandbox);
      clearTimeout(running.killTimer);
      if (running.state === 'TASK_KILLING') this.#finish(running, 'TASK_KILLED', 'Command terminated by a kill request', code ?? undefined);
      else if (code === 0) this.#finish(running, 'TASK_FINISHED', 'Command exited with status 0', 0);
      else if (code !== null) this.#finish(running, 'TASK_FAILED', `Command exited with status ${code}`, code);
      else this.#finish(running, 'TASK_FAILED', `Command terminated with signal ${signal ?? 'unknown'}`);
      resolveExit();
    });
  }

  /** Starts killing a task; resolves when it has ended. Unknown tasks are reported killed (idempotent). */
  kill(taskId: string, gracePeriodMs?: number): Promise<void> {
    const running = this.#tasks.get(taskId);
    if (running === undefined) {
      this.#report(taskId, 'TASK_KILLED', 'Task unknown to the agent');
      return Promise.resolve();
    }
    if (running.state !== 'TASK_KILLING') {
      this.#report(taskId, 'TASK_KILLING', '');
      running.state = 'TASK_KILLING';
      this.#killGroup(running.child, 'SIGTERM');
      running.killTimer = setTimeout(() => this.#killGroup(running.child, 'SIGKILL'), gracePeriodMs ?? running.launch.killGracePeriodMs);
    }
    return running.exited;
  }

  /** Refuses launches from now on and kills every task; resolves when all have ended. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    await Promise.all([...this.#tasks.keys()].map((taskId) => this.kill(taskId)));
  }

  #finish(running: RunningTask, state: TaskState, message: string, exitStatus?: number): void {
    this.#tasks.delete(running.launch.taskId);
    this.#ended.add(running.launch.taskId);
    if (this.#ended.size > 10_000) this.#ended.delete(this.#ended.values().next().value as string);
    this.#options.logger.info({ taskId: running.launch.taskId, state, message }, 'task ended');
    this.#options.report({ taskId: running.launch.taskId, state, message, ...(exitStatus !== undefined ? { exitStatus } : {}) });
  }

  #report(taskId: string, state: TaskState, message: string): void {
    const running = this.#tasks.get(taskId);
    if (running !== undefined) running.state = state;
    this.#options.report({ taskId, state, message });
  }

  #killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }
}
