import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { formatHostPort, type HostPort } from '../../shared/address.ts';
import type { Logger } from '../../shared/log.ts';
import type { Service } from '../../shared/service.ts';
import { schemeOf, type ServerTls } from '../../shared/tls.ts';
import { leaderOfHolder, type Leader } from '../core/leadership.ts';
import { EtcdClient } from '../store/etcd/etcd-client.ts';
import { EtcdPrefixLockedError, StoreDamagedError } from '../store/errors.ts';
import type { EtcdFollower } from '../store/etcd-follower.ts';
import type { EtcdStore } from '../store/etcd-store.ts';
import type { LoadedState } from '../store/state-store.ts';
import { buildStandbyServer } from './standby-server.ts';
import type { HostAllowList } from '../../auth/core/browser.ts';

/** A killed scheduler restarted on its own address waits for its old lease: the lease and this margin. */
const OWN_LEASE_MARGIN_MS = 2000;
/** After `DELETE /v2/leader`, the others (who learn of it at once) get this long to take the lead first. */
const ABDICATION_PAUSE_MS = 2000;
/** After losing track of the store (etcd restarted, its history compacted), read it again this soon. */
const REREAD_MS = 250;

export interface CampaignOptions {
  logger: Logger;
  endpoints: readonly string[];
  prefix: string;
  /** The leader's etcd lease (`--leader-lease`). */
  leaseMs: number;
  listen: HostPort;
  tls: ServerTls | undefined;
  /** The names a standby answers to (api/browser-safety.ts), as the leader does. */
  allowedHosts?: HostAllowList;
  /** `--allowed-origins`, for the standby's browser-safety check. */
  allowedOrigins?: readonly string[];
  /** A store that takes the prefix's lock on load, waiting up to lockWaitMs for it. */
  newStore: (lockWaitMs: number) => EtcdStore;
  /** Starts the full scheduler on `listen` over a loaded store; `abdicate` gives the lead up (`DELETE /v2/leader`). */
  lead: (store: EtcdStore, loaded: LoadedState, listen: HostPort, abdicate: () => void) => Promise<Service>;
}

/**
 * Leads when the etcd prefix is free; otherwise serves as a warm standby (standby-server.ts) on the
 * same address: it keeps the store's state in memory (EtcdFollower: one read, then a watch), knows
 * the leader as soon as the lock key changes, and when the lock is deleted (the leader's lease
 * ended, or it resigned) takes it, reads only the log after its own seq and starts the full
 * scheduler there. A leader that abdicates, or loses its hold, closes and becomes a standby the same way.
 */
export async function leadOrStandBy(options: CampaignOptions): Promise<Service> {
  const campaign = new Campaign(options);
  await campaign.start();
  return campaign;
}

class Campaign implements Service {
  readonly #options: CampaignOptions;
  readonly #client: EtcdClient;
  #bound: HostPort;
  #leader: Leader | undefined;
  #current: Service | undefined;
  #standby: FastifyInstance | undefined;
  #loop: Promise<void> | undefined;
  #watch: AbortController | undefined;
  #abdicating: Promise<void> | undefined;
  #closed = false;
  #reportFailure: (what: string) => void = () => undefined;
  readonly failed = new Promise<string>((resolve) => {
    this.#reportFailure = resolve;
  });

  constructor(options: CampaignOptions) {
    this.#options = options;
    this.#client = new EtcdClient(options.endpoints);
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
    this.#watch?.abort();
    await this.#abdicating;
    await this.#loop;
    await this.#client.close();
    await this.#current?.close();
    await this.#standby?.close();
  }

  /** Loads a store (taking the lock; from `follower` when given, else all of it) and leads on it; `{holder}` when another holds the prefix. */
  async #tryLead(lockWaitMs: number, follower?: EtcdFollower): Promise<{ service: Service; caughtUp: number } | { holder: string }> {
    const store = this.#options.newStore(lockWaitMs);
    let loaded: LoadedState & { caughtUp?: number };
    try {
      loaded = follower === undefined ? await store.load() : await store.loadFrom(follower);
    } catch (err) {
      await store.close();
      if (err instanceof EtcdPrefixLockedError) return { holder: err.holder };
      throw err;
    }
    this.#leader = undefined;
    await this.#standby?.close();
    this.#standby = undefined;
    const service = await this.#options.lead(store, loaded, this.#bound, () => this.#stepDown(service, 'abdicating: giving up the lead, serving as a standby', ABDICATION_PAUSE_MS));
    this.#current = service;
    // Fencing: etcd refuses its writes already; it also closes its service and follows the new leader.
    store.onLostHold(() => this.#stepDown(service, 'stepping down: this scheduler lost the lead, serving as a standby', 0));
    return { service, caughtUp: loaded.caughtUp ?? -1 };
  }

