import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventRecord } from '../../events/types.ts';
import type { Logger } from '../../shared/log.ts';
import { stateToJson } from '../core/state-ops.ts';
import type { ClusterState } from '../types.ts';
import { etcdKeys, groupOf, INLINE_BYTES, orphanGroups, parseHead, prefixEnd, splitBytes, txnGroups, type EtcdKeys, type LogEntry } from './core/etcd-layout.ts';
import { EtcdClient, type Compare } from './etcd/etcd-client.ts';
import { EtcdFollower, remember, type SnapshotBody, type SnapshotPointer } from './etcd-follower.ts';
import { EtcdPrefixLockedError, StoreHoldLostError, StoreUnreachableError } from './errors.ts';
import { RevisionConflict, type CommitRecord, type LoadedState, type StateStore, type StoreRecovery } from './state-store.ts';

export interface EtcdStoreOptions {
  endpoints: readonly string[];
  prefix: string;
  logger: Logger;
  /** Write a snapshot after this many records since the last one... */
  compactEvery?: number;
  /** ...and once the log entries since it are this many times as large as it (as the file store). */
  logToSnapshot?: number;
  historyLimit?: number;
  /** Named in the lock key, for the error a second scheduler gets. */
  holder?: Record<string, unknown>;
  /** The writer's lease (`--leader-lease`): a killed scheduler's hold on the prefix ends this long after; renewed every quarter of it. */
  lockTtlSeconds?: number;
  /** How long start-up waits for a held prefix to be released (a killed writer's lease to expire); 0 = refuse at once. */
  lockWaitMs?: number;
  /** How long start-up keeps trying an etcd it cannot reach. */
  connectTimeoutMs?: number;
}


/**
 * The StateStore on etcd v3 (the layout and the limits it respects: core/etcd-layout.ts). Every
 * commit is one compare-and-set transaction on `<prefix>/head`, guarded by this writer's lock key
 * too, so a stale writer (or one whose lease ran out) makes nothing visible. Large commits and
 * snapshots go in parts first; the transaction that names them is what makes them count.
 */
export class EtcdStore implements StateStore {
  readonly #options: EtcdStoreOptions;
  readonly #keys: EtcdKeys;
  readonly #client: EtcdClient;
  #seq = 0;
  #lease: string | undefined;
  /** The lock key's create revision: every write compares it, so only this hold can write. */
  #lockRevision = 0;
  #keepAlive: NodeJS.Timeout | undefined;
  #history: EventRecord[] = [];
  #recordsSinceSnapshot = 0;
  #bytesSinceSnapshot = 0;
  #snapshotBytes = 0;
  /** The etcd revision of the snapshot before the last: history older than it is compacted away. */
  #snapshotRevisions: number[] = [];
  #compacting: Promise<void> | undefined;
  /** Set once the hold is known lost: no write is tried (let alone acknowledged) after that. */
  #lost = false;
  #lostListeners: Array<() => void> = [];

  constructor(options: EtcdStoreOptions) {
    this.#options = options;
    this.#keys = etcdKeys(options.prefix);
    this.#client = new EtcdClient(options.endpoints);
  }

