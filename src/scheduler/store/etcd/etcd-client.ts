import { StringDecoder } from 'node:string_decoder';
import { Pool } from 'undici';
import { decodeKv, parseWatchFrame, splitFrames, type GatewayKv, type KeyValue, type WatchEvent } from '../core/watch-frames.ts';

export type { KeyValue, WatchEvent };

/**
 * A thin client of etcd v3's JSON gateway (`/v3/kv/*`, `/v3/lease/*`, `/v3/watch`) over undici: the few calls
 * the etcd store makes, with keys and values base64 as the gateway wants them. Chosen over the
 * `etcd3` package (gRPC) because it adds no dependency and keeps leases and watches in our hands
 * (etcd3's election has a 60 s TTL, a fixed double-leader bug and reports of watches that stop
 * after a reconnect), at about the same cost per commit (etcd's fsync dominates); only very large
 * values cost more, and a commit that large is rare (figures: docs/scheduler.md, "The etcd store").
 *
 * With several endpoints, a call that cannot reach one tries the next.
 */
export type Compare =
  | { key: string; target: 'VALUE'; value: string }
  | { key: string; target: 'CREATE' | 'MOD'; revision: number };

export type RequestOp =
  | { put: { key: string; value: string | Buffer; lease?: string } }
  | { deleteRange: { key: string; end?: string | Buffer } }
  | { range: { key: string } };

export interface TxnResult {
  succeeded: boolean;
  revision: number;
  /** The key-values of each `range` op, in order (empty for other ops). */
  ranges: KeyValue[][];
}

/** A batch of a watch: its events, in revision order, and the store's revision when etcd sent it. */
export interface WatchBatch {
  revision: number;
  events: WatchEvent[];
}

/** A watch that cannot go on (compacted history, canceled, the connection lost): re-read, then watch again. */
export class EtcdWatchError extends Error {
  /** Set when the revision asked for was compacted away: history starts here now. */
  readonly compactRevision: number | undefined;
  constructor(message: string, compactRevision?: number) {
    super(message);
    this.name = 'EtcdWatchError';
    this.compactRevision = compactRevision;
  }
}

/** etcd answered with an error (a bad request, a request too large, a lost lease). */
export class EtcdError extends Error {
  constructor(path: string, status: number, message: string) {
    super(`etcd ${path}: ${status} ${message}`);
    this.name = 'EtcdError';
  }
}

interface GatewayHeader { header?: { revision?: string } }

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64');

function compareJson(compare: Compare): Record<string, unknown> {
  if (compare.target === 'VALUE') return { key: b64(compare.key), target: 'VALUE', result: 'EQUAL', value: b64(compare.value) };
  const field = compare.target === 'CREATE' ? 'create_revision' : 'mod_revision';
  return { key: b64(compare.key), target: compare.target, result: 'EQUAL', [field]: String(compare.revision) };
}

function opJson(op: RequestOp): Record<string, unknown> {
  if ('put' in op) return { request_put: { key: b64(op.put.key), value: b64(op.put.value), ...(op.put.lease === undefined ? {} : { lease: op.put.lease }) } };
  if ('deleteRange' in op) return { request_delete_range: { key: b64(op.deleteRange.key), ...(op.deleteRange.end === undefined ? {} : { range_end: b64(op.deleteRange.end) }) } };
  return { request_range: { key: b64(op.range.key) } };
}

export class EtcdClient {
  readonly #endpoints: string[];
  readonly #pools = new Map<string, Pool>();
  #current = 0;
  readonly #timeoutMs: number;

