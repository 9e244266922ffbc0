import type { EventRecord } from '../../events/types.ts';
import { emptyState, StateDraft, stateFromJson, stateToJson } from '../core/state-ops.ts';
import type { ClusterState } from '../types.ts';
import { etcdKeys, parseHead, prefixEnd, type EtcdKeys, type LogEntry } from './core/etcd-layout.ts';
import type { EtcdClient, KeyValue, WatchEvent } from './etcd/etcd-client.ts';
import { StoreDamagedError } from './errors.ts';
import type { CommitRecord } from './state-store.ts';

export interface SnapshotPointer { seq: number; parts: string; count: number }
export interface SnapshotBody { seq: number; lastEventId: number; history: EventRecord[]; state: ReturnType<typeof stateToJson> }

/**
 * The etcd store's state as a reader rebuilds it: the snapshot and the log read once (without the
 * lock: every read at one etcd revision, so a snapshot written meanwhile cannot tear it), then
 * every later log entry applied in seq order as a watch from that revision delivers it. The
 * leader's load is the same read under the lock; a warm standby keeps following, learns of the
 * lock key's changes at once, and on taking the lock reads only the entries after its own seq.
 */
export class EtcdFollower {
  readonly #client: EtcdClient;
  readonly #prefix: string;
  readonly #keys: EtcdKeys;
  readonly #historyLimit: number;
  #draft = new StateDraft(emptyState(), 'commit');
  #seq = 0;
  #lastEventId = 0;
  #history: EventRecord[] = [];
  /** The etcd revision everything up to which has been applied. */
  #revision = 0;
  #holder: string | undefined;
  /** What the leader's compaction rule counts: records and log bytes since the snapshot, and its size. */
  recordsSinceSnapshot = 0;
  bytesSinceSnapshot = 0;
  snapshotBytes = 0;
  /** The part groups the snapshot and the log entries read name (what a full read keeps). */
  referenced: string[] = [];

  constructor(client: EtcdClient, prefix: string, historyLimit: number) {
    this.#client = client;
    this.#prefix = prefix;
    this.#keys = etcdKeys(prefix);
    this.#historyLimit = historyLimit;
  }

  get seq(): number {
    return this.#seq;
  }

  get state(): ClusterState {
    return this.#draft.state;
  }

  get lastEventId(): number {
    return this.#lastEventId;
  }

  /** The history kept (the limit and a quarter more: trimmed in steps). */
  get history(): EventRecord[] {
    return this.#history;
  }

  /** The lock key's value (the leader's holder JSON) as of the last read or watched change. */
  get holder(): string | undefined {
    return this.#holder;
  }