  get #historyLimit(): number {
    return this.#options.historyLimit ?? 10_000;
  }

  async load(): Promise<LoadedState> {
    await this.#lock();
    try {
      const follower = this.follower(this.#client);
      await follower.read();
      const recovery: StoreRecovery = { skippedSnapshots: [], removedLeftovers: await this.#removeOrphans(follower.referenced) };
      return this.#adopt(follower, recovery);
    } catch (err) {
      await this.#unlock();
      throw err;
    }
  }

  /** A reader of this store's prefix on `client` (a warm standby's, handed to loadFrom once the lead is free). */
  follower(client: EtcdClient): EtcdFollower {
    return new EtcdFollower(client, this.#options.prefix, this.#historyLimit);
  }

  /**
   * Takes the lock and loads from a follower that kept up with the store: only the log entries
   * after its seq are read. (Leftover parts are left to the next full load: the follower does not
   * know the current snapshot's.)
   */
  async loadFrom(follower: EtcdFollower): Promise<LoadedState & { caughtUp: number }> {
    await this.#lock();
    try {
      const caughtUp = await follower.catchUp();
      return { ...this.#adopt(follower, { skippedSnapshots: [], removedLeftovers: [] }), caughtUp };
    } catch (err) {
      await this.#unlock();
      throw err;
    }
  }

  #adopt(follower: EtcdFollower, recovery: StoreRecovery): LoadedState {
    this.#seq = follower.seq;
    this.#history = follower.history;
    this.#recordsSinceSnapshot = follower.recordsSinceSnapshot;
    this.#bytesSinceSnapshot = follower.bytesSinceSnapshot;
    this.#snapshotBytes = follower.snapshotBytes;
    const { state, seq, lastEventId } = follower;
    this.#options.logger.info({ etcd: this.#client.endpoint, prefix: this.#options.prefix, seq, lastEventId, apps: state.apps.size, instances: state.instances.size }, 'state loaded');
    return { state, revision: seq, lastEventId, history: this.#history.slice(-this.#historyLimit), recovery };
  }

  async append(records: readonly CommitRecord[], stateAfter: ClusterState, expectedRevision: number): Promise<number> {
    if (this.#lost) throw this.#lostHold();
    if (this.#lease === undefined) throw new Error('store is not open');
    if (expectedRevision !== this.#seq) throw new RevisionConflict(expectedRevision, this.#seq);
    const first = this.#seq + 1;
    const last = this.#seq + records.length;
    const numbered = records.map((record, index) => ({ ...record, seq: first + index }));
    const bytes = Buffer.from(JSON.stringify(numbered));
    let entry: LogEntry<CommitRecord>;
    let group: string | undefined;
    if (bytes.length <= INLINE_BYTES) {
      entry = { last, records: numbered };
    } else {
      group = this.#keys.commitParts(first, randomUUID().slice(0, 8));
      entry = { last, parts: group, count: await this.#writeParts(group, bytes) };
    }
    const value = JSON.stringify(entry);
    const headCompare: Compare = expectedRevision === 0 ? { key: this.#keys.head, target: 'CREATE', revision: 0 } : { key: this.#keys.head, target: 'VALUE', value: String(expectedRevision) };
    let result;
    try {
      result = await this.#client.txn(
        [headCompare, this.#holdCompare()],
        [{ put: { key: this.#keys.log(first), value } }, { put: { key: this.#keys.head, value: String(last) } }],
        [{ range: { key: this.#keys.head } }, { range: { key: this.#keys.lock } }],
      );
    } catch (err) {
      // The answer was lost, not necessarily the write: the head says which.
      if (!await this.#landed(first, value)) throw err;
      result = undefined;
    }
    if (result !== undefined && !result.succeeded) {
      if (group !== undefined) await this.#client.txn([], [{ deleteRange: { key: group, end: prefixEnd(group) } }]).catch(() => undefined);
      const [headKv, lockKv] = [result.ranges[0]?.[0], result.ranges[1]?.[0]];
      if (lockKv?.createRevision !== this.#lockRevision) throw this.#lostHold();
      throw new RevisionConflict(expectedRevision, parseHead(headKv?.value.toString('utf8')));
    }
    this.#seq = last;
    for (const record of records) this.#history = remember(this.#history, record.events, this.#historyLimit);
    this.#recordsSinceSnapshot += records.length;
    this.#bytesSinceSnapshot += bytes.length;
    if (this.#compacting === undefined && this.#recordsSinceSnapshot >= (this.#options.compactEvery ?? 5000)
      && this.#bytesSinceSnapshot >= (this.#options.logToSnapshot ?? 3) * this.#snapshotBytes) {
      this.#startSnapshot(stateAfter);
    }
    return last;
  }

  /** Whether the commit whose log entry is `value` is in the store after all (its answer was lost). */
  async #landed(first: number, value: string): Promise<boolean> {
    const [entry] = (await this.#client.range(this.#keys.log(first))).kvs;
    return entry !== undefined && entry.value.toString('utf8') === value;
  }

  /** Waits for a snapshot being written, then gives up the prefix (revokes the lease). */
  async close(): Promise<void> {
    await this.#compacting;
    await this.#unlock();
    await this.#client.close();
  }

  /** Takes `<prefix>/lock` with a new lease, waiting up to lockWaitMs for a held one to be released. */
  async #lock(): Promise<void> {
    const { lockTtlSeconds = 2, lockWaitMs = 0, connectTimeoutMs = 10_000 } = this.#options;
    const lease = await this.#reach(() => this.#client.leaseGrant(lockTtlSeconds), connectTimeoutMs);
    const holder = JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), ...this.#options.holder });
    const deadline = Date.now() + lockWaitMs;
    for (;;) {
      const result = await this.#client.txn(
        [{ key: this.#keys.lock, target: 'CREATE', revision: 0 }],
        [{ put: { key: this.#keys.lock, value: holder, lease } }, { range: { key: this.#keys.lock } }],
        [{ range: { key: this.#keys.lock } }],
      );
      const held = result.ranges.at(-1)?.[0];
      if (result.succeeded && held !== undefined) {
        this.#lease = lease;
        this.#lockRevision = held.createRevision;
        break;
      }
      if (Date.now() >= deadline) {
        await this.#client.leaseRevoke(lease).catch(() => undefined);
        throw new EtcdPrefixLockedError(this.#options.prefix, held?.value.toString('utf8') ?? 'unknown');
      }
      await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
    }
    this.#keepAlive = setInterval(() => void this.#renew(), (lockTtlSeconds * 1000) / 4);
    this.#keepAlive.unref();
  }

  async #renew(): Promise<void> {
    const lease = this.#lease;
    if (lease === undefined) return;
    try {
      if (await this.#client.leaseKeepAlive(lease) <= 0) throw this.#lostHold();
    } catch (err) {
      if (this.#lost || /lease not found/i.test((err as Error).message)) {
        this.#lostHold();
        return;
      }
      this.#options.logger.warn({ err: (err as Error).message }, 'could not renew the etcd lease holding the store');
    }
  }

  async #unlock(): Promise<void> {
    clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease !== undefined) await this.#client.leaseRevoke(lease).catch(() => undefined);
  }

  /** Every write holds only while this store's lock key is the one it created. */
  #holdCompare(): Compare {
    return { key: this.#keys.lock, target: 'CREATE', revision: this.#lockRevision };
  }

  /** Calls `listener` once the hold is lost (at once if it is already). */
  onLostHold(listener: () => void): void {
    if (this.#lost) listener();
    else this.#lostListeners.push(listener);
  }

  /** Marks the hold lost (stops renewing it, tells the listeners once); the error to throw. */
  #lostHold(): StoreHoldLostError {
    if (!this.#lost && this.#lease !== undefined) {
      this.#lost = true;
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
      this.#options.logger.error({ prefix: this.#options.prefix }, 'lost the hold on the etcd store (the lease ran out or another scheduler took the lock): refusing every write, stepping down');
      for (const listener of this.#lostListeners.splice(0)) listener();
    }
    return new StoreHoldLostError(this.#options.prefix);
  }

  /** Runs `call` until etcd answers, for at most `timeoutMs`; then a StoreUnreachableError. */
  async #reach<T>(call: () => Promise<T>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await call();
      } catch (err) {
        const message = (err as Error).message;
        if (!message.startsWith('cannot reach etcd')) throw err;
        if (Date.now() >= deadline) throw new StoreUnreachableError(`${message} (tried for ${Math.round(timeoutMs / 1000)} s): is etcd running, and is --etcd right?`);
        if (attempt === 0) this.#options.logger.warn({ err: message, timeoutMs }, 'etcd not reachable yet; retrying');
        await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
      }
    }
  }

  /** Writes `bytes` as parts of `group`, a few per transaction, each guarded by the hold; the number of parts. */
  async #writeParts(group: string, bytes: Buffer): Promise<number> {
    const parts = splitBytes(bytes);
    for (const numbers of txnGroups(parts.length)) {
      const result = await this.#client.txn([this.#holdCompare()], numbers.map((n) => ({ put: { key: this.#keys.part(group, n), value: parts[n]! } })));
      if (!result.succeeded) throw this.#lostHold();
    }
    return parts.length;
  }

  /** Parts no log entry or snapshot names: what a failed or interrupted write left. */
  async #removeOrphans(referenced: string[]): Promise<string[]> {
    const partKeys = (await this.#client.range(this.#keys.partsDir, { end: prefixEnd(this.#keys.partsDir), keysOnly: true })).kvs;
    const orphans = orphanGroups([...new Set(partKeys.map((kv) => groupOf(kv.key)))], referenced);
    for (const group of orphans) {
      await this.#client.txn([this.#holdCompare()], [{ deleteRange: { key: group, end: prefixEnd(group) } }]);
    }
    return orphans;
  }

  /**
   * Writes the snapshot of `state` (as of the current seq) in the background, then in one
   * transaction makes it current and deletes the log entries and parts it holds.
   */
  #startSnapshot(state: ClusterState): void {
    const seq = this.#seq;
    const body: SnapshotBody = { seq, lastEventId: this.#history.at(-1)?.eventId ?? 0, history: this.#history.slice(-this.#historyLimit), state: stateToJson(state) };
    this.#recordsSinceSnapshot = 0;
    this.#bytesSinceSnapshot = 0;
    this.#compacting = this.#writeSnapshot(body)
      .catch((err: unknown) => this.#options.logger.error({ err: (err as Error).message }, 'etcd store snapshot failed; the log keeps growing until one succeeds'))
      .finally(() => {
        this.#compacting = undefined;
      });
  }

  async #writeSnapshot(body: SnapshotBody): Promise<void> {
    const bytes = Buffer.from(JSON.stringify(body));
    const group = this.#keys.snapshotParts(body.seq, randomUUID().slice(0, 8));
    const count = await this.#writeParts(group, bytes);
    const pointer: SnapshotPointer = { seq: body.seq, parts: group, count };
    const result = await this.#client.txn([this.#holdCompare()], [
      { put: { key: this.#keys.snapshot, value: JSON.stringify(pointer) } },
      { deleteRange: { key: this.#keys.logDir, end: this.#keys.log(body.seq + 1) } },
      { deleteRange: { key: this.#keys.partsDir, end: group } },
    ]);
    if (!result.succeeded) throw this.#lostHold();
    this.#snapshotBytes = bytes.length;
    this.#options.logger.info({ seq: body.seq, bytes: bytes.length, parts: count }, 'etcd store compacted into a snapshot');
    // etcd keeps every old value until compacted: drop what is older than the snapshot before this one.
    this.#snapshotRevisions.push(result.revision);
    if (this.#snapshotRevisions.length > 1) await this.#client.compact(this.#snapshotRevisions.shift()!);
  }
}
