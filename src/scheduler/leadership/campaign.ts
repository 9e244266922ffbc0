import { setTimeout as sleep } from 'node:timers/promises';
import { formatHostPort, type HostPort } from '../../shared/address.ts';
import type { Logger } from '../../shared/log.ts';
import type { Service } from '../../shared/service.ts';
import { schemeOf, type ServerTls } from '../../shared/tls.ts';
import { leaderOfHolder } from '../core/leadership.ts';
import { etcdKeys } from '../store/core/etcd-layout.ts';
import { EtcdClient } from '../store/etcd/etcd-client.ts';
import { EtcdPrefixLockedError } from '../store/errors.ts';
import type { EtcdStore } from '../store/etcd-store.ts';
import type { LoadedState } from '../store/state-store.ts';
import { buildStandbyServer } from './standby-server.ts';

/** A killed scheduler restarted on its own address waits this long for its old lease, as before standbys. */
const OWN_LEASE_WAIT_MS = 7000;
const POLL_MS = 250;

export interface CampaignOptions {
  logger: Logger;
  endpoints: readonly string[];
  prefix: string;
  listen: HostPort;
  tls: ServerTls | undefined;
  /** A store that takes the prefix's lock on load, waiting up to lockWaitMs for it. */
  newStore: (lockWaitMs: number) => EtcdStore;
  /** Starts the full scheduler on `listen` over a loaded store. */
  lead: (store: EtcdStore, loaded: LoadedState, listen: HostPort) => Promise<Service>;
  pollMs?: number;
}

/**
 * Leads when the etcd prefix is free; otherwise serves as a cold standby (standby-server.ts) on
 * the same address, polls the lock key, and when the leader's lease ends takes the lock, stops the
 * standby server and starts the full scheduler there (loading the state as a restart does).
 */
export async function leadOrStandBy(options: CampaignOptions): Promise<Service> {
  const { logger, listen } = options;
  const lockKey = etcdKeys(options.prefix).lock;
  const leadHere = (store: EtcdStore, loaded: LoadedState): Promise<Service> => options.lead(store, loaded, listen);
  const first = await tryLead(options, 0, leadHere);
  if ('service' in first) return first.service;
  let leader = leaderOfHolder(first.holder);
  if (leader === undefined || leader.hostPort === formatHostPort(listen)) {
    // Our own address holds it (or one we cannot proxy to): likely a killed predecessor whose lease is about to run out.
    const again = await tryLead(options, OWN_LEASE_WAIT_MS, leadHere);
    if ('service' in again) return again.service;
    leader = leaderOfHolder(again.holder);
  }
  const client = new EtcdClient(options.endpoints);
  let self = formatHostPort(listen);
  const server = buildStandbyServer({ logger, self: () => self, leader: () => leader, tls: options.tls });
  await server.listen({ host: listen.host, port: listen.port });
  const address = server.server.address();
  const bound: HostPort = typeof address === 'object' && address !== null ? { host: listen.host, port: address.port } : listen;
  self = formatHostPort(bound);
  logger.info({ api: `${schemeOf(options.tls)}://${self}`, standby: true, leader: leader?.hostPort ?? null }, 'ready');

  let closed = false;
  let current: Service | undefined;
  let reportFailure: (what: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => {
    reportFailure = resolve;
  });
  const campaign = (async () => {
    let leaderSeenAt = Date.now();
    while (!closed) {
      let held: string | undefined;
      try {
        held = (await client.range(lockKey)).kvs[0]?.value.toString('utf8');
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'standby cannot read the leader lock from etcd');
        await sleep(options.pollMs ?? POLL_MS);
        continue;
      }
      if (held !== undefined) {
        const named = leaderOfHolder(held);
        if (named?.hostPort !== leader?.hostPort) logger.info({ leader: named?.hostPort ?? null }, 'leader changed');
        leader = named;
        leaderSeenAt = Date.now();
        await sleep(options.pollMs ?? POLL_MS);
        continue;
      }
      const freeAt = Date.now();
      const attempt = await tryLead(options, 0, async (store, loaded) => {
        if (closed) {
          await store.close();
          return undefined;
        }
        leader = undefined;
        await server.close();
        return options.lead(store, loaded, bound);
      });
      if ('service' in attempt) {
        current = attempt.service;
        if (current !== undefined) logger.info({ takeoverMs: Date.now() - leaderSeenAt, sinceLockFreeMs: Date.now() - freeAt }, 'elected');
        return;
      }
      // Another standby was quicker: follow it.
    }
  })().catch((err: unknown) => {
    logger.error({ err: (err as Error).message }, 'taking over as leader failed');
    reportFailure(`taking over as leader failed: ${(err as Error).message}`);
  });
  return {
    failed,
    async close() {
      closed = true;
      await campaign;
      await client.close();
      if (current !== undefined) await current.close();
      else await server.close();
    },
  };
}

/** Loads a store (taking the lock) and hands it to `lead`; `{holder}` when another holds the prefix. */
async function tryLead<T>(options: CampaignOptions, lockWaitMs: number, lead: (store: EtcdStore, loaded: LoadedState) => Promise<T>): Promise<{ service: T } | { holder: string }> {
  const store = options.newStore(lockWaitMs);
  let loaded: LoadedState;
  try {
    loaded = await store.load();
  } catch (err) {
    await store.close();
    if (err instanceof EtcdPrefixLockedError) return { holder: err.holder };
    throw err;
  }
  return { service: await lead(store, loaded) };
}
