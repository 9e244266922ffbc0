import { RCODE, type Answer, type Question } from './answer.ts';
import { normalizeQueryName } from './query-name.ts';
import type { DnsRecord } from './record-types.ts';

/**
 * The DNS wire format (RFC 1035 §4), hand-written because the hot path is here: a query is
 * parsed without allocating more than its name, and an answer is written straight into one
 * buffer from per-record encodings cached for the life of the (immutable) record. Owner names
 * of answers are compression pointers to the question, so they echo the name as asked.
 */

const HEADER_LENGTH = 12;
const OPCODE_QUERY = 0;
const TYPE_OPT = 41;
const CLASS_IN = 1;
/** Queries carry one question and at most a few additional records (OPT, TSIG, COOKIE...). */
const MAX_QUERY_ADDITIONALS = 4;
/** RFC 6891 §6.1.3: BADVERS, a 12-bit rcode (high bits travel in the OPT TTL). */
const RCODE_BADVERS = 16;
const MAX_NAME_LENGTH = 255;
const MAX_LABEL_LENGTH = 63;
/** Compression pointers hold 14-bit offsets. */
const MAX_POINTER_OFFSET = 0x3fff;
const OPT_LENGTH = 11;
const EDNS_DO = 0x8000;

/** Without EDNS0 (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_LIMIT = 512;
/**
 * The payload size we advertise and accept at most over UDP: 1232 bytes avoids IP fragmentation
 * on any path (DNS Flag Day 2020). A client asking for more still gets at most this; TC sends it
 * to TCP.
 */
export const EDNS_UDP_LIMIT = 1232;
export const TCP_LIMIT = 65535;

/** What the response must copy from the query header. */
export interface QueryHeader {
  id: number;
  opcode: number;
  rd: boolean;
  cd: boolean;
}

export interface EdnsInfo {
  udpSize: number;
  version: number;
  /** DNSSEC OK, echoed (RFC 3225). */
  dnssecOk: boolean;
}

export interface Query {
  header: QueryHeader;
  /** The name as asked (case kept; bytes outside printable ASCII, `.` and `\` escaped as `\DDD`). */
  question: Question;
  edns: EdnsInfo | undefined;
  /** The question section's bytes, echoed in the reply. */
  questionBytes: Buffer;
  /** Lower-case name, `.*` labels removed, no trailing dot: the table key. */
  key: string;
  /** Offsets (in the query) of each label of the question name, for pointers to its suffixes. */
  labelOffsets: readonly number[];
}

export type DecodedMessage =
  /** A well-formed standard query. */
  | ({ kind: 'query' } & Query)
  /** Readable header, unanswerable body: reply with this rcode and no question. */
  | { kind: 'error'; header: QueryHeader; rcode: number; reason: string }
  /** Not even a query header (or a response): say nothing, so we cannot be used to reflect. */
  | { kind: 'drop'; reason: string };

class MalformedError extends Error {}

