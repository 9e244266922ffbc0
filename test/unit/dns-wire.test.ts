import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Packet } from 'dns2';
import { QTYPE, RCODE, answerQuery } from '../../src/dns/core/answer.ts';
import { buildRecords } from '../../src/dns/core/records.ts';
import { CLASSIC_UDP_LIMIT, EDNS_UDP_LIMIT, TCP_LIMIT, decodeMessage, encodeAnswer, inspectReply, udpLimit, type Query } from '../../src/dns/core/wire.ts';
import { DOMAIN, TTL, app, bigAppView, query, seededRng, task, viewOf } from '../support/dns-fixtures.ts';

/** `count` instances of /web on distinct IPs, one port each: SRV answers of ~47 bytes plus glue. */
const big = (count: number) => buildRecords(bigAppView('/web', count), { domain: DOMAIN, ttl: TTL, serial: 1 });

function decoded(message: Buffer): Query {
  const result = decodeMessage(message);
  assert.equal(result.kind, 'query', JSON.stringify(result));
  return result as Query;
}

function roundTrip(table: ReturnType<typeof big>, name: string, type: number, limit: number, edns?: { size: number; version?: number; dnssecOk?: boolean }) {
  const q = decoded(query(name, type, { id: 0x1234, ...(edns === undefined ? {} : { edns }) }));
  const reply = encodeAnswer(q, answerQuery(table, q.question, seededRng(1), q.key), { limit, ra: false });
  return { reply, packet: Packet.parse(reply) };
}

