import { Pool } from 'undici';

/**
 * A thin client of etcd v3's JSON gateway (`/v3/kv/*`, `/v3/lease/*`) over undici: the few calls
 * the etcd store makes, with keys and values base64 as the gateway wants them. Chosen over the
 * `etcd3` package (gRPC) because it adds no dependency and keeps leases and watches in our hands
 * (etcd3's election has a 60 s TTL, a fixed double-leader bug and reports of watches that stop
 * after a reconnect), at about the same cost per commit (etcd's fsync dominates); only very large
 * values cost more, and a commit that large is rare (figures: docs/scheduler.md, "The etcd store").
 *
 * With several endpoints, a call that cannot reach one tries the next.
 */
export interface KeyValue {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
}

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

/** etcd answered with an error (a bad request, a request too large, a lost lease). */
export class EtcdError extends Error {
  constructor(path: string, status: number, message: string) {
    super(`etcd ${path}: ${status} ${message}`);
    this.name = 'EtcdError';
  }
}

interface GatewayKv { key: string; value?: string; create_revision?: string; mod_revision?: string }
interface GatewayHeader { header?: { revision?: string } }

const b64 = (value: string | Buffer): string => Buffer.from(value).toString('base64');

function toKv(kv: GatewayKv): KeyValue {
  return {
    key: Buffer.from(kv.key, 'base64').toString('utf8'),
    value: Buffer.from(kv.value ?? '', 'base64'),
    createRevision: Number(kv.create_revision ?? 0),
    modRevision: Number(kv.mod_revision ?? 0),
  };
}

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

  async range(key: string, options: { end?: string | Buffer; keysOnly?: boolean } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
    const body = await this.#call<{ kvs?: GatewayKv[] } & GatewayHeader>('/v3/kv/range', {
      key: b64(key), ...(options.end === undefined ? {} : { range_end: b64(options.end) }), ...(options.keysOnly === true ? { keys_only: true } : {}),
    });
    return { kvs: (body.kvs ?? []).map(toKv), revision: Number(body.header?.revision ?? 0) };
  }

  async txn(compare: readonly Compare[], success: readonly RequestOp[], failure: readonly RequestOp[] = []): Promise<TxnResult> {
    const body = await this.#call<{ succeeded?: boolean; responses?: Array<{ response_range?: { kvs?: GatewayKv[] } }> } & GatewayHeader>('/v3/kv/txn', {
      compare: compare.map(compareJson), success: success.map(opJson), failure: failure.map(opJson),
    });
    return {
      succeeded: body.succeeded === true,
      revision: Number(body.header?.revision ?? 0),
      ranges: (body.responses ?? []).map((response) => (response.response_range?.kvs ?? []).map(toKv)),
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

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
    this.#pools.clear();
  }

  async #call<T>(path: string, payload: unknown): Promise<T> {
    let lastError: unknown;
    for (let tried = 0; tried < this.#endpoints.length; tried += 1) {
      const endpoint = this.#endpoints[this.#current]!;
      let pool = this.#pools.get(endpoint);
      if (pool === undefined) {
        pool = new Pool(endpoint, { connections: 8, headersTimeout: this.#timeoutMs, bodyTimeout: this.#timeoutMs });
        this.#pools.set(endpoint, pool);
      }
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