export function decodeMessage(buffer: Buffer): DecodedMessage {
  if (buffer.length < HEADER_LENGTH) return { kind: 'drop', reason: 'shorter than a header' };
  const flags = buffer.readUInt16BE(2);
  if ((flags & 0x8000) !== 0) return { kind: 'drop', reason: 'a response, not a query' };
  const header: QueryHeader = {
    id: buffer.readUInt16BE(0),
    opcode: (flags >>> 11) & 0xf,
    rd: (flags & 0x0100) !== 0,
    cd: (flags & 0x0010) !== 0,
  };
  if (header.opcode !== OPCODE_QUERY) return { kind: 'error', header, rcode: RCODE.NOTIMP, reason: `opcode ${header.opcode}` };
  const qdcount = buffer.readUInt16BE(4);
  const ancount = buffer.readUInt16BE(6);
  const nscount = buffer.readUInt16BE(8);
  const arcount = buffer.readUInt16BE(10);
  if (qdcount !== 1) return { kind: 'error', header, rcode: RCODE.FORMERR, reason: `${qdcount} questions` };
  if (ancount + nscount > 0 || arcount > MAX_QUERY_ADDITIONALS) {
    return { kind: 'error', header, rcode: RCODE.FORMERR, reason: 'records in a query' };
  }
  try {
    const { name, end, labelOffsets } = readQuestionName(buffer, HEADER_LENGTH);
    if (end + 4 > buffer.length) throw new MalformedError('question cut short');
    const question: Question = { name, type: buffer.readUInt16BE(end), class: buffer.readUInt16BE(end + 2) };
    const questionEnd = end + 4;
    let edns: EdnsInfo | undefined;
    let offset = questionEnd;
    for (let i = 0; i < arcount; i++) {
      offset = skipName(buffer, offset);
      if (offset + 10 > buffer.length) throw new MalformedError('additional record cut short');
      const type = buffer.readUInt16BE(offset);
      const rdlength = buffer.readUInt16BE(offset + 8);
      if (type === TYPE_OPT) {
        if (edns !== undefined) throw new MalformedError('several OPT records');
        const ttl = buffer.readUInt32BE(offset + 4);
        edns = { udpSize: buffer.readUInt16BE(offset + 2), version: (ttl >>> 16) & 0xff, dnssecOk: (ttl & EDNS_DO) !== 0 };
      }
      offset += 10 + rdlength;
      if (offset > buffer.length) throw new MalformedError('additional record cut short');
    }
    return {
      kind: 'query',
      header,
      question,
      edns,
      questionBytes: buffer.subarray(HEADER_LENGTH, questionEnd),
      // Wire names never end in a dot: only the `.*` labels and the case need normalizing.
      key: (name.includes('*') ? name.replaceAll('.*', '') : name).toLowerCase(),
      labelOffsets,
    };
  } catch (err) {
    if (!(err instanceof MalformedError || err instanceof RangeError)) throw err;
    return { kind: 'error', header, rcode: RCODE.FORMERR, reason: err.message };
  }
}

/** The question name: labels only (a pointer has nothing to point back to at offset 12). */
function readQuestionName(buffer: Buffer, start: number): { name: string; end: number; labelOffsets: number[] } {
  let offset = start;
  let name = '';
  const labelOffsets: number[] = [];
  for (;;) {
    if (offset >= buffer.length) throw new MalformedError('name cut short');
    const length = buffer[offset] as number;
    if (length === 0) break;
    if (length > MAX_LABEL_LENGTH) throw new MalformedError('compressed or oversized label in the question');
    if (offset + 1 + length > buffer.length) throw new MalformedError('label cut short');
    labelOffsets.push(offset);
    if (name !== '') name += '.';
    name += labelText(buffer, offset + 1, offset + 1 + length);
    offset += 1 + length;
    if (offset - start > MAX_NAME_LENGTH) throw new MalformedError('name longer than 255 bytes');
  }
  return { name: name === '' ? '.' : name, end: offset + 1, labelOffsets };
}

/** One label as text; `.`, `\` and unprintable bytes escaped as `\DDD` so they can never match a table name. */
function labelText(buffer: Buffer, start: number, end: number): string {
  let clean = true;
  for (let i = start; i < end; i++) {
    const byte = buffer[i] as number;
    if (byte <= 0x20 || byte >= 0x7f || byte === 0x2e || byte === 0x5c) {
      clean = false;
      break;
    }
  }
  if (clean) return buffer.toString('latin1', start, end);
  let text = '';
  for (let i = start; i < end; i++) {
    const byte = buffer[i] as number;
    text += byte > 0x20 && byte < 0x7f && byte !== 0x2e && byte !== 0x5c ? String.fromCharCode(byte) : `\\${String(byte).padStart(3, '0')}`;
  }
  return text;
}

/** Steps over a (possibly compressed) name; returns the offset after it. */
function skipName(buffer: Buffer, start: number): number {
  let offset = start;
  for (let steps = 0; steps < 128; steps++) {
    if (offset >= buffer.length) throw new MalformedError('name cut short');
    const length = buffer[offset] as number;
    if (length === 0) return offset + 1;
    if ((length & 0xc0) === 0xc0) {
      if (offset + 2 > buffer.length) throw new MalformedError('pointer cut short');
      return offset + 2;
    }
    if (length > MAX_LABEL_LENGTH) throw new MalformedError('bad label length');
    offset += 1 + length;
  }
  throw new MalformedError('name with too many labels');
}

/** A header-only reply (FORMERR, NOTIMP): nothing after the header is trusted. */
export function encodeError(header: QueryHeader, rcode: number): Buffer {
  const out = Buffer.alloc(HEADER_LENGTH);
  out.writeUInt16BE(header.id, 0);
  out.writeUInt16BE(flagsOf(header, { rcode, aa: false, tc: false, ra: false }), 2);
  return out;
}

