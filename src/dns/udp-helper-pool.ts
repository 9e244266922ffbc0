import { fork, type ChildProcess } from 'node:child_process';
import type dgram from 'node:dgram';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../shared/log.ts';
import type { Settings } from '../shared/settings.ts';
import type { ForwardingStats, QueryStats } from './metrics.ts';

/** Messages between the main process and a UDP helper (JSON over the IPC channel). */
export type HelperMessage =
  | { type: 'start'; settings: Settings }
  | { type: 'ready' }
  | { type: 'stats'; queries: QueryStats; forwarding: ForwardingStats | undefined };

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5000;
/** The helper's entry beside this file: `.ts` from the sources, `.js` from dist/. */
const HELPER_ENTRY = fileURLToPath(new URL(`./udp-helper-process${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

interface Helper {
  child: ChildProcess;
  exited: Promise<void>;
  queries?: QueryStats;
  forwarding?: ForwardingStats;
}

/**
 * One Node process answers about as many datagrams as Node can send (docs/dns.md), and
 * Node 20 has no SO_REUSEPORT for UDP. So the main process hands its bound UDP socket to helper
 * processes: each follows the cluster itself, keeps its own table, and reads from the same
 * socket, and the kernel gives each datagram to one of them. TCP and HTTP stay in the main process.
 */
export class UdpHelperPool {
  readonly #helpers: Helper[];
  readonly #logger: Logger;

  private constructor(helpers: Helper[], logger: Logger) {
    this.#helpers = helpers;
    this.#logger = logger;
  }

  static async start(count: number, socket: dgram.Socket, settings: Settings, logger: Logger): Promise<UdpHelperPool> {
    const helpers: Helper[] = [];
    const manager = new UdpHelperPool(helpers, logger);
    try {
      for (let i = 0; i < count; i++) helpers.push(await manager.#spawn(i, socket, settings));
    } catch (err) {
      await manager.close();
      throw err;
    }
    return manager;
  }

  /** The latest counts each helper reported (about once a second). */
  get queries(): QueryStats[] {
    return this.#helpers.flatMap((helper) => (helper.queries === undefined ? [] : [helper.queries]));
  }

  get forwarding(): ForwardingStats[] {
    return this.#helpers.flatMap((helper) => (helper.forwarding === undefined ? [] : [helper.forwarding]));
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#helpers.map(async ({ child, exited }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  async #spawn(index: number, socket: dgram.Socket, settings: Settings): Promise<Helper> {
    // Only the module hooks (tsx from the sources) carry over, not --test, --cpu-prof and the like.
    const execArgv = process.execArgv.flatMap((arg, i, all) => (/^--(import|require|loader)$/.test(all[i - 1] ?? '') || /^--(import|require|loader)(=|$)/.test(arg) ? [arg] : []));
    const child = fork(HELPER_ENTRY, [], { execArgv, serialization: 'json', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const helper: Helper = { child, exited };
    child.on('message', (message: HelperMessage) => {
      if (message.type !== 'stats') return;
      helper.queries = message.queries;
      if (message.forwarding !== undefined) helper.forwarding = message.forwarding;
    });
    child.once('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGTERM') this.#logger.error({ helper: index, code, signal }, 'udp helper exited');
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`udp helper ${index} not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`udp helper ${index} exited with ${code} before it was ready`));
      });
      child.on('message', (message: HelperMessage) => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        resolve();
      });
      child.send({ type: 'start', settings } satisfies HelperMessage, socket);
    });
    this.#logger.info({ helper: index, helperPid: child.pid }, 'udp helper serving');
    return helper;
  }
}
