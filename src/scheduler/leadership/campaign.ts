import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { formatHostPort, type HostPort } from '../../shared/address.ts';
import type { Logger } from '../../shared/log.ts';
import type { Service } from '../../shared/service.ts';
import { schemeOf, type ServerTls } from '../../shared/tls.ts';
import { leaderOfHolder, type Leader } from '../core/leadership.ts';
import { etcdKeys } from '../store/core/etcd-layout.ts';
import { EtcdClient } from '../store/etcd/etcd-client.ts';
import { EtcdPrefixLockedError } from '../store/errors.ts';
import type { EtcdStore } from '../store/etcd-store.ts';
import type { LoadedState } from '../store/state-store.ts';
import { buildStandbyServer } from './standby-server.ts';

/** A killed scheduler restarted on its own address waits for its old lease: the lease and this margin. */
const OWN_LEASE_MARGIN_MS = 2000;
const POLL_MS = 250;
/** After `DELETE /v2/leader`, the others (polling every POLL_MS) get this long to take the lead first. */
const ABDICATION_PAUSE_MS = 2000;

export interface CampaignOptions {
  logger: Logger;
  endpoints: readonly string[];
  prefix: string;
  /** The leader's etcd lease (`--leader-lease`). */
  leaseMs: number;
  listen: HostPort;
  tls: ServerTls | undefined;
  /** A store that takes the prefix's lock on load, waiting up to lockWaitMs for it. */
  newStore: (lockWaitMs: number) => EtcdStore;
  /** Starts the full scheduler on `listen` over a loaded store; `abdicate` gives the lead up (`DELETE /v2/leader`). */
  lead: (store: EtcdStore, loaded: LoadedState, listen: HostPort, abdicate: () => void) => Promise<Service>;
  pollMs?: number;
}

/**
 * Leads when the etcd prefix is free; otherwise serves as a cold standby (standby-server.ts) on
 * the same address, polls the lock key, and when the leader's lease ends takes the lock, stops the
 * standby server and starts the full scheduler there (loading the state as a restart does). A
 * leader that abdicates closes and becomes a standby the same way.
 */
export async function leadOrStandBy(options: CampaignOptions): Promise<Service> {
  const campaign = new Campaign(options);
  await campaign.start();
  return campaign;
}

class Campaign implements Service {
  readonly #options: CampaignOptions;
  readonly #client: EtcdClient;
  readonly #lockKey: string;
  #bound: HostPort;
  #leader: Leader | undefined;
  #current: Service | undefined;
  #standby: FastifyInstance | undefined;
  #loop: Promise<void> | undefined;
  #abdicating: Promise<void> | undefined;
  #closed = false;
  #reportFailure: (what: string) => void = () => undefined;
  readonly failed = new Promise<string>((resolve) => {
    this.#reportFailure = resolve;
  });

  constructor(options: CampaignOptions) {
    this.#options = options;
    this.#client = new EtcdClient(options.endpoints);
    this.#lockKey = etcdKeys(options.prefix).lock;
    this.#bound = options.listen;
  }

  async start(): Promise<void> {
    const first = await this.#tryLead(0);
    if ('service' in first) return;
    this.#leader = leaderOfHolder(first.holder);
    if (this.#leader === undefined || this.#leader.hostPort === formatHostPort(this.#bound)) {
      // Our own address holds it (or one we cannot proxy to): likely a killed predecessor whose lease is about to run out.
      const again = await this.#tryLead(this.#options.leaseMs + OWN_LEASE_MARGIN_MS);
      if ('service' in again) return;
      this.#leader = leaderOfHolder(again.holder);
    }
    await this.#standBy(0);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#abdicating;
    await this.#loop;
    await this.#client.close();
    await this.#current?.close();
    await this.#standby?.close();
  }

  /** Loads a store (taking the lock) and leads on it; `{holder}` when another holds the prefix. */
  async #tryLead(lockWaitMs: number): Promise<{ service: Service } | { holder: string }> {
    const store = this.#options.newStore(lockWaitMs);
    let loaded: LoadedState;
    try {
      loaded = await store.load();
    } catch (err) {
      await store.close();
      if (err instanceof EtcdPrefixLockedError) return { holder: err.holder };
      throw err;
    }
    this.#leader = undefined;
    await this.#standby?.close();
    this.#standby = undefined;
    this.#current = await this.#options.lead(store, loaded, this.#bound, () => this.#abdicate());
    return { service: this.#current };
  }

  #abdicate(): void {
    const service = this.#current;
    if (service === undefined || this.#closed || this.#abdicating !== undefined) return;
    this.#current = undefined;
    this.#options.logger.warn({ prefix: this.#options.prefix }, 'abdicating: giving up the lead, serving as a standby');
    this.#abdicating = service.close()
      .then(() => this.#standBy(ABDICATION_PAUSE_MS))
      .catch((err: unknown) => this.#fail('abdicating failed', err))
      .finally(() => {
        this.#abdicating = undefined;
      });
  }

  async #standBy(pauseMs: number): Promise<void> {
    const { logger, tls } = this.#options;
    let self = formatHostPort(this.#bound);
    const server = buildStandbyServer({ logger, self: () => self, leader: () => this.#leader, tls });
    await server.listen({ host: this.#bound.host, port: this.#bound.port });
    const address = server.server.address();
    if (typeof address === 'object' && address !== null) this.#bound = { host: this.#bound.host, port: address.port };
    self = formatHostPort(this.#bound);
    this.#standby = server;
    logger.info({ api: `${schemeOf(tls)}://${self}`, standby: true, leader: this.#leader?.hostPort ?? null }, 'ready');
    this.#loop = this.#campaign(Date.now() + pauseMs).catch((err: unknown) => this.#fail('taking over as leader failed', err));
  }

  async #campaign(notBefore: number): Promise<void> {
    const { logger } = this.#options;
    const pollMs = this.#options.pollMs ?? POLL_MS;
    let leaderSeenAt = Date.now();
    while (!this.#closed) {
      let held: string | undefined;
      try {
        held = (await this.#client.range(this.#lockKey)).kvs[0]?.value.toString('utf8');
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'standby cannot read the leader lock from etcd');
        await sleep(pollMs);
        continue;
      }
      if (held !== undefined || Date.now() < notBefore) {
        const named = leaderOfHolder(held);
        if (named?.hostPort !== this.#leader?.hostPort) logger.info({ leader: named?.hostPort ?? null }, 'leader changed');
        this.#leader = named;
        if (held !== undefined) leaderSeenAt = Date.now();
        await sleep(pollMs);
        continue;
      }
      const freeAt = Date.now();
      if ('service' in await this.#tryLead(0)) {
        logger.info({ takeoverMs: Date.now() - leaderSeenAt, sinceLockFreeMs: Date.now() - freeAt }, 'elected');
        return;
      }
      // Another standby was quicker: follow it.
    }
  }

  #fail(what: string, err: unknown): void {
    this.#options.logger.error({ err: (err as Error).message }, what);
    this.#reportFailure(`${what}: ${(err as Error).message}`);
  }
}
