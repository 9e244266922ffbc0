import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../shared/log.ts';

const PID_FILE = 'task.pid';

interface TaskProcess {
  pgid: number;
  /** The leader's start time in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid apart. */
  startTime: string | undefined;
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Notes a task's process group in its sandbox, so that a restarted agent can find it. */
export function recordTaskProcess(sandbox: string, pid: number): void {
  const record: TaskProcess = { pgid: pid, startTime: startTimeOf(pid) };
  writeFileSync(join(sandbox, PID_FILE), JSON.stringify(record));
}

export function forgetTaskProcess(sandbox: string): void {
  rmSync(join(sandbox, PID_FILE), { force: true });
}

/**
 * Kills the process groups of tasks a previous run of this agent left behind (it was killed or
 * crashed): nothing may run that the scheduler does not account for. Adopting them instead is
 * the agent recovery of a later issue. Returns how many groups were killed.
 */
export function killLeftoverTasks(workDir: string, logger: Logger): number {
  const sandboxes = join(workDir, 'sandboxes');
  if (!existsSync(sandboxes)) return 0;
  let killed = 0;
  for (const taskId of readdirSync(sandboxes)) {
    const file = join(sandboxes, taskId, PID_FILE);
    if (!existsSync(file)) continue;
    try {
      const { pgid, startTime } = JSON.parse(readFileSync(file, 'utf8')) as TaskProcess;
      const leaderStart = startTimeOf(pgid);
      // A live leader with another start time is a new process that got the pid: not ours.
      // With the leader gone, a group of that id can only be ours: Linux does not hand out a
      // pid that is still some group's id.
      if (leaderStart === undefined || leaderStart === startTime) {
        process.kill(-pgid, 'SIGKILL');
        killed += 1;
        logger.warn({ taskId, pgid }, 'killed a task left running by a previous run of this agent');
      }
    } catch {
      // ESRCH: the group is gone already; a broken file says nothing worth acting on.
    }
    rmSync(file, { force: true });
  }
  return killed;
}
