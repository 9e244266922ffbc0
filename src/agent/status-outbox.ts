import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { TaskStatusUpdate } from '../shared/agent-protocol.ts';

/**
 * Status updates are written to disk before they are sent and stay there until the scheduler
 * acknowledges them, so a TASK_FAILED is not lost when the agent dies right after the task.
 * `pending.jsonl` is fsynced (in batches: one fsync for all updates of a tick); `acked` is not —
 * losing an acknowledgement only means sending an update again, which the scheduler ignores.
 */
export class StatusOutbox {
  readonly #pendingPath: string;
  readonly #ackedPath: string;
  #file: FileHandle | undefined;
  #batch: Array<{ line: string; resolve: () => void; reject: (err: unknown) => void }> = [];
  #flushing: Promise<void> | undefined;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.#pendingPath = join(dir, 'pending.jsonl');
    this.#ackedPath = join(dir, 'acked');
  }

  /** Updates written by an earlier run and never acknowledged, oldest first; the files are compacted. */
  load(): TaskStatusUpdate[] {
    const acked = new Set(existsSync(this.#ackedPath) ? readFileSync(this.#ackedPath, 'utf8').split('\n') : []);
    const pending: TaskStatusUpdate[] = [];
    if (existsSync(this.#pendingPath)) {
      for (const line of readFileSync(this.#pendingPath, 'utf8').split('\n')) {
        try {
          const update = JSON.parse(line) as TaskStatusUpdate;
          if (!acked.has(update.uuid)) pending.push(update);
        } catch {
          // An empty or torn last line: it was never acknowledged as written, so never sent.
        }
      }
    }
    writeFileSync(this.#pendingPath, pending.map((u) => `${JSON.stringify(u)}\n`).join(''));
    writeFileSync(this.#ackedPath, '');
    return pending;
  }

  /** Resolves once the update is on disk. */
  add(update: TaskStatusUpdate): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#batch.push({ line: `${JSON.stringify(update)}\n`, resolve, reject });
      this.#flushing ??= new Promise<void>((done) => setImmediate(done)).then(() => this.#flush());
    });
  }

  acknowledge(uuids: readonly string[]): void {
    appendFileSync(this.#ackedPath, uuids.map((uuid) => `${uuid}\n`).join(''));
  }

  async close(): Promise<void> {
    await this.#flushing;
    await this.#file?.close();
    this.#file = undefined;
  }

  async #flush(): Promise<void> {
    while (this.#batch.length > 0) {
      const batch = this.#batch;
      this.#batch = [];
      try {
        this.#file ??= await open(this.#pendingPath, 'a');
        await this.#file.write(batch.map((b) => b.line).join(''));
        await this.#file.datasync();
        for (const entry of batch) entry.resolve();
      } catch (err) {
        for (const entry of batch) entry.reject(err);
      }
    }
    this.#flushing = undefined;
  }
}
