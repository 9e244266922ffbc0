import { access, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ControlWrite, Controller } from './core/limits.ts';

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Enables the controllers in `dir`'s cgroup.subtree_control (v2), so its child cgroups have them. */
export async function handDown(dir: string, controllers: readonly string[]): Promise<void> {
  const file = join(dir, 'cgroup.subtree_control');
  const enabled = (await readText(file))?.trim().split(/\s+/) ?? [];
  const toEnable = controllers.filter((c) => !enabled.includes(c));
  if (toEnable.length > 0) await writeFile(file, toEnable.map((c) => `+${c}`).join(' '), { flag: 'r+' });
}

/** Writes the limits, in order, into the task's directory for each controller. */
export async function writeControls(dirOf: (controller: Controller) => string, writes: readonly ControlWrite[]): Promise<void> {
  for (const write of writes) {
    const file = join(dirOf(write.controller), write.file);
    if (write.rule === 'if-present' && !(await exists(file))) continue;
    try {
      // 'r+': control files exist or the write is wrong; never create a plain file.
      await writeFile(file, write.value, { flag: 'r+' });
    } catch (error) {
      if (write.rule === 'best-effort') continue;
      throw new Error(`cannot write '${write.value}' to ${file}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/** The processes in a cgroup directory (cgroup.procs). */
export async function pidsIn(dir: string): Promise<number[]> {
  const text = await readText(join(dir, 'cgroup.procs'));
  if (text === undefined) return [];
  return text.split('\n').filter((line) => line !== '').map(Number).filter((pid) => Number.isInteger(pid) && pid > 0);
}

/** SIGKILLs every process in the directories; returns how many were still listed. */
export async function killAllIn(dirs: readonly string[]): Promise<number> {
  let seen = 0;
  for (const dir of dirs) {
    // cgroup.kill (v2, Linux 5.14+) kills atomically, forks included.
    await writeFile(join(dir, 'cgroup.kill'), '1', { flag: 'r+' }).catch(() => undefined);
    for (const pid of await pidsIn(dir)) {
      seen += 1;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // ESRCH: it exited between the read and the kill.
      }
    }
  }
  return seen;
}

/**
 * Kills what is inside and removes the directories. rmdir fails with EBUSY while killed
 * processes are still exiting (and a process forked between read and kill escapes one round),
 * so both are retried for up to `timeoutMs`.
 */
export async function killAndRemove(dirs: readonly string[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let left = [...dirs];
  for (let attempt = 0; ; attempt += 1) {
    await killAllIn(left);
    const failures: Error[] = [];
    const stillThere: string[] = [];
    for (const dir of left) {
      try {
        await rmdir(dir);
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue;
        stillThere.push(dir);
        failures.push(error as Error);
      }
    }
    left = stillThere;
    if (left.length === 0) return;
    if (Date.now() >= deadline) {
      const pids = (await Promise.all(left.map(pidsIn))).flat();
      throw new Error(`cannot remove ${left.join(', ')} (${failures.map((e) => e.message).join('; ')}); processes inside: [${pids.join(', ')}]`);
    }
    await sleep(Math.min(10 * 2 ** attempt, 100));
  }
}
