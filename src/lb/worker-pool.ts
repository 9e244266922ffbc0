import cluster, { type Worker } from 'node:cluster';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../shared/log.ts';
import type { Settings } from '../shared/settings.ts';
import { LbError } from './errors.ts';
import type { SharedAddresses } from './lb-instance.ts';
import type { WorkerAnswer } from './stats/cluster-stats.ts';

/** What the stats port may ask a worker; each is answered by the LbInstance method of that name. */
export type WorkerQuery = 'health' | 'routes' | 'stats' | 'metrics' | 'backends';

/** Messages between the primary and a worker (JSON over the cluster's IPC channel). */
export type WorkerMessage =
  | { type: 'loaded' }
  | { type: 'start'; settings: Settings; worker: number; reserved: number[] }
  | { type: 'ready'; bound: SharedAddresses }
  | { type: 'failed'; message: string }
  | { type: 'query'; id: number; what: WorkerQuery }
  | { type: 'answer'; id: number; value: unknown };

const READY_TIMEOUT_MS = 30_000;
const QUERY_TIMEOUT_MS = 2000;
const STOP_GRACE_MS = 5000;
/** A worker that died before it was ready (a bad certificate, a port taken) is not retried in a tight loop. */
const RESTART_DELAY_MS = 1000;
/** The worker's entry beside this file: `.ts` from the sources, `.js` from dist/. */
const WORKER_ENTRY = fileURLToPath(new URL(`./worker-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

interface Slot {
  worker: Worker;
  ready: boolean;
  readonly pending: Map<number, (answer: unknown) => void>;
}

export interface LbWorkerPoolOptions {
  readonly count: number;
  /** The primary's layered settings, parsed again by each worker. */
  readonly settings: Settings;
  readonly logger: Logger;
}

/**
 * `corral lb --workers N`: N proxy processes (node:cluster) beside this primary, which keeps
 * only the stats port. Node 20 has no SO_REUSEPORT for TCP, so the scheduling policy is
 * SCHED_NONE: the primary binds each address once and every worker accepts on that one socket,
 * the kernel choosing which (round robin through the primary would make it the bottleneck).
 * That holds for the service ports too, opened and closed by each worker as its table says. Each
 * worker follows the cluster itself; the stats port asks every worker and merges the answers. A
 * worker that dies is replaced; workers exit when the primary goes away (the IPC channel closes).
 */
export class LbWorkerPool {
  readonly #options: LbWorkerPoolOptions;
  readonly #slots: (Slot | undefined)[] = [];
  #reserved: number[] = [];
  #bound: SharedAddresses = {};
  #nextQuery = 1;
  #stopping = false;

  constructor(options: LbWorkerPoolOptions) {
    this.#options = options;
  }

  get count(): number {
    return this.#options.count;
  }

  /** The shared ports, as the first worker bound them (the same sockets for all). */
  get bound(): SharedAddresses {
    return this.#bound;
  }

  /** Forks every worker and waits until each serves; `reserved` are the primary's own ports. */
  async start(reserved: readonly number[]): Promise<void> {
    this.#reserved = [...reserved];
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    // Only the module hooks (tsx from the sources) carry over, not --test, --cpu-prof and the like.
    const execArgv = process.execArgv.flatMap((arg, i, all) => (/^--(import|require|loader)$/.test(all[i - 1] ?? '') || /^--(import|require|loader)(=|$)/.test(arg) ? [arg] : []));
    cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], execArgv, serialization: 'json' });
    const started = await Promise.allSettled(Array.from({ length: this.count }, (_, slot) => this.#spawn(slot)));
    const failure = started.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  /** Each serving worker's answer; a worker that does not answer in time (dying, restarting) is left out. */
  async query<T>(what: WorkerQuery): Promise<WorkerAnswer<T>[]> {
    const asked = this.#slots.flatMap((slot, index) => (slot?.ready === true ? [{ slot, index }] : []));
    const answers = await Promise.all(asked.map(({ slot, index }) => this.#ask(slot, index, what)));
    return answers.filter((answer): answer is WorkerAnswer<T> => answer !== undefined);
  }

  /** SIGTERM to every worker (each closes its listeners), SIGKILL after a grace period. */
  async close(): Promise<void> {
    this.#stopping = true;
    await Promise.all(
      this.#slots.map(async (slot) => {
        const child = slot?.worker.process;
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  #spawn(index: number): Promise<void> {
    const { logger, settings } = this.#options;
    const worker = cluster.fork();
    const slot: Slot = { worker, ready: false, pending: new Map() };
    this.#slots[index] = slot;
    // A message to a worker that just died fails on its own; the exit is what matters.
    worker.on('error', (err: Error) => logger.debug({ worker: index, err: err.message }, 'lb worker channel error'));
    worker.on('message', (message: WorkerMessage) => {
      if (message.type !== 'answer') return;
      slot.pending.get(message.id)?.(message.value);
      slot.pending.delete(message.id);
    });
    worker.once('exit', (code, signal) => {
      for (const answer of slot.pending.values()) answer(undefined);
      slot.pending.clear();
      if (this.#stopping || !slot.ready) return;
      logger.error({ worker: index, workerPid: worker.process.pid, code, signal }, 'lb worker exited; starting another');
      this.#respawn(index);
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.process.kill('SIGKILL');
        reject(new LbError('ERR_LB_WORKER', `lb worker ${index} not ready within ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);
      worker.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new LbError('ERR_LB_WORKER', `lb worker ${index} exited (${code ?? signal}) before it was ready`));
      });
      worker.on('message', (message: WorkerMessage) => {
        // A message sent before the worker's module has loaded would find no listener there.
        if (message.type === 'loaded') worker.send({ type: 'start', settings, worker: index, reserved: this.#reserved } satisfies WorkerMessage);
        else if (message.type === 'failed') {
          clearTimeout(timer);
          reject(new LbError('ERR_LB_WORKER', message.message));
        } else if (message.type === 'ready') {
          clearTimeout(timer);
          slot.ready = true;
          if (index === 0) this.#bound = message.bound;
          logger.info({ worker: index, workerPid: worker.process.pid }, 'lb worker serving');
          resolve();
        }
      });
    });
  }

  #respawn(index: number): void {
    if (this.#stopping) return;
    this.#spawn(index).catch((err: unknown) => {
      if (this.#stopping) return;
      this.#options.logger.error({ worker: index, err: (err as Error).message }, 'lb worker failed to start; trying again');
      setTimeout(() => this.#respawn(index), RESTART_DELAY_MS).unref();
    });
  }

  #ask<T>(slot: Slot, index: number, what: WorkerQuery): Promise<WorkerAnswer<T> | undefined> {
    const id = this.#nextQuery++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        slot.pending.delete(id);
        resolve(undefined);
      }, QUERY_TIMEOUT_MS);
      slot.pending.set(id, (value) => {
        clearTimeout(timer);
        resolve(value === undefined ? undefined : { worker: index, pid: slot.worker.process.pid ?? 0, value: value as T });
      });
      slot.worker.send({ type: 'query', id, what } satisfies WorkerMessage);
    });
  }
}
