import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import fsExt from 'fs-ext';
import { StoreLockedError } from './errors.ts';

const LOCK_FILE = 'lock';

/**
 * An exclusive flock(2) on `<data dir>/lock`, held while the scheduler runs. The kernel releases
 * it when the process ends however it ends (kill -9 included), so a stale lock never blocks a
 * restart; the file's content only names the holder for the error a second scheduler gets.
 * (Node opens files close-on-exec, so no child process inherits the lock.)
 */
export class DataDirLock {
  readonly #fd: number;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  static acquire(dir: string, holder: Record<string, unknown>): DataDirLock {
    const path = join(dir, LOCK_FILE);
    const fd = openSync(path, 'a+');
    try {
      fsExt.flockSync(fd, 'exnb');
    } catch (err) {
      closeSync(fd);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') throw new StoreLockedError(dir, readHolder(path));
      throw err;
    }
    ftruncateSync(fd, 0);
    writeSync(fd, `${JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), ...holder })}\n`);
    return new DataDirLock(fd);
  }

  release(): void {
    // Closing the only descriptor of the open file releases the flock.
    closeSync(this.#fd);
  }
}

function readHolder(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}