/** The largest reply a UDP client can take: 512 without EDNS0, else its size capped at ours. */
export function udpLimit(edns: EdnsInfo | undefined): number {
  if (edns === undefined) return CLASSIC_UDP_LIMIT;
  return Math.max(CLASSIC_UDP_LIMIT, Math.min(edns.udpSize, EDNS_UDP_LIMIT));
}

export interface EncodeOptions {
  /** Bytes the reply may take: udpLimit() over UDP, TCP_LIMIT over TCP. */
  limit: number;
  /** Recursion available: forwarding is on. */
  ra: boolean;
}

/** Reused for every reply: the event loop runs one encode at a time. */
const scratch = Buffer.allocUnsafe(TCP_LIMIT);

/**
 * Encodes an answer within `limit` bytes. When it does not fit: additional records go first
 * (no TC: RFC 2181 §9, they are optional), then trailing answers and the authority, with TC set
 * so the client retries over TCP.
 */
export function encodeAnswer(query: Query, answer: Answer, options: EncodeOptions): Buffer {
  const edns = query.edns;
  if (edns !== undefined && edns.version > 0) {
    return encodeAnswer({ ...query, edns: { ...edns, version: 0 } }, { rcode: RCODE_BADVERS, aa: false, answers: [], authority: [], additional: [] }, options);
  }
  const limit = Math.min(options.limit, TCP_LIMIT) - (edns === undefined ? 0 : OPT_LENGTH);
  const out = scratch;
  let offset = HEADER_LENGTH;
  offset += query.questionBytes.copy(out, offset);
  if (offset > limit) return encodeError(query.header, RCODE.SERVFAIL);

  let tc = false;
  let answers = 0;
  const targets = new Map<string, number>();
  for (const record of answer.answers) {
    const rr = wireOf(record);
    if (offset + 2 + rr.length > limit) {
      tc = true;
      break;
    }
    offset = writePointer(out, offset, HEADER_LENGTH);
    const start = offset;
    offset += rr.copy(out, offset);
    answers += 1;
    if (record.type === 'SRV' && start + 16 <= MAX_POINTER_OFFSET) targets.set(normalizeQueryName(record.target), start + 16);
  }

  let authority = 0;
  if (!tc) {
    for (const record of answer.authority) {
      const owner = ownerBytes(record.name, query, targets);
      const rr = wireOf(record);
      if (offset + owner.length + rr.length > limit) {
        tc = true;
        break;
      }
      offset += owner.copy(out, offset);
      offset += rr.copy(out, offset);
      authority += 1;
    }
  }

  let additional = 0;
  if (!tc) {
    for (const record of answer.additional) {
      const owner = ownerBytes(record.name, query, targets);
      const rr = wireOf(record);
      // Glue is optional: what does not fit is left out without TC (RFC 2181 §9).
      if (offset + owner.length + rr.length > limit) break;
      offset += owner.copy(out, offset);
      offset += rr.copy(out, offset);
      additional += 1;
    }
  }

  if (edns !== undefined) {
    offset = writeOpt(out, offset, answer.rcode, edns.dnssecOk);
    additional += 1;
  }
  out.writeUInt16BE(query.header.id, 0);
  out.writeUInt16BE(flagsOf(query.header, { rcode: answer.rcode, aa: answer.aa, tc, ra: options.ra }), 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(answers, 6);
  out.writeUInt16BE(authority, 8);
  out.writeUInt16BE(additional, 10);
  return Buffer.from(out.subarray(0, offset));
}

function flagsOf(query: QueryHeader, flags: { rcode: number; aa: boolean; tc: boolean; ra: boolean }): number {
  return (
    0x8000 |
    ((query.opcode & 0xf) << 11) |
    (flags.aa ? 0x0400 : 0) |
    (flags.tc ? 0x0200 : 0) |
    (query.rd ? 0x0100 : 0) |
    (flags.ra ? 0x0080 : 0) |
    (query.cd ? 0x0010 : 0) |
    (flags.rcode & 0xf)
  );
}

function writePointer(out: Buffer, offset: number, target: number): number {
  out.writeUInt16BE(0xc000 | target, offset);
  return offset + 2;
}

/** Our OPT: our payload size, the high bits of an extended rcode, EDNS version 0, no options. */
function writeOpt(out: Buffer, offset: number, rcode: number, dnssecOk: boolean): number {
  out[offset] = 0;
  out.writeUInt16BE(TYPE_OPT, offset + 1);
  out.writeUInt16BE(EDNS_UDP_LIMIT, offset + 3);
  out.writeUInt32BE((((rcode >>> 4) & 0xff) << 24 | (dnssecOk ? EDNS_DO : 0)) >>> 0, offset + 5);
  out.writeUInt16BE(0, offset + 9);
  return offset + OPT_LENGTH;
}

/**
 * An owner name outside the answer section: a pointer to an SRV target written earlier, or to
 * the question's suffix when the name is one (the SOA at the apex), else the name in full.
 */
function ownerBytes(name: string, query: Query, targets: ReadonlyMap<string, number>): Buffer {
  const target = targets.get(name);
  if (target !== undefined) return pointerBytes(target);
  const suffix = questionSuffixOffset(name, query);
  return suffix === undefined ? encodeName(name) : pointerBytes(suffix);
}

function questionSuffixOffset(name: string, query: Query): number | undefined {
  const key = query.key;
  // Only when the question (as normalized) equals its wire form: `.*` removal shifts labels.
  if (key.length + (query.question.name.endsWith('.') ? 1 : 0) !== query.question.name.length) return undefined;
  if (key === name) return query.labelOffsets[0];
  if (!key.endsWith(`.${name}`)) return undefined;
  const skipped = key.slice(0, key.length - name.length - 1).split('.').length;
  return query.labelOffsets[skipped];
}

const POINTERS: Buffer[] = [];
function pointerBytes(offset: number): Buffer {
  let bytes = POINTERS[offset];
  if (bytes === undefined) {
    bytes = Buffer.from([0xc0 | (offset >>> 8), offset & 0xff]);
    POINTERS[offset] = bytes;
  }
  return bytes;
}

/** `a.b.c` or `a.b.c.` as wire labels ending in the root; '' and '.' are the root. */
export function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((label) => label !== '');
  const out = Buffer.alloc(labels.reduce((sum, label) => sum + 1 + Buffer.byteLength(label), 1));
  let offset = 0;
  for (const label of labels) {
    const length = out.write(label, offset + 1, 'latin1');
    out[offset] = length;
    offset += 1 + length;
  }
  return out;
}

