import type { RecordTable } from './record-types.ts';
import type { Query } from './wire.ts';

/** Shuffled orders kept per question: replies rotate through them, each drawn at random once. */
const VARIANTS = 4;
/** A bound on memory: the cache starts over past this many distinct questions. */
const MAX_ENTRIES = 100_000;

interface Entry {
  /** Whole encoded replies; only the id, RD/CD and the question's letter case differ per query. */
  readonly variants: Buffer[];
  readonly wanted: number;
  next: number;
  readonly rcode: number;
}

export interface EncodedReply {
  bytes: Buffer;
  rcode: number;
  /** Distinct orders of the answer worth keeping (1 when there is nothing to shuffle). */
  orders: number;
}

/**
 * Encoded replies for the current table generation, so that a repeated question costs a copy
 * and four header bytes instead of a lookup, a shuffle and an encode. Answers with several
 * records keep four independently shuffled orders and hand them out in turn, which spreads
 * load as well as shuffling every reply. A new table (any change) empties the cache.
 */
export class ReplyCache {
  #table: RecordTable | undefined;
  #entries = new Map<string, Entry>();

  /** The reply for `query` from the cache, or from `encode` (and then cached); undefined when `encode` has none. */
  reply(table: RecordTable, query: Query, limit: number, encode: () => EncodedReply | undefined): { bytes: Buffer; rcode: number } | undefined {
    if (table !== this.#table || this.#entries.size >= MAX_ENTRIES) {
      this.#table = table;
      this.#entries = new Map();
    }
    const edns = query.edns === undefined ? '-' : `${query.edns.version}${query.edns.dnssecOk ? 'd' : ''}`;
    const key = `${query.key}\0${query.question.type}\0${query.question.class ?? 1}\0${limit}\0${edns}\0${query.questionBytes.length}`;
    let entry = this.#entries.get(key);
    if (entry === undefined || entry.variants.length < entry.wanted) {
      const fresh = encode();
      if (fresh === undefined) return undefined;
      if (entry === undefined) {
        entry = { variants: [], wanted: Math.min(VARIANTS, Math.max(1, fresh.orders)), next: 0, rcode: fresh.rcode };
        this.#entries.set(key, entry);
      }
      entry.variants.push(Buffer.from(fresh.bytes));
      return fresh;
    }
    const template = entry.variants[entry.next] as Buffer;
    entry.next = (entry.next + 1) % entry.variants.length;
    return { bytes: personalize(template, query), rcode: entry.rcode };
  }
}

/** The cached reply with this query's id, RD and CD bits, and its question bytes (0x20 case). */
function personalize(template: Buffer, query: Query): Buffer {
  const out = Buffer.allocUnsafe(template.length);
  template.copy(out);
  out.writeUInt16BE(query.header.id, 0);
  out.writeUInt16BE((out.readUInt16BE(2) & ~0x0110) | (query.header.rd ? 0x0100 : 0) | (query.header.cd ? 0x0010 : 0), 2);
  query.questionBytes.copy(out, 12);
  return out;
}
