import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { killAndRemove } from './cgroup-files.ts';
import { oomKilledFrom } from './core/oom.ts';
import type { CgroupVersion } from './core/limits.ts';
import { ERR_ISOLATION_DESTROY_FAILED, IsolationError } from './errors.ts';
import type { TaskCgroup } from './isolator.ts';

function readSync(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A task's cgroup directories: one per v1 hierarchy (memory first), or the one v2 directory. */
export class CgroupTask implements TaskCgroup {
  readonly taskId: string;
  readonly dirs: readonly string[];
  readonly procsFiles: readonly string[];
  readonly #version: CgroupVersion;
  readonly #memoryDir: string;
  #oomSeen = false;

  constructor(version: CgroupVersion, taskId: string, memoryDir: string, dirs: readonly string[]) {
    this.#version = version;
    this.taskId = taskId;
    this.#memoryDir = memoryDir;
    this.dirs = Object.freeze([...dirs]);
    this.procsFiles = Object.freeze(dirs.map((dir) => join(dir, 'cgroup.procs')));
  }

  oomKilled(): boolean {
    // Read synchronously: a few bytes of a kernel file, and callers ask right after an exit.
    if (this.#oomSeen) return true;
    const dir = this.#memoryDir;
    const seen = this.#version === 'v2'
      ? oomKilledFrom('v2', { counters: readSync(join(dir, 'memory.events')) })
      : oomKilledFrom('v1', { counters: readSync(join(dir, 'memory.oom_control')), failcnt: readSync(join(dir, 'memory.failcnt')) });
    this.#oomSeen = seen;
    return seen;
  }

  async destroy(): Promise<void> {
    // Latch the OOM verdict first: the counters go with the directory.
    this.oomKilled();
    try {
      await killAndRemove(this.dirs);
    } catch (error) {
      throw new IsolationError(ERR_ISOLATION_DESTROY_FAILED, `task ${this.taskId}: ${(error as Error).message}`, { cause: error });
    }
  }
}