/** TYPE, CLASS, TTL, RDLENGTH and RDATA of a record (everything after its owner), computed once per record. */
const encoded = new WeakMap<DnsRecord, Buffer>();

export function wireOf(record: DnsRecord): Buffer {
  let bytes = encoded.get(record);
  if (bytes === undefined) {
    bytes = encodeRecord(record);
    encoded.set(record, bytes);
  }
  return bytes;
}

const TYPE_NUMBER = { A: 1, NS: 2, SOA: 6, PTR: 12, AAAA: 28, SRV: 33 } as const;

function encodeRecord(record: DnsRecord): Buffer {
  const rdata = rdataOf(record);
  const out = Buffer.alloc(10 + rdata.length);
  out.writeUInt16BE(TYPE_NUMBER[record.type], 0);
  out.writeUInt16BE(CLASS_IN, 2);
  out.writeUInt32BE(record.ttl >>> 0, 4);
  out.writeUInt16BE(rdata.length, 8);
  rdata.copy(out, 10);
  return out;
}

function rdataOf(record: DnsRecord): Buffer {
  switch (record.type) {
    case 'A':
      return Buffer.from(record.address.split('.').map(Number));
    case 'AAAA':
      return ipv6Bytes(record.address);
    case 'SRV': {
      // RFC 2782: the target is never compressed.
      const fixed = Buffer.alloc(6);
      fixed.writeUInt16BE(record.priority, 0);
      fixed.writeUInt16BE(record.weight, 2);
      fixed.writeUInt16BE(record.port, 4);
      return Buffer.concat([fixed, encodeName(record.target)]);
    }
    case 'NS':
    case 'PTR':
      return encodeName(record.host);
    case 'SOA': {
      const numbers = Buffer.alloc(20);
      [record.serial, record.refresh, record.retry, record.expire, record.minimum].forEach((n, i) => numbers.writeUInt32BE(n >>> 0, 4 * i));
      return Buffer.concat([encodeName(record.mname), encodeName(record.rname), numbers]);
    }
  }
}