  constructor(endpoints: readonly string[], options: { timeoutMs?: number } = {}) {
    if (endpoints.length === 0) throw new Error('no etcd endpoint');
    this.#endpoints = [...endpoints];
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The endpoint the last call reached. */
  get endpoint(): string {
    return this.#endpoints[this.#current]!;
  }

  /** `revision`: read the keys as they were then (one consistent view across several reads). */
  async range(key: string, options: { end?: string | Buffer; keysOnly?: boolean; revision?: number } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
    const body = await this.#call<{ kvs?: GatewayKv[] } & GatewayHeader>('/v3/kv/range', {
      key: b64(key), ...(options.end === undefined ? {} : { range_end: b64(options.end) }), ...(options.keysOnly === true ? { keys_only: true } : {}),
      ...(options.revision === undefined ? {} : { revision: String(options.revision) }),
    });
    return { kvs: (body.kvs ?? []).map(decodeKv), revision: Number(body.header?.revision ?? 0) };
  }

  async txn(compare: readonly Compare[], success: readonly RequestOp[], failure: readonly RequestOp[] = []): Promise<TxnResult> {
    const body = await this.#call<{ succeeded?: boolean; responses?: Array<{ response_range?: { kvs?: GatewayKv[] } }> } & GatewayHeader>('/v3/kv/txn', {
      compare: compare.map(compareJson), success: success.map(opJson), failure: failure.map(opJson),
    });
    return {
      succeeded: body.succeeded === true,
      revision: Number(body.header?.revision ?? 0),
      ranges: (body.responses ?? []).map((response) => (response.response_range?.kvs ?? []).map(decodeKv)),
    };
  }

  async leaseGrant(ttlSeconds: number): Promise<string> {
    const body = await this.#call<{ ID?: string; error?: string }>('/v3/lease/grant', { TTL: String(ttlSeconds) });
    if (body.ID === undefined) throw new EtcdError('/v3/lease/grant', 200, body.error ?? 'no lease id');
    return body.ID;
  }

  /** Renews the lease once; its remaining TTL in seconds (0 or less: the lease is gone). */
  async leaseKeepAlive(id: string): Promise<number> {
    const body = await this.#call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: id });
    return Number(body.result?.TTL ?? 0);
  }

  async leaseRevoke(id: string): Promise<void> {
    await this.#call('/v3/lease/revoke', { ID: id });
  }

  /** Drops etcd's history of old revisions (the store never reads them). */
  async compact(revision: number): Promise<void> {
    await this.#call('/v3/kv/compaction', { revision: String(revision) });
  }

  /**
   * Every change to the keys from `key` to `end` from `startRevision` on, batch by batch, until
   * `signal` aborts (then it just ends). Compacted history, a watch etcd cancels, and a connection
   * that drops or ends all throw an EtcdWatchError: the caller re-reads and watches again.
   */
  async *watch(key: string, options: { end?: string | Buffer; startRevision: number; signal: AbortSignal }): AsyncGenerator<WatchBatch> {
    const payload = { create_request: { key: b64(key), ...(options.end === undefined ? {} : { range_end: b64(options.end) }), start_revision: String(options.startRevision) } };
    let response;
    try {
      response = await this.#pool().request({ method: 'POST', path: '/v3/watch', body: JSON.stringify(payload), headers: { 'content-type': 'application/json' }, signal: options.signal, bodyTimeout: 0 });
    } catch (err) {
      if (options.signal.aborted) return;
      this.#current = (this.#current + 1) % this.#endpoints.length;
      throw new EtcdWatchError(`cannot watch etcd at ${this.endpoint}: ${(err as Error).message}`);
    }
    if (response.statusCode !== 200) {
      const text = await response.body.text().catch(() => '');
      throw new EtcdWatchError(`etcd /v3/watch: ${response.statusCode} ${text.trim().slice(0, 200)}`);
    }
    const decoder = new StringDecoder('utf8');
    let buffered = '';
    try {
      for await (const chunk of response.body) {
        const { lines, rest } = splitFrames(buffered + decoder.write(chunk as Buffer));
        buffered = rest;
        for (const line of lines) {
          const frame = parseWatchFrame(line);
          switch (frame.kind) {
            case 'events':
              yield { revision: frame.revision, events: frame.events };
              break;
            case 'compacted':
              throw new EtcdWatchError(`etcd compacted its history past revision ${options.startRevision} (to ${frame.compactRevision})`, frame.compactRevision);
            case 'canceled':
            case 'error':
              throw new EtcdWatchError(`etcd ended the watch: ${frame.kind === 'error' ? frame.message : frame.reason}`);
            case 'created':
            case 'progress':
              break;
          }
        }
      }
    } catch (err) {
      if (options.signal.aborted) return;
      if (err instanceof EtcdWatchError) throw err;
      throw new EtcdWatchError(`the watch on etcd at ${this.endpoint} broke: ${(err as Error).message}`);
    } finally {
      if (!response.body.destroyed) response.body.destroy();
    }
    if (options.signal.aborted) return;
    throw new EtcdWatchError(`etcd at ${this.endpoint} closed the watch`);
  }

  #pool(): Pool {
    const endpoint = this.#endpoints[this.#current]!;
    let pool = this.#pools.get(endpoint);
    if (pool === undefined) {
      pool = new Pool(endpoint, { connections: 8, headersTimeout: this.#timeoutMs, bodyTimeout: this.#timeoutMs });
      this.#pools.set(endpoint, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
    this.#pools.clear();
  }

  async #call<T>(path: string, payload: unknown): Promise<T> {
    let lastError: unknown;
    for (let tried = 0; tried < this.#endpoints.length; tried += 1) {
      const pool = this.#pool();
      let response;
      try {
        response = await pool.request({ method: 'POST', path, body: JSON.stringify(payload), headers: { 'content-type': 'application/json' } });
      } catch (err) {
        // Not reached (refused, reset, timed out): the next endpoint may be.
        lastError = err;
        this.#current = (this.#current + 1) % this.#endpoints.length;
        continue;
      }
      const text = await response.body.text();
      if (response.statusCode !== 200) {
        let message = text;
        try {
          message = (JSON.parse(text) as { message?: string; error?: string }).message ?? message;
        } catch {
          // not JSON: keep the text
        }
        throw new EtcdError(path, response.statusCode, message.trim());
      }
      // The gateway streams keepalive answers as `{"result": …}` lines; the first is the one asked for.
      const line = path === '/v3/lease/keepalive' ? text.split('\n')[0] ?? '{}' : text;
      return JSON.parse(line) as T;
    }
    throw new Error(`cannot reach etcd at ${this.#endpoints.join(', ')}: ${(lastError as Error).message}`);
  }
}
