import { isInDomain, normalizeQueryName } from './query-name.ts';
import { isReverseName } from './reverse.ts';
import type { DnsRecord, RecordTable, RecordType, SoaRecord } from './record-types.ts';

/** Query types by their wire number; only the ones answered from the table are named. */
export const QTYPE = { A: 1, NS: 2, SOA: 6, PTR: 12, AAAA: 28, SRV: 33, IXFR: 251, AXFR: 252, ANY: 255 } as const;
export const QCLASS = { IN: 1, ANY: 255 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

const TYPE_BY_NUMBER: ReadonlyMap<number, RecordType> = new Map<number, RecordType>([
  [QTYPE.A, 'A'],
  [QTYPE.NS, 'NS'],
  [QTYPE.SOA, 'SOA'],
  [QTYPE.AAAA, 'AAAA'],
  [QTYPE.SRV, 'SRV'],
  [QTYPE.PTR, 'PTR'],
]);

export interface Question {
  /** As asked (any case, trailing dot optional). */
  name: string;
  type: number;
  /** Defaults to IN. */
  class?: number;
}

export interface Answer {
  rcode: number;
  /** Authoritative: set for every answer from the table (positive or negative). */
  aa: boolean;
  answers: readonly DnsRecord[];
  authority: readonly DnsRecord[];
  additional: readonly DnsRecord[];
  /** Not ours to answer (outside the domain, or a reverse name we hold nothing for): forward it or refuse it. */
  outside?: boolean;
}

/** A number in [0, 1); tests pass a seeded one. */
export type Rng = () => number;

/**
 * Answers one question from one table generation. Synchronous and total: every question gets an
 * Answer, never an exception. Records keep their table owner names: on the wire the owner of
 * every answer is the question as asked (after `.*` removal the two differ, and resolvers match
 * answers to their question). Names that are not ours come back `outside` (REFUSED here;
 * forwarding them is the server's business).
 */
export function answerQuery(table: RecordTable, question: Question, rng: Rng, name = normalizeQueryName(question.name)): Answer {
  const inDomain = isInDomain(name, table.domain);
  // Reverse names: we answer those we hold (instance IPs); the rest of the tree is someone else's.
  const entry = inDomain || isReverseName(name) ? table.names.get(name) : undefined;
  if (!inDomain && entry === undefined) return OUTSIDE;
  const qclass = question.class ?? QCLASS.IN;
  if (qclass !== QCLASS.IN && qclass !== QCLASS.ANY) return REFUSED;
  // Knowing nothing yet, claiming a name is absent would be cached by resolvers as a lie.
  if (!table.synced) return SERVFAIL;
  if (question.type === QTYPE.AXFR || question.type === QTYPE.IXFR) return REFUSED;

  if (entry === undefined) return negative(table.soa, RCODE.NXDOMAIN);
  const type = TYPE_BY_NUMBER.get(question.type);
  const found: readonly DnsRecord[] =
    question.type === QTYPE.ANY ? Object.values(entry).flat() : type === undefined ? [] : (entry[type] ?? []);
  if (found.length === 0) return inDomain ? negative(table.soa, RCODE.NOERROR) : NODATA_OUTSIDE_ZONE;

  const answers = found.length === 1 ? found : shuffle(found, rng);
  return { rcode: RCODE.NOERROR, aa: true, answers, authority: [], additional: glue(table, answers) };
}

/** A/AAAA of SRV targets and NS hosts, in answer order, each target once. */
function glue(table: RecordTable, answers: readonly DnsRecord[]): DnsRecord[] {
  const additional: DnsRecord[] = [];
  const seen = new Set<string>();
  for (const record of answers) {
    const target = record.type === 'SRV' ? record.target : record.type === 'NS' ? record.host : undefined;
    if (target === undefined) continue;
    // Targets are stored lower-case and fully qualified: only the final dot goes.
    const name = target.endsWith('.') ? target.slice(0, -1) : target;
    if (seen.has(name)) continue;
    seen.add(name);
    const entry = table.names.get(name);
    additional.push(...(entry?.A ?? []), ...(entry?.AAAA ?? []));
  }
  return additional;
}

function negative(soa: SoaRecord, rcode: number): Answer {
  // RFC 2308: the SOA in a negative answer is cached for min(its TTL, its minimum).
  const ttl = Math.min(soa.ttl, soa.minimum);
  return { rcode, aa: true, answers: [], authority: [ttl === soa.ttl ? soa : { ...soa, ttl }], additional: [] };
}

function refusal(rcode: number): Answer {
  return Object.freeze({ rcode, aa: false, answers: [], authority: [], additional: [] });
}

const REFUSED = refusal(RCODE.REFUSED);
const SERVFAIL = refusal(RCODE.SERVFAIL);
const OUTSIDE: Answer = Object.freeze({ ...refusal(RCODE.REFUSED), outside: true });
/** A reverse name we hold, asked for another type: no SOA, `in-addr.arpa` is not our zone. */
const NODATA_OUTSIDE_ZONE: Answer = Object.freeze({ rcode: RCODE.NOERROR, aa: true, answers: [], authority: [], additional: [] });

/** Fisher–Yates over a copy, driven by the injected rng. */
export function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(rng() * (i + 1)));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