function ipv6Bytes(address: string): Buffer {
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = address.includes('::') ? groups(tail) : [];
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  all.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), 2 * i));
  return out;
}

/** Fields of a reply from an upstream resolver that forwarding needs. */
export interface ReplyInfo {
  id: number;
  rcode: number;
  tc: boolean;
  /** The question as it came back, lower-case (must match ours). */
  questionKey: string;
  questionType: number;
  /** Byte offsets of every record's TTL (answer, authority, additional except OPT). */
  ttlOffsets: number[];
  /** Smallest TTL among answers; undefined when there are none. */
  minAnswerTtl: number | undefined;
  /** min(SOA TTL, SOA minimum) from the authority section: the negative-caching TTL (RFC 2308). */
  negativeTtl: number | undefined;
}

/** Record types whose rdata is checked field by field before an upstream reply is trusted. */
const RDATA = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, DNAME: 39, OPT: TYPE_OPT, RRSIG: 46, ANY: 255 } as const;
/** A name has at most 127 labels, so no legitimate name needs more pointers than that. */
const MAX_POINTERS = 127;

/**
 * Reads a (possibly compressed) name, following pointers: each must point before itself and the
 * whole name stay within 255 bytes and 127 pointers, so a pointer loop ends as an error.
 * `end` is the offset after the name where it starts (after its first pointer).
 */
function readName(buffer: Buffer, start: number): { name: string; end: number } {
  let offset = start;
  let end: number | undefined;
  let name = '';
  let length = 0;
  for (let pointers = 0; ; ) {
    if (offset >= buffer.length) throw new MalformedError('name cut short');
    const byte = buffer[offset] as number;
    if (byte === 0) return { name: name === '' ? '.' : name, end: end ?? offset + 1 };
    if ((byte & 0xc0) === 0xc0) {
      if (offset + 2 > buffer.length) throw new MalformedError('pointer cut short');
      const target = buffer.readUInt16BE(offset) & MAX_POINTER_OFFSET;
      if (target >= offset || ++pointers > MAX_POINTERS) throw new MalformedError('compression pointer loop');
      end ??= offset + 2;
      offset = target;
      continue;
    }
    if (byte > MAX_LABEL_LENGTH) throw new MalformedError('bad label length');
    if (offset + 1 + byte > buffer.length) throw new MalformedError('label cut short');
    length += 1 + byte;
    if (length + 1 > MAX_NAME_LENGTH) throw new MalformedError('name longer than 255 bytes');
    name += (name === '' ? '' : '.') + labelText(buffer, offset + 1, offset + 1 + byte);
    offset += 1 + byte;
  }
}