test('decodeMessage: what gets an answer, FORMERR, NOTIMP or nothing (table-driven)', () => {
  const header = (flags: number, counts: number[]): Buffer => {
    const bytes = Buffer.alloc(12);
    bytes.writeUInt16BE(0x0101, 0);
    bytes.writeUInt16BE(flags, 2);
    counts.forEach((n, i) => bytes.writeUInt16BE(n, 4 + 2 * i));
    return bytes;
  };
  const good = query('web.marathon.mesos', QTYPE.A);
  const cases: [about: string, message: Buffer, kind: string, rcode?: number][] = [
    ['a plain query', good, 'query'],
    ['with EDNS0', query('web.marathon.mesos', QTYPE.A, { edns: { size: 4096 } }), 'query'],
    ['empty', Buffer.alloc(0), 'drop'],
    ['a response', header(0x8000, [1, 0, 0, 0]), 'drop'],
    ['two questions', header(0x0100, [2, 0, 0, 0]), 'error', RCODE.FORMERR],
    ['answers in a query', header(0x0100, [1, 1, 0, 0]), 'error', RCODE.FORMERR],
    ['opcode STATUS', header(0x1000, [1, 0, 0, 0]), 'error', RCODE.NOTIMP],
    ['question cut short', good.subarray(0, good.length - 2), 'error', RCODE.FORMERR],
    ['label runs past the end', Buffer.concat([header(0x0100, [1, 0, 0, 0]), Buffer.from([40, 97, 98])]), 'error', RCODE.FORMERR],
    ['pointer in the question', Buffer.concat([header(0x0100, [1, 0, 0, 0]), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), 'error', RCODE.FORMERR],
    ['OPT cut short', query('web.marathon.mesos', QTYPE.A, { edns: { size: 4096 } }).subarray(0, good.length + 5), 'error', RCODE.FORMERR],
  ];
  for (const [about, message, kind, rcode] of cases) {
    const result = decodeMessage(message);
    assert.equal(result.kind, kind, about);
    if (rcode !== undefined) assert.equal(result.kind === 'error' && result.rcode, rcode, about);
  }
  const q = decoded(query('Web.*.Marathon.MESOS', QTYPE.SRV));
  assert.equal(q.question.name, 'Web.*.Marathon.MESOS');
  assert.equal(q.key, 'web.marathon.mesos');
  // Dots and unprintables inside a label are escaped: such a name can never match a table name.
  const dotted = Buffer.concat([header(0x0100, [1, 0, 0, 0]), Buffer.from([12, ...Buffer.from('web.marathon'), 5, ...Buffer.from('mesos'), 0, 0, 1, 0, 1])]);
  assert.equal(decoded(dotted).question.name, 'web\\046marathon.mesos');
});

test('encodeAnswer: the owner echoes the question as asked; header flags and counts', () => {
  const table = big(2);
  const { packet } = roundTrip(table, 'WEB.*.marathon.mesos', QTYPE.A, CLASSIC_UDP_LIMIT);
  assert.equal(packet.header.id, 0x1234);
  assert.equal(packet.header.qr, 1);
  assert.equal(packet.header.aa, 1);
  assert.equal(packet.header.tc, 0);
  assert.equal(packet.answers.length, 2);
  assert.deepEqual(new Set(packet.answers.map((r) => r.name)), new Set(['WEB.*.marathon.mesos']));
});

test('encodeAnswer: EDNS0 echoes an OPT with our size, the DO bit and BADVERS for version 1', () => {
  const table = big(2);
  const opt = (p: Packet) => p.additionals.find((r) => r.type === 41);
  const plain = roundTrip(table, 'web.marathon.mesos', QTYPE.A, udpLimit(undefined)).packet;
  assert.equal(opt(plain), undefined, 'no OPT without EDNS0');
  const withEdns = roundTrip(table, 'web.marathon.mesos', QTYPE.A, EDNS_UDP_LIMIT, { size: 4096, dnssecOk: true }).packet;
  assert.equal(opt(withEdns)?.class, EDNS_UDP_LIMIT);
  assert.equal((opt(withEdns)?.ttl ?? 0) & 0x8000, 0x8000, 'DO echoed');
  const badvers = roundTrip(table, 'web.marathon.mesos', QTYPE.A, EDNS_UDP_LIMIT, { size: 4096, version: 1 });
  assert.equal(badvers.packet.answers.length, 0);
  assert.equal(badvers.reply.readUInt16BE(2) & 0xf, 0, 'the low 4 bits of 16 in the header');
  assert.equal(badvers.packet.header.rcode, 16, 'dns2 joins the OPT high bits: BADVERS');
});

test('udpLimit: 512 without EDNS0, the client size within [512, 1232] with it (table-driven)', () => {
  const cases: [edns: Parameters<typeof udpLimit>[0], limit: number][] = [
    [undefined, 512],
    [{ udpSize: 100, version: 0, dnssecOk: false }, 512],
    [{ udpSize: 900, version: 0, dnssecOk: false }, 900],
    [{ udpSize: 4096, version: 0, dnssecOk: false }, 1232],
  ];
  for (const [edns, limit] of cases) assert.equal(udpLimit(edns), limit, JSON.stringify(edns));
});

test('truncation: additional records go first (no TC), then answers (TC), every reply within the limit (table-driven)', () => {
  const table = big(40);
  const cases: { about: string; count: number; limit: number; edns?: { size: number }; answers: 'all' | 'some'; glue: 'all' | 'some' | 'none'; tc: boolean }[] = [
    { about: '2 SRV in 512 bytes: everything fits', count: 2, limit: 512, answers: 'all', glue: 'all', tc: false },
    { about: '8 SRV in 512 bytes: answers fit, glue only partly', count: 8, limit: 512, answers: 'all', glue: 'some', tc: false },
    { about: '40 SRV in 512 bytes: answers cut, TC', count: 40, limit: 512, answers: 'some', glue: 'none', tc: true },
    { about: '40 SRV in 1232 bytes (EDNS0): answers cut, TC', count: 40, limit: 1232, edns: { size: 1232 }, answers: 'some', glue: 'none', tc: true },
    { about: '40 SRV over TCP: everything', count: 40, limit: TCP_LIMIT, answers: 'all', glue: 'all', tc: false },
  ];
  for (const c of cases) {
    const small = big(c.count);
    const { reply, packet } = roundTrip(c.count === 40 ? table : small, '_web._tcp.marathon.mesos', QTYPE.SRV, c.limit, c.edns);
    assert.ok(reply.length <= c.limit, `${c.about}: ${reply.length} bytes`);
    assert.equal(packet.header.tc, c.tc ? 1 : 0, c.about);
    const srv = packet.answers.length;
    const glue = packet.additionals.filter((r) => r.type === 1).length;
    assert.ok(c.answers === 'all' ? srv === c.count : srv > 0 && srv < c.count, `${c.about}: ${srv} answers`);
    assert.ok(c.glue === 'all' ? glue === srv : c.glue === 'none' ? glue === 0 : glue > 0 && glue < srv, `${c.about}: ${glue} glue`);
    // Glue that is sent belongs to answers that are sent.
    const targets = new Set(packet.answers.map((r) => (r as unknown as { target: string }).target));
    for (const a of packet.additionals.filter((r) => r.type === 1)) assert.ok(targets.has(a.name), a.name);
  }
});

test('a 1,000-instance app over TCP: every SRV answer, glue as far as 64 KiB allows', () => {
  const table = big(1000);
  const srv = roundTrip(table, '_web._tcp.marathon.mesos', QTYPE.SRV, TCP_LIMIT);
  assert.equal(srv.packet.header.tc, 0);
  assert.equal(srv.packet.answers.length, 1000);
  assert.ok(srv.reply.length <= TCP_LIMIT);
  const a = roundTrip(table, 'web.marathon.mesos', QTYPE.A, TCP_LIMIT);
  assert.equal(a.packet.answers.length, 1000);
  assert.equal(new Set(a.packet.answers.map((r) => r.address)).size, 1000);
});

test('negative answers carry the SOA, its owner compressed onto the question', () => {
  const table = buildRecords(viewOf([app('/web')], [task('web.1', '/web')]), { domain: DOMAIN, ttl: TTL, serial: 5 });
  const { packet } = roundTrip(table, 'nope.marathon.mesos', QTYPE.A, CLASSIC_UDP_LIMIT);
  assert.equal(packet.header.rcode, RCODE.NXDOMAIN);
  assert.equal(packet.authorities[0]?.name, 'mesos');
  assert.equal(packet.authorities[0]?.type, 6);
  assert.equal((packet.authorities[0] as unknown as { serial: number }).serial, 5);
});

test('inspectReply: TTLs, negative TTL and malformed replies', () => {
  const table = buildRecords(viewOf([app('/web')], [task('web.1', '/web')]), { domain: DOMAIN, ttl: 30, serial: 5 });
  const positive = roundTrip(table, 'web.marathon.mesos', QTYPE.A, CLASSIC_UDP_LIMIT, { size: 1232 }).reply;
  const info = inspectReply(positive);
  assert.equal(info.minAnswerTtl, 30);
  assert.equal(info.ttlOffsets.length, 1, 'the OPT TTL is not a TTL');
  assert.equal(info.questionKey, 'web.marathon.mesos');
  const negative = inspectReply(roundTrip(table, 'nope.marathon.mesos', QTYPE.A, CLASSIC_UDP_LIMIT).reply);
  assert.equal(negative.rcode, RCODE.NXDOMAIN);
  assert.equal(negative.negativeTtl, 30);
  assert.throws(() => inspectReply(positive.subarray(0, positive.length - 3)));
  assert.throws(() => inspectReply(query('web.marathon.mesos', QTYPE.A)), /not a reply/);
});

test('inspectReply: every name, record and answer is checked before a reply is trusted (table-driven)', () => {
  // Our own encoder's replies are well-formed upstream replies: SRV with glue, SOA, NS, PTR.
  const table = buildRecords(viewOf([app('/web', { portDefinitions: [{ port: 80, protocol: 'tcp' }] })], [task('web.1', '/web', { ports: [31000] })]), { domain: DOMAIN, ttl: 30, serial: 5 });
  for (const [name, type] of [['_web._tcp.marathon.mesos', QTYPE.SRV], ['mesos', QTYPE.SOA], ['mesos', QTYPE.NS], ['11.0.0.127.in-addr.arpa', QTYPE.PTR], ['nope.marathon.mesos', QTYPE.A]] as const) {
    assert.doesNotThrow(() => inspectReply(roundTrip(table, name, type, TCP_LIMIT, { size: 1232 }).reply), `${name} ${type}`);
  }

  const header = (rcode: number, an: number, ns: number, ar = 0): Buffer => {
    const bytes = Buffer.alloc(12);
    bytes.writeUInt16BE(0x0101, 0);
    bytes.writeUInt16BE(0x8180 | rcode, 2);
    [1, an, ns, ar].forEach((n, i) => bytes.writeUInt16BE(n, 4 + 2 * i));
    return bytes;
  };
  const name = (text: string): Buffer => Buffer.concat([...text.split('.').filter(Boolean).map((l) => Buffer.from([l.length, ...Buffer.from(l)])), Buffer.from([0])]);
  const question = (qname: string, type: number): Buffer => Buffer.concat([name(qname), Buffer.from([0, type, 0, 1])]);
  const rr = (owner: Buffer, type: number, rdata: Buffer): Buffer => Buffer.concat([owner, Buffer.from([0, type, 0, 1, 0, 0, 0, 60, rdata.length >> 8, rdata.length & 0xff]), rdata]);
  const QNAME = Buffer.from([0xc0, 12]);
  const q = question('www.example', QTYPE.A);
  const after = 12 + q.length;
  const ip = Buffer.from([127, 0, 0, 9]);
  const soa = (numbers: number): Buffer => Buffer.concat([name('ns1.example'), name('root.example'), Buffer.alloc(numbers)]);
  const cases: [about: string, reply: Buffer, error?: RegExp][] = [
    ['a plain answer', Buffer.concat([header(0, 1, 0), q, rr(QNAME, QTYPE.A, ip)])],
    ['a CNAME chain to the answer', Buffer.concat([header(0, 2, 0), q, rr(QNAME, 5, name('web.example')), rr(name('web.example'), QTYPE.A, ip)])],
    ['a DNAME above the name, its CNAME and the answer', Buffer.concat([header(0, 3, 0), q, rr(name('example'), 39, name('example.net')), rr(QNAME, 5, name('www.example.net')), rr(name('www.example.net'), QTYPE.A, ip)])],
    ['a well-formed SOA in a negative answer', Buffer.concat([header(3, 0, 1), q, rr(name('example'), QTYPE.SOA, soa(20))])],
    ['an OPT record in the additional section', Buffer.concat([header(0, 0, 0, 1), q, Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 4]), Buffer.from([0, 10, 0, 0])])],
    ['a pointer to itself', Buffer.concat([header(0, 1, 0), q, rr(Buffer.from([0xc0, after]), QTYPE.A, ip)]), /pointer loop/],
    ['a pointer forwards', Buffer.concat([header(0, 1, 0), q, rr(Buffer.from([0xc0, after + 2]), QTYPE.A, ip)]), /pointer loop/],
    ['two labels pointing at each other', Buffer.concat([header(0, 1, 0), q, rr(Buffer.from([1, 0x61, 0xc0, after]), QTYPE.A, ip)]), /pointer loop|longer than 255/],
    ['a pointer loop inside CNAME rdata', Buffer.concat([header(0, 1, 0), q, rr(QNAME, 5, Buffer.from([0xc0, after + 12]))]), /pointer loop/],
    ['an SOA with 18 bytes of numbers', Buffer.concat([header(3, 0, 1), q, rr(name('example'), QTYPE.SOA, soa(18))]), /SOA/],
    ['an SOA whose name runs past its rdata', Buffer.concat([header(3, 0, 1), q, rr(name('example'), QTYPE.SOA, Buffer.from([20, ...Buffer.alloc(21)]))]), /SOA|cut short/],
    ['an A record of 5 bytes', Buffer.concat([header(0, 1, 0), q, rr(QNAME, QTYPE.A, Buffer.from([127, 0, 0, 9, 9]))]), /rdata of 5 bytes/],
    ['an SRV with bytes after its target', Buffer.concat([header(0, 1, 0), question('_x._tcp.example', QTYPE.SRV), rr(QNAME, QTYPE.SRV, Buffer.concat([Buffer.alloc(6), name('t.example'), Buffer.from([7])]))]), /does not end with its name/],
    ['TXT strings that do not add up', Buffer.concat([header(0, 1, 0), question('www.example', 16), rr(QNAME, 16, Buffer.from([5, 0x61]))]), /does not add up/],
    ['an answer for another name', Buffer.concat([header(0, 1, 0), q, rr(name('other.example'), QTYPE.A, ip)]), /does not belong/],
    ['an answer of another type', Buffer.concat([header(0, 1, 0), q, rr(QNAME, QTYPE.AAAA, Buffer.alloc(16))]), /does not belong/],
    ['an OPT record among the answers', Buffer.concat([header(0, 1, 0), q, Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0])]), /OPT outside/],
    ['a record cut short', Buffer.concat([header(0, 1, 0), q, rr(QNAME, QTYPE.A, ip)]).subarray(0, after + 8), /cut short/],
  ];
  for (const [about, reply, error] of cases) {
    if (error === undefined) assert.doesNotThrow(() => inspectReply(reply), about);
    else assert.throws(() => inspectReply(reply), error, about);
  }
});
