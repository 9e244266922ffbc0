/**
 * `node --import tsx bench/ha.ts [--kills N] [--leader-lease S]` (or `npm run bench -- ha`).
 *
 * A real etcd and three `corral scheduler --store etcd` on loopback (test/support/ha-cluster.ts).
 * N times (default 10): `kill -9` the leader, then POST a small app (instances 0), retried against
 * every scheduler until one answers 2xx (a standby proxies to the leader, so a 2xx is the new
 * leader's acknowledgement); the time from the kill to that answer is one sample. The killed
 * scheduler is restarted and the three agree on a leader before the next kill.
 *
 * Beside it, in the same run: the floor a lease-based etcd lock allows with the same TTL (a plain
 * process holding a lease-bound key is killed, this one campaigns every 50 ms with the project's own
 * etcd client until it takes the key), and single-app POST latency on the file store and the etcd
 * store (bench/scheduler.ts, at a small size).
 *
 * `--leader-lease S` (default: the scheduler's default, 2) is passed to the schedulers as
 * `corral scheduler --leader-lease` and is the floor's TTL too.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { EtcdClient } from '../src/scheduler/store/etcd/etcd-client.ts';
import { startEtcd, type EtcdServer } from '../test/support/etcd.ts';
import { startHaCluster } from '../test/support/ha-cluster.ts';
import { runSchedulerBench, type Latency } from './scheduler.ts';

export interface HaBenchOptions {
  log: (line: string) => void;
  table?: (line: string) => void;
  /** Leader kills (and floor handovers); default 10. */
  kills?: number;
  /** `--leader-lease` of the schedulers and the floor's TTL, seconds; default LEASE_S. */
  leaderLeaseS?: number;
}

/** `corral scheduler --leader-lease`'s default (config/defaults.json). */
const LEASE_S = 2;
const TARGET_P99_MS = 3000;
const FLOOR_POLL_MS = 50;
const HOLDER = join(import.meta.dirname, 'support-lease-holder.ts');

interface Series { samples: number; p50Ms: number; p99Ms: number; maxMs: number }

function series(times: readonly number[]): Series {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return { samples: sorted.length, p50Ms: at(50), p99Ms: at(99), maxMs: sorted.at(-1) ?? NaN };
}

/** Kill -9 of a lease holder → the key taken by a campaigner polling every FLOOR_POLL_MS, `kills` times. */
async function leaseFloor(etcd: EtcdServer, ttlSeconds: number, kills: number, log: (line: string) => void): Promise<Series> {
  const client = new EtcdClient([etcd.url]);
  const key = '/bench-ha/floor-lock';
  const times: number[] = [];
  try {
    for (let round = 1; round <= kills; round += 1) {
      const holder = spawn(process.execPath, ['--import', 'tsx', HOLDER, etcd.url, key, String(ttlSeconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve) => holder.on('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: holder.stdout }).on('line', (line) => line === 'held' && resolve());
        void exited.then(() => reject(new Error('the lease holder exited before it held the key')));
      });
      // Killed right after a renewal would be the worst case; a random phase is what a crash gets.
      await sleep(Math.random() * (ttlSeconds * 1000) / 3);
      holder.kill('SIGKILL');
      const killedAt = performance.now();
      await exited;
      // As a standby campaigns: read the key; once it is gone, take it with a fresh lease.
      let lease: string | undefined;
      while (lease === undefined) {
        if ((await client.range(key)).kvs.length === 0) {
          const fresh = await client.leaseGrant(ttlSeconds);
          const taken = await client.txn([{ key, target: 'CREATE', revision: 0 }], [{ put: { key, value: 'campaigner', lease: fresh } }]);
          if (taken.succeeded) lease = fresh;
          else await client.leaseRevoke(fresh);
        }
        if (lease === undefined) await sleep(FLOOR_POLL_MS);
      }
      times.push(performance.now() - killedAt);
      log(`floor ${round}/${kills}: key taken ${(times.at(-1)! / 1000).toFixed(2)} s after the kill`);
      await client.leaseRevoke(lease);
    }
  } finally {
    await client.close();
  }
  return series(times);
}

/** POSTs app `id` to each url in turn until one answers 2xx; the answering url. */
async function postUntilAcknowledged(urls: readonly string[], id: () => string, deadlineMs: number): Promise<string> {
  for (;;) {
    for (const url of urls) {
      const response = await request(new URL('/v2/apps', url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: id(), cmd: 'sleep 1000', instances: 0, cpus: 0.01, mem: 16 }),
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      }).catch(() => undefined);
      await response?.body.dump();
      if (response !== undefined && response.statusCode >= 200 && response.statusCode < 300) return url;
      if (performance.now() > deadlineMs) throw new Error(`no scheduler acknowledged a write within the deadline (last answer ${response?.statusCode ?? 'none'})`);
    }
    await sleep(20);
  }
}