/** Checks one record's rdata (`start`..`end`) for its type; returns the name it points to (CNAME, DNAME). */
function checkRdata(buffer: Buffer, type: number, start: number, end: number): string | undefined {
  const nameFilling = (at: number): string => {
    const { name, end: after } = readName(buffer, at);
    if (after !== end) throw new MalformedError(`type ${type} rdata does not end with its name`);
    return name;
  };
  switch (type) {
    case RDATA.A:
    case RDATA.AAAA:
      if (end - start !== (type === RDATA.A ? 4 : 16)) throw new MalformedError(`type ${type} rdata of ${end - start} bytes`);
      return undefined;
    case RDATA.NS:
    case RDATA.PTR:
      nameFilling(start);
      return undefined;
    case RDATA.CNAME:
    case RDATA.DNAME:
      return nameFilling(start);
    case RDATA.MX:
    case RDATA.SRV: {
      const fixed = type === RDATA.MX ? 2 : 6;
      if (start + fixed > end) throw new MalformedError(`type ${type} rdata cut short`);
      nameFilling(start + fixed);
      return undefined;
    }
    case RDATA.SOA: {
      const mname = readName(buffer, start);
      if (mname.end > end) throw new MalformedError('SOA mname past its rdata');
      const rname = readName(buffer, mname.end);
      if (rname.end + 20 !== end) throw new MalformedError('SOA rdata is not two names and five numbers');
      return undefined;
    }
    case RDATA.TXT:
    case RDATA.OPT: {
      // Character strings (TXT) or option code, length, value (OPT) filling the rdata exactly.
      if (type === RDATA.TXT && start === end) throw new MalformedError('empty TXT rdata');
      let at = start;
      while (at < end) at += type === RDATA.TXT ? 1 + (buffer[at] as number) : at + 4 <= end ? 4 + buffer.readUInt16BE(at + 2) : end + 1;
      if (at !== end) throw new MalformedError(`type ${type} rdata does not add up`);
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Reads a reply fully before it is cached or relayed: every name (pointers followed), every
 * record's bounds and the rdata of the common types; every answer must belong to the question
 * (its name or a CNAME/DNAME chain from it, its type or CNAME/DNAME/RRSIG). Throws on anything else.
 */
export function inspectReply(buffer: Buffer): ReplyInfo {
  if (buffer.length < HEADER_LENGTH) throw new MalformedError('reply shorter than a header');
  const flags = buffer.readUInt16BE(2);
  if ((flags & 0x8000) === 0) throw new MalformedError('not a reply');
  if (buffer.readUInt16BE(4) !== 1) throw new MalformedError('reply without exactly one question');
  const { name, end } = readQuestionName(buffer, HEADER_LENGTH);
  if (end + 4 > buffer.length) throw new MalformedError('question cut short');
  const questionType = buffer.readUInt16BE(end);
  const counts = [buffer.readUInt16BE(6), buffer.readUInt16BE(8), buffer.readUInt16BE(10)] as const;
  const ttlOffsets: number[] = [];
  const answers: { owner: string; type: number; target: string | undefined }[] = [];
  let minAnswerTtl: number | undefined;
  let negativeTtl: number | undefined;
  let offset = end + 4;
  counts.forEach((count, section) => {
    for (let i = 0; i < count; i++) {
      const owner = readName(buffer, offset);
      offset = owner.end;
      if (offset + 10 > buffer.length) throw new MalformedError('record cut short');
      const type = buffer.readUInt16BE(offset);
      const ttl = buffer.readUInt32BE(offset + 4);
      const rdlength = buffer.readUInt16BE(offset + 8);
      const rdataEnd = offset + 10 + rdlength;
      if (rdataEnd > buffer.length) throw new MalformedError('rdata cut short');
      if (type === TYPE_OPT && section !== 2) throw new MalformedError('OPT outside the additional section');
      const target = checkRdata(buffer, type, offset + 10, rdataEnd);
      if (type !== TYPE_OPT) {
        ttlOffsets.push(offset + 4);
        if (section === 0) {
          minAnswerTtl = Math.min(minAnswerTtl ?? ttl, ttl);
          answers.push({ owner: owner.name.toLowerCase(), type, target: target?.toLowerCase() });
        }
        if (section === 1 && type === RDATA.SOA) negativeTtl = Math.min(ttl, buffer.readUInt32BE(rdataEnd - 4));
      }
      offset = rdataEnd;
    }
  });
  const questionKey = name.toLowerCase();
  checkAnswersBelong(questionKey, questionType, answers);
  return {
    id: buffer.readUInt16BE(0),
    rcode: flags & 0xf,
    tc: (flags & 0x0200) !== 0,
    questionKey,
    questionType,
    ttlOffsets,
    minAnswerTtl,
    negativeTtl,
  };
}

/** Answers about names the question did not lead to would be cached under the question: refused. */
function checkAnswersBelong(qname: string, qtype: number, answers: readonly { owner: string; type: number; target: string | undefined }[]): void {
  const chain = new Set([qname]);
  const under = (name: string, owner: string): boolean => name === owner || name.endsWith(`.${owner}`);
  for (let grew = true; grew; ) {
    grew = false;
    for (const { owner, type, target } of answers) {
      if (type !== RDATA.CNAME || target === undefined || !chain.has(owner) || chain.has(target)) continue;
      chain.add(target);
      grew = true;
    }
  }
  for (const { owner, type } of answers) {
    const belongs = type === RDATA.DNAME ? [...chain].some((name) => under(name, owner) && name !== owner) || chain.has(owner) : chain.has(owner);
    const typed = qtype === RDATA.ANY || type === qtype || type === RDATA.CNAME || type === RDATA.DNAME || type === RDATA.RRSIG;
    if (!belongs || !typed) throw new MalformedError(`answer ${owner} type ${type} does not belong to the question`);
  }
}
