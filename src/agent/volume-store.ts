import { execFile } from 'node:child_process';
import { chown, lstat, mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PersistentVolumeMount, TaskLaunch } from '../shared/agent-protocol.ts';
import type { Logger } from '../shared/log.ts';
import { CONTAINER_SANDBOX } from './containers/core/oci-spec.ts';
import { isSandboxName, isVolumeName, volumeOverLimit } from './core/persistent-volumes.ts';
import { AgentError } from './errors.ts';

const run = promisify(execFile);

/**
 * Local persistent volumes: `<work-dir>/volumes/<persistenceId>`, made on a task's first launch,
 * kept across its relaunches and agent restarts (the sandbox, which is garbage-collected, only
 * points at them), removed when the scheduler releases the reservation (destroy-volumes).
 */
export class VolumeStore {
  readonly #root: string;
  readonly #logger: Logger;

  constructor(workDir: string, logger: Logger) {
    this.#root = join(workDir, 'volumes');
    this.#logger = logger;
  }

  dir(persistenceId: string): string {
    if (!isVolumeName(persistenceId)) throw new AgentError('ERR_AGENT_VOLUME', `${JSON.stringify(persistenceId)} is not a volume name`);
    return join(this.#root, persistenceId);
  }

  /**
   * Makes the task's volumes (kept if they exist) and puts them in its sandbox: a symlink for a
   * process task, an empty mount point for a container (bind-mounted there, see mounts()).
   */
  async prepare(task: TaskLaunch, sandbox: string): Promise<void> {
    const volumes = task.persistentVolumes ?? [];
    if (volumes.length === 0) return;
    // Searchable, not listable: a task reaches only its own volumes.
    await mkdir(this.#root, { recursive: true, mode: 0o711 });
    for (const volume of volumes) {
      if (!isSandboxName(volume.containerPath)) throw new AgentError('ERR_AGENT_VOLUME', `${JSON.stringify(volume.containerPath)} is not a name in the sandbox`);
      const dir = this.dir(volume.persistenceId);
      const created = await mkdir(dir, { mode: 0o750 }).then(() => true, (err: NodeJS.ErrnoException) => {
        if (err.code === 'EEXIST') return false;
        throw err;
      });
      if (created) this.#logger.info({ taskId: task.taskId, persistenceId: volume.persistenceId }, 'persistent volume created');
      const place = join(sandbox, volume.containerPath);
      if (await lstat(place).then(() => true, () => false)) continue;
      if (task.container !== undefined) await mkdir(place);
      else await symlink(dir, place);
    }
  }

  /** The volumes become the task user's (the data in them is theirs already). */
  async own(task: TaskLaunch, owner: { uid: number; gid: number }): Promise<void> {
    for (const volume of task.persistentVolumes ?? []) await chown(this.dir(volume.persistenceId), owner.uid, owner.gid);
  }

  /** A container's bind mounts of its volumes, over the sandbox's mount. */
  mounts(task: TaskLaunch): Array<{ source: string; destination: string; readonly: boolean }> {
    return (task.persistentVolumes ?? []).map((v) => ({ source: this.dir(v.persistenceId), destination: `${CONTAINER_SANDBOX}/${v.containerPath}`, readonly: false }));
  }

  /** Removes the volumes' data; a volume already gone is no error. */
  async destroy(persistenceIds: readonly string[]): Promise<void> {
    for (const id of persistenceIds) await rm(this.dir(id), { recursive: true, force: true });
  }

  /**
   * Why the task must be killed for its volumes' disk usage, or undefined while they fit. One
   * `du` per volume (Mesos' disk/du), the caller spaces the rounds; a failing `du` is no verdict.
   */
  async overLimit(volumes: readonly PersistentVolumeMount[], signal: AbortSignal): Promise<string | undefined> {
    for (const volume of volumes) {
      try {
        const { stdout } = await run('du', ['-s', '-k', '-x', this.dir(volume.persistenceId)], { signal, timeout: 60_000 });
        const usage = Number.parseInt(stdout, 10);
        const reason = Number.isNaN(usage) ? undefined : volumeOverLimit(usage, volume);
        if (reason !== undefined) return reason;
      } catch (err) {
        if (!signal.aborted) this.#logger.warn({ persistenceId: volume.persistenceId, err: (err as Error).message }, 'cannot measure a persistent volume');
      }
    }
    return undefined;
  }
}
