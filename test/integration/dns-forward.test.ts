import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { pino } from 'pino';
import { buildRecords } from '../../src/dns/core/records.ts';
import { Forwarder } from '../../src/dns/forwarder.ts';
import { DnsServer } from '../../src/dns/server.ts';
import type { HostPort } from '../../src/shared/address.ts';
import type { Logger } from '../../src/shared/log.ts';
import { app, bigAppView, dig, digFlags, digStatus, lines, silentLogger, task, viewOf } from '../support/dns-fixtures.ts';
import { freePort } from '../support/parts.ts';

/**
 * Forwarding against real DNS servers on loopback: two upstream Corral DNS servers authoritative
 * for `example` (never the machine's resolver), and the forwarding servers under test in front.
 */

const UPSTREAM_TTL = 60;
const upstreamTable = (address: string) => {
  const www = app('/www');
  const view = viewOf([www], [task('www.1', www.id, { host: address })]);
  const big = bigAppView('/big', 60);
  return buildRecords({ ...view, apps: new Map([...view.apps, ...big.apps]), tasks: new Map([...view.tasks, ...big.tasks]) }, { domain: 'example', ttl: UPSTREAM_TTL, serial: 1 });
};

let first: DnsServer;
let second: DnsServer;
let dead: HostPort;
const servers: DnsServer[] = [];
let clock = 1_700_000_000_000;

/** Queries an upstream saw, by transport. */
function seen(server: DnsServer): { udp: number; tcp: number } {
  const out = { udp: 0, tcp: 0 };
  for (const entry of server.counters.entries()) out[entry.transport as 'udp' | 'tcp'] += entry.count;
  return out;
}

async function forwardingServer(resolvers: HostPort[], options: { logger?: Logger; timeoutMs?: number } = {}): Promise<{ server: DnsServer; forwarder: Forwarder }> {
  const forwarder = new Forwarder({ resolvers, logger: options.logger ?? silentLogger(), timeoutMs: options.timeoutMs ?? 800, now: () => clock });
  const mine = buildRecords(viewOf([], []), { domain: 'mesos', ttl: 60, serial: 1 });
  const server = await DnsServer.listen({ host: '127.0.0.1', port: 0, tables: { current: mine }, logger: silentLogger(), forwarder });
  servers.push(server);
  return { server, forwarder };
}

before(async () => {
  first = await DnsServer.listen({ host: '127.0.0.1', port: 0, tables: { current: upstreamTable('127.0.0.61') }, logger: silentLogger() });
  second = await DnsServer.listen({ host: '127.0.0.1', port: 0, tables: { current: upstreamTable('127.0.0.62') }, logger: silentLogger() });
  servers.push(first, second);
  // Nothing listens here: UDP queries time out, TCP connections are refused.
  dead = { host: '127.0.0.1', port: await freePort() };
});

after(async () => {
  for (const server of servers) await server.close();
});

test('UDP is forwarded over UDP, TCP over TCP, to the first resolver that answers', async () => {
  const { server } = await forwardingServer([dead, first.address, second.address]);
  const before = { first: seen(first), second: seen(second) };

  const udp = await dig(server.address.port, ['www.marathon.example']);
  assert.equal(digStatus(udp), 'NOERROR');
  assert.ok(digFlags(udp).includes('ra'), 'recursion available when forwarding');
  assert.ok(!digFlags(udp).includes('aa'), 'the upstream is authoritative, we are not');
  assert.match(udp, /www\.marathon\.example\.\s+60\s+IN\s+A\s+127\.0\.0\.61/);
  assert.deepEqual(seen(first), { udp: before.first.udp + 1, tcp: before.first.tcp });

  assert.deepEqual(lines(await dig(server.address.port, ['+tcp', '+short', 'AAAA', 'www.marathon.example'])), []);
  assert.deepEqual(seen(first), { udp: before.first.udp + 1, tcp: before.first.tcp + 1 });
  assert.deepEqual(seen(second), before.second, 'the second resolver is never asked while the first answers');
});

