import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { LRUCache } from 'lru-cache';
import { formatHostPort, type HostPort } from '../shared/address.ts';
import type { Logger } from '../shared/log.ts';
import { RCODE } from './core/answer.ts';
import { DnsError } from './errors.ts';
import type { ForwardingStats } from './metrics.ts';
import { encodeError, inspectReply, udpLimit, type Query, type ReplyInfo } from './core/wire.ts';

export interface ForwarderOptions {
  resolvers: readonly HostPort[];
  logger: Logger;
  /** Per upstream and attempt; the next resolver is tried after it. */
  timeoutMs?: number;
  /** Entries in the answer cache. */
  cacheSize?: number;
  now?: () => number;
}

interface CachedReply {
  reply: Buffer;
  info: ReplyInfo;
  storedAt: number;
}

const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_CACHE_SIZE = 10_000;
/** Upstream failures are logged at most this often, with how many were folded in. */
const LOG_INTERVAL_MS = 10_000;
const MAX_TCP_REPLY = 65535 + 2;

/**
 * Forwards names outside the domain to `--resolvers`, in order: over UDP for UDP clients and over
 * TCP for TCP clients (a truncated UDP answer goes back as it is, so the client retries over
 * TCP). Replies are cached by question for their TTL (answers) or the SOA minimum (negative
 * answers); a cached reply goes out with its TTLs aged. Every upstream failing is SERVFAIL.
 */
export class Forwarder {
  readonly #options: ForwarderOptions;
  readonly #cache: LRUCache<string, CachedReply>;
  readonly #now: () => number;
  readonly #stats = { answered: 0, failed: 0, cacheHits: 0 };
  #suppressed = 0;
  #lastLog = 0;

  constructor(options: ForwarderOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#cache = new LRUCache<string, CachedReply>({ max: options.cacheSize ?? DEFAULT_CACHE_SIZE, ttlAutopurge: false, perf: { now: () => this.#now() } });
  }

  get stats(): ForwardingStats {
    return { ...this.#stats, cacheSize: this.#cache.size };
  }

  /** The reply for the client (its id, aged TTLs); SERVFAIL when no resolver answers. */
  async forward(query: Query, message: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer> {
    const key = cacheKey(query);
    const cached = this.#cache.get(key);
    if (cached !== undefined && (transport === 'tcp' || cached.reply.length <= udpLimit(query.edns))) {
      this.#stats.cacheHits += 1;
      return aged(cached, query.header.id, this.#now());
    }
    for (const resolver of this.#options.resolvers) {
      try {
        const reply = transport === 'udp' ? await this.#udp(resolver, query, message) : await this.#tcp(resolver, query, message);
        this.#stats.answered += 1;
        this.#remember(key, reply.bytes, reply.info);
        return relayed(reply.bytes, query.header.id);
      } catch (err) {
        this.#stats.failed += 1;
        this.#logFailure(resolver, transport, err as Error);
      }
    }
    return encodeError(query.header, RCODE.SERVFAIL);
  }

  #remember(key: string, reply: Buffer, info: ReplyInfo): void {
    if (info.tc) return;
    const positive = info.rcode === RCODE.NOERROR && info.minAnswerTtl !== undefined;
    const negative = info.rcode === RCODE.NXDOMAIN || (info.rcode === RCODE.NOERROR && info.minAnswerTtl === undefined);
    const ttl = positive ? info.minAnswerTtl : negative ? info.negativeTtl : undefined;
    if (ttl === undefined || ttl <= 0) return;
    this.#cache.set(key, { reply: Buffer.from(reply), info, storedAt: this.#now() }, { ttl: ttl * 1000 });
  }

  #logFailure(resolver: HostPort, transport: string, err: Error): void {
    const now = this.#now();
    if (now - this.#lastLog < LOG_INTERVAL_MS) {
      this.#suppressed += 1;
      return;
    }
    this.#options.logger.warn({ resolver: formatHostPort(resolver), transport, err: err.message, code: (err as { code?: unknown }).code, suppressed: this.#suppressed }, 'upstream resolver failed');
    this.#lastLog = now;
    this.#suppressed = 0;
  }

  #timedOut(): DnsError {
    return new DnsError('ERR_DNS_UPSTREAM_TIMEOUT', `no reply within ${this.#timeout} ms`);
  }

