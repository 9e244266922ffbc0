import { Packet, type Header, type Resource } from 'dns2';
import { RCODE, type Answer, type Question } from './core/answer.ts';
import type { DnsRecord } from './core/record-types.ts';

/**
 * The DNS wire format, through dns2's Packet codec, with the checks dns2 leaves out: it
 * swallows section parse errors and would happily loop over 65535 claimed questions, so the
 * header is vetted by hand before dns2 sees the message.
 */

const HEADER_LENGTH = 12;
const OPCODE_QUERY = 0;
const TYPE_OPT = 41;
/** Queries carry one question and at most a few additional records (OPT, TSIG, COOKIE...). */
const MAX_QUERY_ADDITIONALS = 4;
/** RFC 6891 §6.1.3: BADVERS, a 12-bit rcode (high bits travel in the OPT TTL). */
const RCODE_BADVERS = 16;

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
}

export type DecodedMessage =
  /** A well-formed standard query. */
  | { kind: 'query'; header: QueryHeader; question: Question; edns: EdnsInfo | undefined }
  /** Readable header, unanswerable body: reply with this rcode and no question. */
  | { kind: 'error'; header: QueryHeader; rcode: number; reason: string }
  /** Not even a query header (or a response): say nothing, so we cannot be used to reflect. */
  | { kind: 'drop'; reason: string };

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

  let packet: Packet;
  try {
    packet = Packet.parse(buffer);
  } catch (err) {
    return { kind: 'error', header, rcode: RCODE.FORMERR, reason: (err as Error).message };
  }
  const question = packet.questions[0];
  // dns2 drops records it cannot parse instead of failing; a short count means a bad message.
  if (question === undefined || typeof question.name !== 'string' || packet.additionals.length !== arcount) {
    return { kind: 'error', header, rcode: RCODE.FORMERR, reason: 'unparseable section' };
  }
  const opts = packet.additionals.filter((record) => record.type === TYPE_OPT);
  if (opts.length > 1) return { kind: 'error', header, rcode: RCODE.FORMERR, reason: 'several OPT records' };
  const opt = opts[0];
  const edns = opt === undefined ? undefined : { udpSize: opt.class, version: (opt.ttl >>> 16) & 0xff };
  return { kind: 'query', header, question: { name: question.name, type: question.type, class: question.class }, edns };
}

/** A header-only reply (FORMERR, NOTIMP): nothing after the header is trusted. */
export function encodeError(header: QueryHeader, rcode: number): Buffer {
  const packet = new Packet();
  packet.header = responseHeader(header, { rcode, aa: false, tc: false });
  return packet.toBuffer();
}

/** The largest reply a UDP client can take: 512 without EDNS0, else its size capped at ours. */
export function udpLimit(edns: EdnsInfo | undefined): number {
  if (edns === undefined) return CLASSIC_UDP_LIMIT;
  return Math.max(CLASSIC_UDP_LIMIT, Math.min(edns.udpSize, EDNS_UDP_LIMIT));
}

/**
 * Encodes an answer within `limit` bytes. When it does not fit: additional records go first
 * (no TC: RFC 2181 §9, they are optional), then trailing answers and the authority, with TC set
 * so the client retries over TCP.
 */
export function encodeAnswer(
  query: { header: QueryHeader; question: Question; edns: EdnsInfo | undefined },
  answer: Answer,
  limit: number,
): Buffer {
  if (query.edns !== undefined && query.edns.version > 0) {
    return encode(query, { ...answer, rcode: RCODE_BADVERS, aa: false, answers: [], authority: [], additional: [] }, false);
  }
  const full = encode(query, answer, false);
  if (full.length <= limit) return full;
  const bare = { ...answer, additional: [] };
  const withoutAdditional = encode(query, bare, false);
  if (withoutAdditional.length <= limit) return withoutAdditional;

  // Keep the longest prefix of the (already shuffled) answers that fits; sizes are monotonic.
  let low = 0;
  let high = answer.answers.length - 1;
  let best = encode(query, { ...bare, answers: [], authority: [] }, true);
  while (low <= high) {
    const count = (low + high) >>> 1;
    const candidate = encode(query, { ...bare, answers: answer.answers.slice(0, count), authority: count === 0 ? answer.authority : [] }, true);
    if (candidate.length <= limit) {
      best = candidate;
      low = count + 1;
    } else {
      high = count - 1;
    }
  }
  return best;
}

function encode(query: { header: QueryHeader; question: Question; edns: EdnsInfo | undefined }, answer: Answer, tc: boolean): Buffer {
  const packet = new Packet();
  packet.header = responseHeader(query.header, { rcode: answer.rcode, aa: answer.aa, tc });
  packet.questions = [new Packet.Question(query.question.name, query.question.type, query.question.class)];
  packet.answers = answer.answers.map(toResource);
  packet.authorities = answer.authority.map(toResource);
  packet.additionals = answer.additional.map(toResource);
  if (query.edns !== undefined) packet.additionals.push(optRecord(answer.rcode));
  return packet.toBuffer();
}

function responseHeader(query: QueryHeader, flags: { rcode: number; aa: boolean; tc: boolean }): Header {
  return new Packet.Header({
    id: query.id,
    qr: 1,
    opcode: query.opcode,
    aa: flags.aa ? 1 : 0,
    tc: flags.tc ? 1 : 0,
    rd: query.rd ? 1 : 0,
    // No recursion offered until forwarding exists.
    ra: 0,
    rcode: flags.rcode & 0xf,
  });
}

/** Our OPT: our payload size, the high bits of an extended rcode, EDNS version 0, no options. */
function optRecord(rcode: number): Resource {
  const extended = (rcode >>> 4) & 0xff;
  return Object.assign(new Packet.Resource({ name: '', type: TYPE_OPT, class: EDNS_UDP_LIMIT, ttl: (extended << 24) >>> 0 }), {
    rdata: [],
  });
}

function toResource(record: DnsRecord): Resource {
  const base = { name: record.name, ttl: record.ttl, class: Packet.CLASS.IN };
  switch (record.type) {
    case 'A':
      return new Packet.Resource({ ...base, type: Packet.TYPE.A, address: record.address });
    case 'AAAA':
      return new Packet.Resource({ ...base, type: Packet.TYPE.AAAA, address: record.address });
    case 'SRV':
      return new Packet.Resource({ ...base, type: Packet.TYPE.SRV, priority: record.priority, weight: record.weight, port: record.port, target: record.target });
    case 'NS':
      return new Packet.Resource({ ...base, type: Packet.TYPE.NS, ns: record.host });
    case 'SOA':
      return new Packet.Resource({
        ...base,
        type: Packet.TYPE.SOA,
        primary: record.mname,
        admin: record.rname,
        serial: record.serial,
        refresh: record.refresh,
        retry: record.retry,
        expiration: record.expire,
        minimum: record.minimum,
      });
  }
}