test('positive answers are cached for their TTL and served with aged TTLs', async () => {
  const { server, forwarder } = await forwardingServer([first.address]);
  const asked = (): number => seen(first).udp;
  const start = asked();
  await dig(server.address.port, ['_www._tcp.marathon.example', 'SRV']);
  await dig(server.address.port, ['A', 'slave.example']);
  assert.equal(asked(), start + 2);

  clock += 25_000;
  const cached = await dig(server.address.port, ['+noall', '+answer', 'A', 'slave.example']);
  assert.equal(asked(), start + 2, 'answered from the cache');
  assert.match(cached, /slave\.example\.\s+35\s+IN\s+A\s+127\.0\.0\.61/, 'TTL aged by 25 s');
  assert.equal(forwarder.stats.cacheHits, 1);

  clock += 40_000;
  await dig(server.address.port, ['A', 'slave.example']);
  assert.equal(asked(), start + 3, 'expired: asked again');
});

test('negative answers are cached for the SOA minimum; truncated ones are not cached', async () => {
  const { server, forwarder } = await forwardingServer([first.address]);
  const start = seen(first).udp;
  for (let i = 0; i < 3; i++) assert.equal(digStatus(await dig(server.address.port, ['nope.marathon.example'])), 'NXDOMAIN');
  assert.equal(seen(first).udp, start + 1);
  assert.equal(forwarder.stats.cacheHits, 2);

  // 60 SRV records do not fit in 512 bytes: TC goes back to the client, and is never cached.
  for (let i = 0; i < 2; i++) {
    const reply = await dig(server.address.port, ['+noedns', '+ignore', 'SRV', '_big._tcp.marathon.example']);
    assert.ok(digFlags(reply).includes('tc'), reply);
  }
  assert.equal(seen(first).udp, start + 3);
  assert.equal(lines(await dig(server.address.port, ['+tcp', '+short', 'SRV', '_big._tcp.marathon.example'])).length, 60);
});

test('SERVFAIL when every resolver fails; the domain itself is still answered', async () => {
  const { server, forwarder } = await forwardingServer([dead]);
  assert.equal(digStatus(await dig(server.address.port, ['www.marathon.example'])), 'SERVFAIL');
  assert.equal(digStatus(await dig(server.address.port, ['+tcp', 'www.marathon.example'])), 'SERVFAIL');
  assert.equal(forwarder.stats.failed, 2);
  assert.equal(digStatus(await dig(server.address.port, ['nope.marathon.mesos'])), 'NXDOMAIN');
});

test('a failing resolver is logged with its code: no reply in time, or a connection closed before the reply', async () => {
  // Reads the query, then hangs up without answering.
  const hangUp = net.createServer((socket) => socket.once('data', () => socket.end()));
  await new Promise<void>((resolve) => hangUp.listen(0, '127.0.0.1', resolve));
  const cases: Array<[HostPort, 'udp' | 'tcp', string]> = [
    [dead, 'udp', 'ERR_DNS_UPSTREAM_TIMEOUT'],
    [{ host: '127.0.0.1', port: (hangUp.address() as net.AddressInfo).port }, 'tcp', 'ERR_DNS_UPSTREAM_BAD_REPLY'],
  ];
  try {
    for (const [resolver, transport, code] of cases) {
      const logs: Array<Record<string, unknown>> = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
      const { server } = await forwardingServer([resolver], { logger, timeoutMs: 200 });
      assert.equal(digStatus(await dig(server.address.port, [...(transport === 'tcp' ? ['+tcp'] : []), 'www.marathon.example'])), 'SERVFAIL');
      assert.deepEqual(logs.map((l) => [l.msg, l.code]), [['upstream resolver failed', code]], transport);
    }
  } finally {
    await new Promise<void>((resolve) => hangUp.close(() => resolve()));
  }
});

