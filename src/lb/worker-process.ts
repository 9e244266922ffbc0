import { createLogger } from '../shared/log.ts';
import { parseLbConfig } from './config.ts';
import { startLbInstance, type LbInstance } from './lb-instance.ts';
import type { WorkerMessage, WorkerQuery } from './worker-pool.ts';

/**
 * A `corral lb --workers` worker (see LbWorkerPool): given the primary's settings, it runs a whole
 * LB instance on the sockets the primary shares, and answers the primary's stats questions. It
 * ends when told (SIGTERM), on Ctrl-C, or when the primary goes away: node:cluster exits a
 * worker whose IPC channel closes unexpectedly.
 */

function send(message: WorkerMessage, then?: () => void): void {
  process.send?.(message, undefined, undefined, then);
}

const answers: Record<WorkerQuery, (instance: LbInstance) => unknown> = {
  health: (instance) => instance.health(),
  routes: (instance) => instance.routes(),
  stats: (instance) => instance.stats(),
  metrics: (instance) => instance.metrics(),
  backends: (instance) => instance.backends(),
};

process.once('message', (message: WorkerMessage) => {
  if (message.type !== 'start') return;
  void serve(message);
});
send({ type: 'loaded' });

async function serve(start: Extract<WorkerMessage, { type: 'start' }>): Promise<void> {
  let instance: LbInstance;
  try {
    const config = parseLbConfig(start.settings);
    instance = await startLbInstance(config, createLogger('lb-worker', config.logLevel).child({ worker: start.worker }));
  } catch (err) {
    // Exit once the reason is on its way: the primary reports it as the start-up error.
    send({ type: 'failed', message: (err as Error).message }, () => process.exit(1));
    return;
  }
  instance.follow(start.reserved);
  process.on('message', (message: WorkerMessage) => {
    if (message.type !== 'query') return;
    void Promise.resolve(answers[message.what](instance)).then((value) => send({ type: 'answer', id: message.id, value }));
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void instance.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  // Ctrl-C reaches the whole process group; the primary stops too.
  process.once('SIGINT', stop);
  send({ type: 'ready', bound: instance.bound });
}
