import { isInDomain, normalizeQueryName } from './query-name.ts';
import type { DnsRecord, RecordTable, RecordType, SoaRecord } from './record-types.ts';

/** Query types by their wire number; only the ones answered from the table are named. */
export const QTYPE = { A: 1, NS: 2, SOA: 6, AAAA: 28, SRV: 33, IXFR: 251, AXFR: 252, ANY: 255 } as const;
export const QCLASS = { IN: 1, ANY: 255 } as const;
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

const TYPE_BY_NUMBER: ReadonlyMap<number, RecordType> = new Map<number, RecordType>([
  [QTYPE.A, 'A'],
  [QTYPE.NS, 'NS'],
  [QTYPE.SOA, 'SOA'],
  [QTYPE.AAAA, 'AAAA'],
  [QTYPE.SRV, 'SRV'],
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
}

/** A number in [0, 1); tests pass a seeded one. */
export type Rng = () => number;

/**
 * Answers one question from one table generation. Synchronous and total: every question gets an
 * Answer, never an exception. Names outside the domain are REFUSED here; forwarding them is the
 * server's business.
 */
export function answerQuery(table: RecordTable, question: Question, rng: Rng): Answer {
  const name = normalizeQueryName(question.name);
  if (!isInDomain(name, table.domain)) return refusal(RCODE.REFUSED);
  const qclass = question.class ?? QCLASS.IN;
  if (qclass !== QCLASS.IN && qclass !== QCLASS.ANY) return refusal(RCODE.REFUSED);
  // Knowing nothing yet, claiming a name is absent would be cached by resolvers as a lie.
  if (!table.synced) return refusal(RCODE.SERVFAIL);
  if (question.type === QTYPE.AXFR || question.type === QTYPE.IXFR) return refusal(RCODE.REFUSED);

  const entry = table.names.get(name);
  if (entry === undefined) return negative(table.soa, RCODE.NXDOMAIN);
  const type = TYPE_BY_NUMBER.get(question.type);
  const found: readonly DnsRecord[] =
    question.type === QTYPE.ANY ? Object.values(entry).flat() : type === undefined ? [] : (entry[type] ?? []);
  if (found.length === 0) return negative(table.soa, RCODE.NOERROR);

  // Owner names echo the question as asked: after `.*` removal the table's name differs, and
  // resolvers match answers to their question.
  const owner = question.name.replace(/\.+$/, '');
  const answers = shuffle(found, rng).map((record) => ({ ...record, name: owner }));
  return { rcode: RCODE.NOERROR, aa: true, answers, authority: [], additional: glue(table, answers) };
}

/** A/AAAA of SRV targets and NS hosts, in answer order, each target once. */
function glue(table: RecordTable, answers: readonly DnsRecord[]): DnsRecord[] {
  const additional: DnsRecord[] = [];
  const seen = new Set<string>();
  for (const record of answers) {
    const target = record.type === 'SRV' ? record.target : record.type === 'NS' ? record.host : undefined;
    if (target === undefined) continue;
    const name = normalizeQueryName(target);
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
  return { rcode, aa: true, answers: [], authority: [{ ...soa, ttl }], additional: [] };
}

function refusal(rcode: number): Answer {
  return { rcode, aa: false, answers: [], authority: [], additional: [] };
}

/** Fisher–Yates over a copy, driven by the injected rng. */
export function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(rng() * (i + 1)));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