/** The reply a stand-in upstream sends for `query`: its header, its question, then `records` (with `counts` of an, ns). */
function craftedReply(query: Buffer, rcode: number, counts: [number, number], records: (at: number) => Buffer): Buffer {
  let end = 12;
  while ((query[end] as number) !== 0) end += 1 + (query[end] as number);
  const question = query.subarray(12, end + 5);
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2);
  header.writeUInt16BE(0x8180 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(counts[0], 6);
  header.writeUInt16BE(counts[1], 8);
  return Buffer.concat([header, question, records(12 + question.length)]);
}

const record = (owner: Buffer, type: number, ttl: number, rdata: Buffer): Buffer => {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(1, 2);
  fixed.writeUInt32BE(ttl, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
};

test('a malformed upstream reply is SERVFAIL, never cached, logged once; a good one after it is served', async () => {
  const replies: Record<string, (query: Buffer) => Buffer> = {
    // The answer's owner name is a compression pointer to itself.
    'pointer loop': (q) => craftedReply(q, 0, [1, 0], (at) => record(Buffer.from([0xc0, at]), 1, 60, Buffer.from([127, 0, 0, 77]))),
    // NXDOMAIN whose SOA has 22 bytes of rdata, but two names and only 18 bytes of numbers.
    'malformed SOA': (q) => craftedReply(q, 3, [0, 1], () => record(Buffer.from([0]), 6, 60, Buffer.from([1, 0x61, 0, 0, ...Array<number>(14).fill(0), 0, 0, 0, 60]))),
    // An answer for a name the question did not ask about.
    'another name': (q) => craftedReply(q, 0, [1, 0], () => record(Buffer.from([5, ...Buffer.from('other'), 0]), 1, 60, Buffer.from([127, 0, 0, 78]))),
    good: (q) => craftedReply(q, 0, [1, 0], () => record(Buffer.from([0xc0, 12]), 1, 60, Buffer.from([127, 0, 0, 77]))),
  };
  let mode = 'good';
  let asked = 0;
  const upstream = dgram.createSocket('udp4');
  upstream.on('message', (message, remote) => {
    asked += 1;
    upstream.send((replies[mode] as (query: Buffer) => Buffer)(message), remote.port, remote.address);
  });
  await new Promise<void>((resolve) => upstream.bind(0, '127.0.0.1', resolve));
  try {
    for (const bad of ['pointer loop', 'malformed SOA', 'another name']) {
      mode = bad;
      const logs: Array<Record<string, unknown>> = [];
      const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
      const { server, forwarder } = await forwardingServer([{ host: '127.0.0.1', port: upstream.address().port }], { logger });
      const before = asked;
      for (let i = 0; i < 2; i++) assert.equal(digStatus(await dig(server.address.port, ['www.crafted.example'])), 'SERVFAIL', bad);
      assert.equal(asked, before + 2, `${bad}: asked again, not cached`);
      assert.equal(forwarder.stats.cacheSize, 0, bad);
      assert.deepEqual(logs.map((l) => [l.msg, l.code]), [['upstream resolver failed', 'ERR_DNS_UPSTREAM_BAD_REPLY']], bad);

      mode = 'good';
      const good = await dig(server.address.port, ['www.crafted.example']);
      assert.equal(digStatus(good), 'NOERROR', bad);
      assert.match(good, /www\.crafted\.example\.\s+60\s+IN\s+A\s+127\.0\.0\.77/);
    }
  } finally {
    upstream.close();
  }
});

test('without resolvers: REFUSED', async () => {
  const mine = buildRecords(viewOf([], []), { domain: 'mesos', ttl: 60, serial: 1 });
  const server = await DnsServer.listen({ host: '127.0.0.1', port: 0, tables: { current: mine }, logger: silentLogger() });
  servers.push(server);
  const reply = await dig(server.address.port, ['www.marathon.example']);
  assert.equal(digStatus(reply), 'REFUSED');
  assert.ok(!digFlags(reply).includes('ra'));
});
