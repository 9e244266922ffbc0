import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskLaunch } from '../shared/agent-protocol.ts';
import type { RunAs } from './core/run-as.ts';

/** What the agent keeps on disk about a task, so that a restarted agent can take it back. */
export interface TaskCheckpoint {
  launch: TaskLaunch;
  /** Process group of the task (its trampoline's pid), once spawned. */
  process?: { pgid: number; startTime: string | undefined };
  /** The agent had started killing the task. */
  killing: boolean;
  /** Who the task runs as (its health checks too); absent for tasks of agents before task users. */
  runAs?: RunAs;
}

/**
 * Asynchronous on purpose: a burst of launches must not block the agent's event loop. 0600: a
 * launch holds the task's environment (its secrets), which only the agent may read.
 */
async function writeDurably(path: string, text: string): Promise<void> {
  const file = await open(path, 'w', 0o600);
  try {
    await file.writeFile(text);
    await file.datasync();
  } finally {
    await file.close();
  }
}

/** The leader's start time (clock ticks since boot, /proc/<pid>/stat field 22): tells a reused pid apart. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Task checkpoints under `<workDir>/meta/tasks/<taskId>/` (outside the sandbox users browse):
 * the launch, the process group, a kill marker, and the exit code the trampoline writes.
 * `meta/` and everything in it is the agent's alone (dirs 0700, files 0600): launches hold
 * every task's environment.
 */
export class TaskCheckpoints {
  readonly #root: string;

  constructor(workDir: string) {
    this.#root = join(workDir, 'meta', 'tasks');
    mkdirSync(this.#root, { recursive: true, mode: 0o700 });
    // Made before they were closed (an older agent): closed now, before anything is written.
    chmodSync(join(workDir, 'meta'), 0o700);
    chmodSync(this.#root, 0o700);
  }

  dir(taskId: string): string {
    return join(this.#root, taskId);
  }

  exitFile(taskId: string): string {
    return join(this.dir(taskId), 'exit_status');
  }

  async saveLaunch(launch: TaskLaunch): Promise<void> {
    await mkdir(this.dir(launch.taskId), { recursive: true, mode: 0o700 });
    await writeDurably(join(this.dir(launch.taskId), 'launch.json'), JSON.stringify(launch));
  }

  saveUser(taskId: string, runAs: RunAs): Promise<void> {
    return writeDurably(join(this.dir(taskId), 'user.json'), JSON.stringify(runAs));
  }

  saveProcess(taskId: string, pgid: number): Promise<void> {
    return writeDurably(join(this.dir(taskId), 'process.json'), JSON.stringify({ pgid, startTime: processStartTime(pgid) }));
  }

  markKilling(taskId: string): Promise<void> {
    return writeDurably(join(this.dir(taskId), 'killing'), '');
  }

  /** The exit code the trampoline recorded, if it got to. */
  exitCode(taskId: string): number | undefined {
    try {
      const code = Number(readFileSync(this.exitFile(taskId), 'utf8').trim());
      return Number.isInteger(code) ? code : undefined;
    } catch {
      return undefined;
    }
  }

  remove(taskId: string): Promise<void> {
    return rm(this.dir(taskId), { recursive: true, force: true });
  }

  /** Every checkpointed task; unreadable ones (a crash mid-write) are dropped. */
  list(): TaskCheckpoint[] {
    const checkpoints: TaskCheckpoint[] = [];
    for (const taskId of readdirSync(this.#root)) {
      const dir = this.dir(taskId);
      try {
        const launch = JSON.parse(readFileSync(join(dir, 'launch.json'), 'utf8')) as TaskLaunch;
        const processFile = join(dir, 'process.json');
        const process = existsSync(processFile) ? (JSON.parse(readFileSync(processFile, 'utf8')) as TaskCheckpoint['process']) : undefined;
        const userFile = join(dir, 'user.json');
        const runAs = existsSync(userFile) ? (JSON.parse(readFileSync(userFile, 'utf8')) as RunAs) : undefined;
        checkpoints.push({ launch, ...(process !== undefined ? { process } : {}), ...(runAs !== undefined ? { runAs } : {}), killing: existsSync(join(dir, 'killing')) });
      } catch {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    return checkpoints;
  }
}