  /** Closes `service` (if it still leads here) and serves as a standby, after `pauseMs` without taking the lead again. */
  #stepDown(service: Service, why: string, pauseMs: number): void {
    if (this.#current !== service || this.#closed || this.#abdicating !== undefined) return;
    this.#current = undefined;
    this.#options.logger.warn({ prefix: this.#options.prefix }, why);
    this.#abdicating = service.close()
      .then(() => this.#standBy(pauseMs))
      .catch((err: unknown) => this.#fail('stepping down failed', err))
      .finally(() => {
        this.#abdicating = undefined;
      });
  }

  async #standBy(pauseMs: number): Promise<void> {
    const { logger, tls, allowedHosts, allowedOrigins } = this.#options;
    let self = formatHostPort(this.#bound);
    const server = buildStandbyServer({ logger, self: () => self, leader: () => this.#leader, tls, ...(allowedHosts !== undefined ? { allowedHosts } : {}), ...(allowedOrigins !== undefined ? { allowedOrigins } : {}) });
    await server.listen({ host: this.#bound.host, port: this.#bound.port });
    const address = server.server.address();
    if (typeof address === 'object' && address !== null) this.#bound = { host: this.#bound.host, port: address.port };
    self = formatHostPort(this.#bound);
    this.#standby = server;
    logger.info({ api: `${schemeOf(tls)}://${self}`, standby: true, leader: this.#leader?.hostPort ?? null }, 'ready');
    this.#loop = this.#follow(Date.now() + pauseMs).catch((err: unknown) => this.#fail('taking over as leader failed', err));
  }

  /** Follows the store until the lead is free (not before `notBefore`), then takes it; reads everything again when the watch breaks. */
  async #follow(notBefore: number): Promise<void> {
    const { logger, prefix } = this.#options;
    let follower: EtcdFollower | undefined;
    // After losing a race for the lock the follower's holder is stale until the watch brings the winner's key.
    let lostRace = false;
    while (!this.#closed) {
      try {
        if (follower === undefined) {
          follower = this.#options.newStore(0).follower(this.#client);
          await follower.read();
          this.#setLeader(follower.holder);
          lostRace = false;
          logger.info({ prefix, seq: follower.seq }, 'standby holds the state; following the store');
        }
        if (!await this.#untilLeadFree(follower, notBefore, !lostRace)) return;
        const freeAt = Date.now();
        const led = await this.#tryLead(0, follower);
        if ('service' in led) {
          logger.info({ takeoverMs: Date.now() - freeAt, caughtUpRecords: led.caughtUp, seq: follower.seq }, 'elected');
          return;
        }
        // Another standby was quicker: follow it.
        this.#setLeader(led.holder);
        lostRace = true;
      } catch (err) {
        if (this.#closed) return;
        if (err instanceof StoreDamagedError) throw err;
        logger.warn({ err: (err as Error).message }, 'standby lost track of the store (etcd restarted or unreachable, or its history compacted): reading it again');
        follower = undefined;
        await sleep(REREAD_MS);
      }
    }
  }

  /**
   * Follows until the lock key is gone at or after `notBefore` (true), or the campaign closes
   * (false); `freeNow`: a lock the follower already knows to be gone counts.
   */
  async #untilLeadFree(follower: EtcdFollower, notBefore: number, freeNow: boolean): Promise<boolean> {
    // close() may have come while the follower was reading: it found no watch to abort.
    if (this.#closed) return false;
    const abort = new AbortController();
    this.#watch = abort;
    let free = false;
    let timer: NodeJS.Timeout | undefined;
    const onLock = (holder: string | undefined): void => {
      this.#setLeader(holder);
      clearTimeout(timer);
      if (holder !== undefined) return;
      const takeIfStillFree = (): void => {
        if (follower.holder !== undefined) return;
        free = true;
        abort.abort();
      };
      if (Date.now() >= notBefore) takeIfStillFree();
      else timer = setTimeout(takeIfStillFree, notBefore - Date.now());
    };
    try {
      if (freeNow && follower.holder === undefined) onLock(undefined);
      if (!free) await follower.follow(abort.signal, onLock);
    } finally {
      clearTimeout(timer);
      this.#watch = undefined;
    }
    if (free || this.#closed) return free;
    throw new Error('the watch of the store ended');
  }

  #setLeader(holder: string | undefined): void {
    const named = leaderOfHolder(holder);
    if (named?.hostPort !== this.#leader?.hostPort) this.#options.logger.info({ leader: named?.hostPort ?? null }, 'leader changed');
    this.#leader = named;
  }

  #fail(what: string, err: unknown): void {
    this.#options.logger.error({ err: (err as Error).message }, what);
    this.#reportFailure(`${what}: ${(err as Error).message}`);
  }
}
