import { mkdir, readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.ts';
import { errorCode, exists, handDown, killAndRemove, writeControls } from './cgroup-files.ts';
import { CONTROLLERS, controlWritesFor, type CgroupVersion, type Controller, type CpuPolicy } from './core/limits.ts';
import { agentCgroupNameOf, cgroupNameOf, taskIdOfCgroup } from './core/names.ts';
import { ERR_ISOLATION_PREPARE_FAILED, IsolationError } from './errors.ts';
import type { Isolator, TaskCgroup, TaskLimits } from './isolator.ts';
import { CgroupTask } from './task-cgroup.ts';

/**
 * Task cgroups under the agent's own cgroup (`<parent>/agent-<agent id>`) per controller: on v1
 * the memory and cpu hierarchies each have their own directory (the same one if they are mounted
 * together); on v2 both name the one directory, which hands memory and cpu down.
 */
export class CgroupIsolator implements Isolator {
  readonly kind: 'cgroup-v1' | 'cgroup-v2';
  readonly #version: CgroupVersion;
  /** The parent cgroup (`corral`), made and checked at detection. */
  readonly #base: Readonly<Record<Controller, string>>;
  /** The agent's own cgroup under the parent, once the agent id is known. */
  #parents: Readonly<Record<Controller, string>> | undefined;
  #made: Promise<void> | undefined;
  readonly #cpu: CpuPolicy;
  readonly #logger: Logger;

  constructor(version: CgroupVersion, base: Record<Controller, string>, cpu: CpuPolicy, logger: Logger) {
    this.#version = version;
    this.kind = version === 'v1' ? 'cgroup-v1' : 'cgroup-v2';
    this.#base = Object.freeze({ ...base });
    this.#cpu = cpu;
    this.#logger = logger;
  }

  get parentDirs(): readonly string[] {
    const parents = this.#parents ?? this.#base;
    return [...new Set([parents.memory, parents.cpu])];
  }

  useAgent(agentId: string): void {
    const name = agentCgroupNameOf(agentId);
    if (this.#parents !== undefined && this.#parents.memory === join(this.#base.memory, name)) return;
    this.#parents = Object.freeze({ memory: join(this.#base.memory, name), cpu: join(this.#base.cpu, name) });
    this.#made = undefined;
  }

  /** The agent's cgroup directories, made (and handed the controllers, on v2) on first use. */
  async #agentParents(): Promise<Readonly<Record<Controller, string>>> {
    const parents = this.#parents;
    if (parents === undefined) throw new Error('the agent id is not known yet (tasks are launched only after registration)');
    this.#made ??= (async () => {
      for (const dir of new Set([parents.memory, parents.cpu])) {
        await mkdir(dir, { recursive: true });
        if (this.#version === 'v2') await handDown(dir, CONTROLLERS);
      }
    })();
    // A failed attempt is tried again by the next task.
    await this.#made.catch((error: unknown) => {
      this.#made = undefined;
      throw error;
    });
    return parents;
  }

  #task(parents: Readonly<Record<Controller, string>>, taskId: string, name: string): CgroupTask {
    const dirs = [...new Set([parents.memory, parents.cpu])].map((parent) => join(parent, name));
    return new CgroupTask(this.#version, taskId, join(parents.memory, name), dirs);
  }

  async prepare(taskId: string, limits: TaskLimits): Promise<TaskCgroup> {
    const name = cgroupNameOf(taskId);
    const writes = controlWritesFor(this.#version, limits, this.#cpu);
    let parents;
    try {
      parents = await this.#agentParents();
    } catch (error) {
      throw new IsolationError(ERR_ISOLATION_PREPARE_FAILED, `cannot make the agent's cgroup for task ${taskId}: ${(error as Error).message}`, { cause: error });
    }
    const task = this.#task(parents, taskId, name);
    const stale = await Promise.all(task.dirs.map(exists));
    if (stale.some(Boolean)) {
      this.#logger.warn({ taskId, dirs: task.dirs }, 'a cgroup of this task id was left behind: killing what is in it and making it afresh');
      await task.destroy();
    }
    try {
      for (const dir of task.dirs) await mkdir(dir);
      await writeControls((controller) => join(parents[controller], name), writes);
    } catch (error) {
      await killAndRemove(task.dirs).catch(() => undefined);
      throw new IsolationError(ERR_ISOLATION_PREPARE_FAILED, `cannot make the cgroup of task ${taskId}: ${(error as Error).message}`, { cause: error });
    }
    return task;
  }

  async existing(): Promise<Map<string, TaskCgroup>> {
    const found = new Map<string, TaskCgroup>();
    const parents = this.#parents;
    // Without an agent id this agent never ran a task.
    if (parents === undefined) return found;
    for (const parent of new Set([parents.memory, parents.cpu])) {
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
        found.set(taskId, this.#task(parents, taskId, entry.name));
      }
    }
    return found;
  }

  async release(): Promise<void> {
    if (this.#parents === undefined) return;
    for (const dir of new Set([this.#parents.memory, this.#parents.cpu])) {
      // EBUSY/ENOTEMPTY: a task cgroup is still there (a task that would not die); it stays for the next run.
      await rmdir(dir).catch(() => undefined);
    }
  }
}