export async function runHaBench(options: HaBenchOptions): Promise<void> {
  const { log } = options;
  const table = options.table ?? log;
  const kills = options.kills ?? 10;
  const leaseS = options.leaderLeaseS ?? LEASE_S;
  const cluster = await startHaCluster({ args: ['--leader-lease', `${leaseS}s`], prefix: '/bench-ha' });
  const failovers: number[] = [];
  let floor: Series;
  try {
    let attempt = 0;
    for (let round = 1; round <= kills; round += 1) {
      const leader = await cluster.leader(60_000);
      const index = cluster.urls.indexOf(leader);
      const killed = cluster.schedulers[index];
      if (killed === undefined) throw new Error(`the leader ${leader} is none of ${cluster.masters}`);
      killed.child.kill('SIGKILL');
      const killedAt = performance.now();
      const by = await postUntilAcknowledged(cluster.urls, () => `/bench-ha/r${round}-${(attempt += 1)}`, killedAt + 60_000);
      failovers.push(performance.now() - killedAt);
      log(`failover ${round}/${kills}: first write acknowledged ${(failovers.at(-1)! / 1000).toFixed(2)} s after kill -9 of ${leader} (answered by ${by})`);
      await killed.exited;
      await cluster.restart(index);
    }
    floor = await leaseFloor(cluster.etcd, leaseS, kills, log);
  } finally {
    await cluster.stop();
  }
  // Single-app POST latency on each store, from the scheduler bench at a small size (its table is not printed).
  const posts: Partial<Record<'file' | 'etcd', Latency>> = {};
  const etcd = await startEtcd('bench-ha-posts');
  try {
    for (const store of ['file', 'etcd'] as const) {
      const result = await runSchedulerBench({ log: (line) => log(`[scheduler bench, ${store}] ${line}`), table: () => undefined, agents: 10, tasks: 1000, apps: 10, tenK: false, store, etcdUrl: etcd.url });
      posts[store] = result.postEmpty;
    }
  } finally {
    await etcd.stop();
  }

  const failover = series(failovers);
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  const ms = (value: number | undefined): string => (value === undefined ? 'n/a' : `${value.toFixed(1)} ms`);
  const row = (label: string, figure: string, target = ''): string => `${label.padEnd(58)} ${figure.padStart(28)}  ${target}`;
  table('');
  table(`ha bench: etcd + 3 schedulers on loopback, ${kills} kills, lease ${leaseS} s; ${process.platform} ${process.arch}, node ${process.version}`);
  table(row('', 'p50 / p99 / max', 'target'));
  table(row('kill -9 leader -> first write acked by the new leader', `${s(failover.p50Ms)} / ${s(failover.p99Ms)} / ${s(failover.maxMs)}`,
    `<= ${s(TARGET_P99_MS)} p99 ${failover.p99Ms <= TARGET_P99_MS ? '(met)' : '(NOT met)'}`));
  table(row(`  floor: lease-bound key handover, same TTL (poll ${FLOOR_POLL_MS} ms)`, `${s(floor.p50Ms)} / ${s(floor.p99Ms)} / ${s(floor.maxMs)}`, 'what any lease-based election allows'));
  table(row('POST /v2/apps p50 / p99, file store (fsync)', `${ms(posts.file?.p50Ms)} / ${ms(posts.file?.p99Ms)}`));
  table(row('POST /v2/apps p50 / p99, etcd store', `${ms(posts.etcd?.p50Ms)} / ${ms(posts.etcd?.p99Ms)}`));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { kills: { type: 'string' }, 'leader-lease': { type: 'string' } } });
  const started = Date.now();
  await runHaBench({
    log: (line) => process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s ${line}\n`),
    table: (line) => process.stdout.write(`${line}\n`),
    ...(values.kills !== undefined ? { kills: Number(values.kills) } : {}),
    ...(values['leader-lease'] !== undefined ? { leaderLeaseS: Number(values['leader-lease']) } : {}),
  });
}
