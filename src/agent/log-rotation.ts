import { constants } from 'node:fs';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../shared/log.ts';

export interface LogRotatorOptions {
  /** A file larger than this is rotated at the next check. */
  maxBytes: number;
  /** How many rotated copies to keep (`stdout.1` newest … `stdout.<keep>` oldest); 0 keeps none. */
  keep: number;
  intervalMs: number;
  logger: Logger;
  /** The files rotated in each sandbox. */
  files?: readonly string[];
}

const COPY_CHUNK_BYTES = 1 << 20;

/**
 * The task owns its sandbox and may have put a symlink (or a FIFO) where a log was: the agent
 * must never follow it to truncate or overwrite a file elsewhere, nor block on a FIFO.
 */
const OPEN_LOG = constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const CREATE_COPY = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Caps the size of each watched sandbox's stdout and stderr by copytruncate: the file is copied
 * to `<name>.1` (older copies shift up to `<name>.<keep>`) and then truncated in place. The
 * task keeps writing through its own O_APPEND descriptor, which nothing here can reopen, so
 * renaming the file away (logrotate's default) would leave the task writing to the copy.
 * What the task writes between the last copied byte and the truncate is lost; the copy loop
 * catches up to end-of-file right before truncating so that window is a few microseconds.
 */
export class LogRotator {
  readonly #options: Required<LogRotatorOptions>;
  readonly #logger: Logger;
  readonly #sandboxes = new Set<string>();
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(options: LogRotatorOptions) {
    if (!(options.maxBytes > 0)) throw new RangeError(`maxBytes must be positive, got ${options.maxBytes}`);
    if (!Number.isInteger(options.keep) || options.keep < 0) throw new RangeError(`keep must be a non-negative integer, got ${options.keep}`);
    if (!(options.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${options.intervalMs}`);
    this.#options = { files: ['stdout', 'stderr'], ...options };
    this.#logger = options.logger.child({ part: 'log-rotation' });
    this.#timer = setInterval(() => void this.checkNow(), options.intervalMs);
    this.#timer.unref();
  }

  /** Starts capping the logs of a sandbox directory. */
  watch(sandbox: string): void {
    if (!this.#closed) this.#sandboxes.add(sandbox);
  }

  unwatch(sandbox: string): void {
    this.#sandboxes.delete(sandbox);
  }

  /**
   * Checks every watched file now (the timer calls this too). Checks never overlap: a call
   * during a check waits for it and returns without starting another.
   */
  async checkNow(): Promise<void> {
    if (this.#running !== undefined) return this.#running;
    if (this.#closed) return;
    this.#running = this.#checkAll().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the timer and waits for a check in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#sandboxes.clear();
    await this.#running;
  }

  async #checkAll(): Promise<void> {
    for (const sandbox of [...this.#sandboxes]) {
      for (const name of this.#options.files) {
        if (!this.#sandboxes.has(sandbox)) break;
        const file = join(sandbox, name);
        try {
          const copied = await this.#rotateIfLarge(file);
          if (copied !== undefined) this.#logger.debug({ file, copied }, 'rotated task log');
        } catch (error) {
          // The task has not written yet, or its sandbox was just collected.
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          this.#logger.warn({ err: error, file }, 'could not rotate task log');
        }
      }
    }
  }

  /**
   * If the log is a regular file over the limit: shifts the copies, copies it to `.1`, truncates
   * it; returns the bytes copied (undefined when nothing was done).
   */
  async #rotateIfLarge(file: string): Promise<number | undefined> {
    const source = await open(file, OPEN_LOG);
    try {
      const stats = await source.stat();
      if (!stats.isFile()) throw new Error('not a regular file: left alone');
      if (stats.size <= this.#options.maxBytes) return undefined;
      return await this.#rotate(file, source, stats.size);
    } finally {
      await source.close();
    }
  }

  async #rotate(file: string, source: FileHandle, size: number): Promise<number> {
    const { keep } = this.#options;
    if (keep === 0) {
      await source.truncate(0);
      return 0;
    }
    // unlink and rename act on names (a symlink itself), never on what one points to.
    await unlink(`${file}.${keep}`).catch(ignoreNotFound);
    for (let n = keep - 1; n >= 1; n -= 1) await rename(`${file}.${n}`, `${file}.${n + 1}`).catch(ignoreNotFound);
    // Made anew (O_EXCL): whatever the task left under that name is not written through.
    await unlink(`${file}.1`).catch(ignoreNotFound);
    const target = await open(`${file}.1`, CREATE_COPY, 0o644);
    let copied = 0;
    try {
      const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
      // Read until end-of-file as it is at that moment, including what arrived while copying,
      // but not forever behind a task that writes faster than we copy.
      const limit = size + this.#options.maxBytes;
      while (copied < limit) {
        const { bytesRead } = await source.read(buffer, 0, buffer.length, copied);
        if (bytesRead === 0) break;
        await target.write(buffer, 0, bytesRead);
        copied += bytesRead;
      }
      await source.truncate(0);
    } finally {
      await target.close();
    }
    return copied;
  }
}

function ignoreNotFound(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
}