  /** Reads everything (snapshot, log, lock) at the current revision, replacing what was held. */
  async read(): Promise<void> {
    const keys = this.#keys;
    const first = await this.#client.range(keys.head);
    const at = first.revision;
    const head = parseHead(first.kvs[0]?.value.toString('utf8'));
    const [snapshotKv] = (await this.#client.range(keys.snapshot, { revision: at })).kvs;
    const pointer = snapshotKv === undefined ? undefined : JSON.parse(snapshotKv.value.toString('utf8')) as SnapshotPointer;
    let base: SnapshotBody = { seq: 0, lastEventId: 0, history: [], state: stateToJson(emptyState()) };
    this.snapshotBytes = 0;
    if (pointer !== undefined) {
      const bytes = await this.#readParts(pointer.parts, pointer.count, at);
      base = JSON.parse(bytes.toString('utf8')) as SnapshotBody;
      this.snapshotBytes = bytes.length;
    }
    this.#draft = new StateDraft(stateFromJson(base.state), 'commit');
    this.#history = base.history;
    this.#seq = base.seq;
    this.#lastEventId = base.lastEventId;
    this.referenced = pointer === undefined ? [] : [pointer.parts];
    this.recordsSinceSnapshot = 0;
    this.bytesSinceSnapshot = 0;
    const entries = (await this.#client.range(keys.log(base.seq + 1), { end: prefixEnd(keys.logDir), revision: at })).kvs;
    for (const kv of entries) await this.#apply(kv, at);
    this.#holder = (await this.#client.range(keys.lock, { revision: at })).kvs[0]?.value.toString('utf8');
    this.#revision = at;
    this.#checkHead(head);
  }

  /**
   * Reads the log entries after this follower's seq (the delta) at the current revision, as a new
   * leader does once it holds the lock; everything again when a snapshot dropped some of them.
   * How many records it applied (-1: it read everything).
   */
  async catchUp(): Promise<number> {
    const first = await this.#client.range(this.#keys.head);
    const head = parseHead(first.kvs[0]?.value.toString('utf8'));
    const entries = (await this.#client.range(this.#keys.log(this.#seq + 1), { end: prefixEnd(this.#keys.logDir), revision: first.revision })).kvs;
    const from = this.#seq;
    // A log entry's key is its first seq: a snapshot taken meanwhile may have dropped the one due.
    const gap = head > from && entries[0]?.key !== this.#keys.log(from + 1);
    if (gap) {
      await this.read();
      return -1;
    }
    for (const kv of entries) await this.#apply(kv, first.revision);
    this.#revision = first.revision;
    this.#checkHead(head);
    return this.#seq - from;
  }

  /**
   * Applies every change after the revision read until `signal` aborts: log entries to the state,
   * the lock key's value to `onLock` (undefined: deleted, the lead is free). Throws when it cannot
   * go on (an EtcdWatchError: compacted history, a lost connection; or a log that skips a seq):
   * read() again, then follow again.
   */
  async follow(signal: AbortSignal, onLock: (holder: string | undefined) => void): Promise<void> {
    const keys = this.#keys;
    // Parts come in through the log entry naming them; the snapshot changes nothing a follower holds.
    const watched = this.#client.watch(`${this.#prefix}/`, { end: keys.partsDir, startRevision: this.#revision + 1, signal });
    for await (const batch of watched) {
      for (const event of batch.events) {
        if (signal.aborted) return;
        await this.#applyEvent(event, onLock);
        this.#revision = event.kv.modRevision;
      }
    }
  }

  async #applyEvent(event: WatchEvent, onLock: (holder: string | undefined) => void): Promise<void> {
    const { key } = event.kv;
    if (key === this.#keys.lock) {
      this.#holder = event.type === 'PUT' ? event.kv.value.toString('utf8') : undefined;
      onLock(this.#holder);
    } else if (event.type === 'PUT' && key.startsWith(this.#keys.logDir)) {
      await this.#apply(event.kv, event.kv.modRevision);
    }
  }

  /** Applies one log entry (its parts read as of `revision`), in seq order. */
  async #apply(kv: KeyValue, revision: number): Promise<void> {
    const entry = JSON.parse(kv.value.toString('utf8')) as LogEntry<CommitRecord>;
    if ('parts' in entry) this.referenced.push(entry.parts);
    const records = 'records' in entry ? entry.records : JSON.parse((await this.#readParts(entry.parts, entry.count, revision)).toString('utf8')) as CommitRecord[];
    for (const record of records) {
      if (record.seq !== this.#seq + 1) throw new StoreDamagedError(`the etcd store under ${this.#prefix} is damaged: ${kv.key} holds seq ${String(record.seq)} where ${this.#seq + 1} was due. Nothing was changed.`);
      this.#seq += 1;
      this.#draft.apply(record.ops);
      this.#history = remember(this.#history, record.events, this.#historyLimit);
      this.#lastEventId = Math.max(this.#lastEventId, record.events.at(-1)?.eventId ?? 0);
    }
    this.bytesSinceSnapshot += kv.value.length;
    this.recordsSinceSnapshot += records.length;
  }

  #checkHead(head: number): void {
    if (this.#seq !== head) throw new StoreDamagedError(`the etcd store under ${this.#prefix} is damaged: its head says seq ${head} but its snapshot and log end at ${this.#seq}. Nothing was changed.`);
  }

  /** The parts of `group`, as of `revision`, joined. */
  async #readParts(group: string, count: number, revision: number): Promise<Buffer> {
    const kvs = (await this.#client.range(group, { end: prefixEnd(group), revision })).kvs;
    if (kvs.length !== count) throw new StoreDamagedError(`the etcd store under ${this.#prefix} is damaged: ${group} holds ${kvs.length} part(s) of ${count}. Nothing was changed.`);
    return Buffer.concat(kvs.map((kv) => kv.value));
  }
}

/** `history` with `events` added (in place), trimmed to the last `limit` once it is a quarter over. */
export function remember(history: EventRecord[], events: readonly EventRecord[], limit: number): EventRecord[] {
  for (const event of events) history.push(event);
  return history.length > limit * 1.25 ? history.slice(-limit) : history;
}