  /** A fresh socket (random source port) and a random id per attempt: off-path spoofing has to guess both. */
  #udp(resolver: HostPort, query: Query, message: Buffer): Promise<{ bytes: Buffer; info: ReplyInfo }> {
    const id = randomInt(0, 65536);
    const outgoing = withId(message, id);
    const socket = dgram.createSocket(net.isIPv6(resolver.host) ? 'udp6' : 'udp4');
    return new Promise<{ bytes: Buffer; info: ReplyInfo }>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.#timedOut()), this.#timeout);
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on('message', (bytes, remote) => {
        // Anything but the resolver's reply to our id is ignored (a stray or late datagram);
        // a reply to our id that is malformed or about another question fails this resolver.
        if (remote.port !== resolver.port || bytes.length < 2 || bytes.readUInt16BE(0) !== id) return;
        clearTimeout(timer);
        try {
          resolve({ bytes, info: checked(bytes, id, query) });
        } catch (err) {
          reject(err);
        }
      });
      socket.send(outgoing, resolver.port, resolver.host);
    }).finally(() => socket.close());
  }

  #tcp(resolver: HostPort, query: Query, message: Buffer): Promise<{ bytes: Buffer; info: ReplyInfo }> {
    const id = randomInt(0, 65536);
    const frame = Buffer.alloc(2 + message.length);
    frame.writeUInt16BE(message.length, 0);
    withId(message, id).copy(frame, 2);
    const socket = net.connect({ host: resolver.host, port: resolver.port });
    return new Promise<{ bytes: Buffer; info: ReplyInfo }>((resolve, reject) => {
      socket.setTimeout(this.#timeout, () => reject(this.#timedOut()));
      socket.on('error', reject);
      socket.on('close', () => reject(badReply('connection closed before a reply')));
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        if (pending.length > MAX_TCP_REPLY) return reject(badReply('oversized reply'));
        if (pending.length < 2 || pending.length < 2 + pending.readUInt16BE(0)) return;
        const bytes = Buffer.from(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        try {
          resolve({ bytes, info: checked(bytes, id, query) });
        } catch (err) {
          reject(err);
        }
      });
      socket.write(frame);
    }).finally(() => socket.destroy());
  }

  get #timeout(): number {
    return this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }
}

const badReply = (reason: string): DnsError => new DnsError('ERR_DNS_UPSTREAM_BAD_REPLY', reason);

function cacheKey(query: Query): string {
  const edns = query.edns === undefined ? '-' : query.edns.dnssecOk ? 'do' : 'e';
  return `${query.question.name.toLowerCase()}|${query.question.type}|${query.question.class ?? 1}|${edns}|${query.header.cd ? 'cd' : ''}`;
}

function withId(message: Buffer, id: number): Buffer {
  const copy = Buffer.from(message);
  copy.writeUInt16BE(id, 0);
  return copy;
}

/**
 * The reply's fields when it is well-formed and answers our id and question; throws a bad-reply
 * error otherwise, so it is neither cached nor relayed.
 */
function checked(bytes: Buffer, id: number, query: Query): ReplyInfo {
  let info: ReplyInfo;
  try {
    info = inspectReply(bytes);
  } catch (err) {
    throw badReply(`malformed reply: ${(err as Error).message}`);
  }
  if (info.id !== id || info.questionType !== query.question.type || info.questionKey !== query.question.name.toLowerCase()) {
    throw badReply('reply does not match the question');
  }
  return info;
}

/**
 * An upstream reply as ours to send: the client's id, RA set (we recursed for it) and AA cleared
 * (we are not the authority for it). Changes `reply` in place.
 */
function relayed(reply: Buffer, id: number): Buffer {
  reply.writeUInt16BE(id, 0);
  reply.writeUInt16BE((reply.readUInt16BE(2) | 0x0080) & ~0x0400, 2);
  return reply;
}

/** The cached reply with the client's id and every TTL lowered by the time it spent in the cache. */
function aged(cached: CachedReply, id: number, now: number): Buffer {
  const reply = relayed(Buffer.from(cached.reply), id);
  const age = Math.floor((now - cached.storedAt) / 1000);
  if (age > 0) {
    for (const offset of cached.info.ttlOffsets) reply.writeUInt32BE(Math.max(0, reply.readUInt32BE(offset) - age), offset);
  }
  return reply;
}
