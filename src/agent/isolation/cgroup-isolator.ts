import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.ts';
import { errorCode, exists, killAndRemove, writeControls } from './cgroup-files.ts';
import { controlWritesFor, type CgroupVersion, type Controller, type CpuPolicy } from './core/limits.ts';
import { cgroupNameOf, taskIdOfCgroup } from './core/names.ts';
import { ERR_ISOLATION_PREPARE_FAILED, IsolationError } from './errors.ts';
import type { Isolator, TaskCgroup, TaskLimits } from './isolator.ts';
import { CgroupTask } from './task-cgroup.ts';

/**
 * Task cgroups under a parent per controller: on v1 the memory and cpu hierarchies each have
 * their own parent directory (the same one if they are mounted together); on v2 both name the
 * one parent, whose cgroup.subtree_control already hands memory and cpu down.
 */
export class CgroupIsolator implements Isolator {
  readonly kind: 'cgroup-v1' | 'cgroup-v2';
  readonly parentDirs: readonly string[];
  readonly #version: CgroupVersion;
  readonly #parents: Readonly<Record<Controller, string>>;
  readonly #cpu: CpuPolicy;
  readonly #logger: Logger;

  constructor(version: CgroupVersion, parents: Record<Controller, string>, cpu: CpuPolicy, logger: Logger) {
    this.#version = version;
    this.kind = version === 'v1' ? 'cgroup-v1' : 'cgroup-v2';
    this.#parents = Object.freeze({ ...parents });
    this.parentDirs = Object.freeze([...new Set([parents.memory, parents.cpu])]);
    this.#cpu = cpu;
    this.#logger = logger;
  }

  #task(taskId: string, name: string): CgroupTask {
    const memoryDir = join(this.#parents.memory, name);
    return new CgroupTask(this.#version, taskId, memoryDir, this.parentDirs.map((parent) => join(parent, name)));
  }

  async prepare(taskId: string, limits: TaskLimits): Promise<TaskCgroup> {
    const name = cgroupNameOf(taskId);
    const writes = controlWritesFor(this.#version, limits, this.#cpu);
    const task = this.#task(taskId, name);
    const stale = await Promise.all(task.dirs.map(exists));
    if (stale.some(Boolean)) {
      this.#logger.warn({ taskId, dirs: task.dirs }, 'a cgroup of this task id was left behind: killing what is in it and making it afresh');
      await task.destroy();
    }
    try {
      for (const dir of task.dirs) await mkdir(dir);
      await writeControls((controller) => join(this.#parents[controller], name), writes);
    } catch (error) {
      await killAndRemove(task.dirs).catch(() => undefined);
      throw new IsolationError(ERR_ISOLATION_PREPARE_FAILED, `cannot make the cgroup of task ${taskId}: ${(error as Error).message}`, { cause: error });
    }
    return task;
  }

  async existing(): Promise<Map<string, TaskCgroup>> {
    const found = new Map<string, TaskCgroup>();
    for (const parent of this.parentDirs) {
      let entries;
      try {
        entries = await readdir(parent, { withFileTypes: true });
      } catch (error) {
        if (errorCode(error) === 'ENOENT') continue;
        throw error;
      }
      for (const entry of entries) {
        const taskId = entry.isDirectory() ? taskIdOfCgroup(entry.name) : undefined;
        if (taskId === undefined || found.has(taskId)) continue;
        // A half-removed v1 cgroup (gone from one hierarchy) is still found: destroy() skips what is gone.
        found.set(taskId, this.#task(taskId, entry.name));
      }
    }
    return found;
  }
}
