import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { Packet } from 'dns2';
import { buildRecords, unsyncedTable } from '../../src/dns/core/records.ts';
import type { RecordTable } from '../../src/dns/core/record-types.ts';
import { DnsServer } from '../../src/dns/server.ts';
import { DOMAIN, TTL, app, bigAppView, dig, digFlags, digStatus, lines, query, sampleView, seededRng, silentLogger, task, viewOf } from '../support/dns-fixtures.ts';

const FORMERR = 1;
const BIG_INSTANCES = 100;
const HUGE_INSTANCES = 1000;

function clusterTable(serial: number): RecordTable {
  const view = sampleView();
  const big = bigAppView('/big', BIG_INSTANCES);
  const huge = bigAppView('/huge', HUGE_INSTANCES);
  const apps = new Map([...view.apps, ...big.apps, ...huge.apps]);
  const tasks = new Map([...view.tasks, ...big.tasks, ...huge.tasks]);
  return buildRecords({ ...view, apps, tasks }, { domain: DOMAIN, ttl: TTL, serial });
}

const source: { current: RecordTable } = { current: clusterTable(1) };
let server: DnsServer;
let port: number;

before(async () => {
  server = await DnsServer.listen({ host: '127.0.0.1', port: 0, tables: source, logger: silentLogger(), rng: seededRng(3) });
  port = server.address.port;
});

after(async () => {
  await server.close();
});

/** Sends one datagram and waits briefly for one reply; undefined when none comes. */
async function udpExchange(message: Buffer, waitMs = 300): Promise<Buffer | undefined> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<Buffer | undefined>((resolve, reject) => {
      const timer = setTimeout(() => resolve(undefined), waitMs);
      socket.once('message', (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      socket.once('error', reject);
      socket.send(message, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

/** Writes raw bytes on a TCP connection and collects what comes back until the server closes or waitMs passes. */
async function tcpExchange(bytes: Buffer, waitMs = 300): Promise<Buffer> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(bytes);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  socket.destroy();
  return Buffer.concat(chunks);
}

function header(id: number, flags: number, counts: [number, number, number, number]): Buffer {
  const buffer = Buffer.alloc(12);
  buffer.writeUInt16BE(id, 0);
  buffer.writeUInt16BE(flags, 2);
  counts.forEach((count, i) => buffer.writeUInt16BE(count, 4 + 2 * i));
  return buffer;
}

function frame(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length);
  return Buffer.concat([length, message]);
}

test('A over UDP and TCP', async () => {
  const expected = ['127.0.0.11', '127.0.0.12'];
  assert.deepEqual(lines(await dig(port, ['+short', 'web.marathon.mesos'])), expected);
  assert.deepEqual(lines(await dig(port, ['+tcp', '+short', 'WEB.marathon.MESOS'])), expected);
});

test('SRV answers carry the targets in the additional section', async () => {
  const output = await dig(port, ['+noall', '+answer', '+additional', 'SRV', '_http._api-backend-prod._tcp.marathon.mesos']);
  assert.match(output, /_http\._api-backend-prod\._tcp\.marathon\.mesos\.\s+60\s+IN\s+SRV\s+0 1 31000 api-backend-prod-iffe9-0\.marathon\.mesos\./);
  assert.match(output, /api-backend-prod-iffe9-0\.marathon\.mesos\.\s+60\s+IN\s+A\s+127\.0\.0\.11/);
});

test('NXDOMAIN and NODATA are authoritative with the SOA', async () => {
  const missing = await dig(port, ['nope.marathon.mesos']);
  assert.equal(digStatus(missing), 'NXDOMAIN');
  assert.ok(digFlags(missing).includes('aa'));
  assert.match(missing, /AUTHORITY SECTION:\s*\nmesos\.\s+60\s+IN\s+SOA\s+ns1\.mesos\. root\.ns1\.mesos\. 1 60 600 86400 60/);

  const nodata = await dig(port, ['AAAA', 'web.marathon.mesos']);
  assert.equal(digStatus(nodata), 'NOERROR');
  assert.match(nodata, /ANSWER: 0,/);
  assert.match(nodata, /IN\s+SOA\s+ns1\.mesos\./);
});

test('outside the domain without resolvers: REFUSED', async () => {
  assert.equal(digStatus(await dig(port, ['example.com'])), 'REFUSED');
});

test('UDP answers respect 512 bytes without EDNS0 and the EDNS0 size with it; TCP answers in full', async () => {
  const classic = await dig(port, ['+noedns', '+ignore', 'big.marathon.mesos']);
  assert.ok(digFlags(classic).includes('tc'), classic);
  assert.ok(Number(/MSG SIZE\s+rcvd: (\d+)/.exec(classic)?.[1]) <= 512, classic);

  const edns = await dig(port, ['+bufsize=4096', '+ignore', 'big.marathon.mesos']);
  assert.ok(digFlags(edns).includes('tc'), edns);
  const size = Number(/MSG SIZE\s+rcvd: (\d+)/.exec(edns)?.[1]);
  assert.ok(size > 512 && size <= 1232, `EDNS0 reply of ${size} bytes`);
  assert.match(edns, /OPT PSEUDOSECTION:\s*\n; EDNS: version: 0, flags:; udp: 1232/);

  const small = await dig(port, ['+bufsize=4096', 'web.marathon.mesos']);
  assert.ok(!digFlags(small).includes('tc'));

  assert.equal(lines(await dig(port, ['+tcp', '+short', 'big.marathon.mesos'])).length, BIG_INSTANCES);
});

test('a 1,000-instance app over TCP: every A and every SRV record', async () => {
  assert.equal(lines(await dig(port, ['+tcp', '+short', 'huge.marathon.mesos'])).length, HUGE_INSTANCES);
  const srv = await dig(port, ['+tcp', '+noall', '+answer', 'SRV', '_huge._tcp.marathon.mesos']);
  assert.equal(lines(srv).length, HUGE_INSTANCES);
  const udp = await dig(port, ['+bufsize=1232', '+ignore', 'SRV', '_huge._tcp.marathon.mesos']);
  assert.ok(digFlags(udp).includes('tc'), 'over UDP the same answer is truncated');
});

test('PTR for instance IPs, and owner names echo the question', async () => {
  assert.deepEqual(lines(await dig(port, ['+short', '-x', '127.0.0.12'])), ['web-jhy6r-s3.marathon.mesos.']);
  assert.match(await dig(port, ['+noall', '+answer', 'WEB.*.Marathon.mesos']), /^WEB\.\*\.Marathon\.mesos\.\s+60\s+IN\s+A\s/m);
});

/**
 * docs/dns.md "Where Corral differs from Mesos-DNS, and why": one row per decision, asked with
 * the real dig. Each keeps the RFC-correct answer where Mesos-DNS gave another.
 */
test('where Corral differs from Mesos-DNS: each decision as dig sees it (table-driven)', async (t) => {
  const SOA = String.raw`mesos\.\s+60\s+IN\s+SOA\s+ns1\.mesos\. root\.ns1\.mesos\.`;
  const cases: { decision: string; args: string[]; status: string; matches: RegExp[]; absent?: RegExp[] }[] = [
    {
      decision: 'an SRV name with no records is NXDOMAIN with the SOA (Mesos-DNS: empty NOERROR)',
      args: ['SRV', '_nope._tcp.marathon.mesos'],
      status: 'NXDOMAIN',
      matches: [/ANSWER: 0,/, new RegExp(String.raw`AUTHORITY SECTION:\s*\n${SOA}`)],
    },
    {
      decision: 'SOA of the apex in the answer section (Mesos-DNS: authority)',
      args: ['SOA', 'mesos'],
      status: 'NOERROR',
      matches: [new RegExp(String.raw`ANSWER SECTION:\s*\n${SOA}`), /AUTHORITY: 0,/],
    },
    {
      decision: 'NS of the apex in the answer section (Mesos-DNS: authority)',
      args: ['NS', 'mesos'],
      status: 'NOERROR',
      matches: [/ANSWER SECTION:\s*\nmesos\.\s+60\s+IN\s+NS\s+ns1\.mesos\./],
    },
    {
      decision: 'the SOA of a negative answer is owned by the zone apex (Mesos-DNS: by the name asked)',
      args: ['A', 'nope.marathon.mesos'],
      status: 'NXDOMAIN',
      matches: [new RegExp(String.raw`AUTHORITY SECTION:\s*\n${SOA}`)],
      absent: [/^nope\.marathon\.mesos\.\s+\d+\s+IN\s+SOA/m],
    },
    {
      decision: 'a `.*` question is answered under the name asked (Mesos-DNS: under the name without `.*`)',
      args: ['A', 'web.*.marathon.mesos'],
      status: 'NOERROR',
      matches: [/^web\.\*\.marathon\.mesos\.\s+60\s+IN\s+A\s+127\.0\.0\.1[12]$/m],
      absent: [/^web\.marathon\.mesos\./m],
    },
    {
      decision: 'PTR for an instance IP is answered, authoritatively (Mesos-DNS: not its zone)',
      args: ['-x', '127.0.0.12'],
      status: 'NOERROR',
      matches: [/flags: qr aa/, /IN\s+PTR\s+web-jhy6r-s3\.marathon\.mesos\./],
    },
  ];
  for (const c of cases) {
    await t.test(c.decision, async () => {
      const output = await dig(port, c.args);
      assert.equal(digStatus(output), c.status, output);
      for (const pattern of c.matches) assert.match(output, pattern);
      for (const pattern of c.absent ?? []) assert.doesNotMatch(output, pattern);
    });
  }
});

test('EDNS versions other than 0 get BADVERS', async () => {
  assert.equal(digStatus(await dig(port, ['+edns=1', '+noednsnegotiation', 'web.marathon.mesos'])), 'BADVERS');
});

test('garbage over UDP: dropped or FORMERR, and the server keeps answering', async () => {
  assert.equal(await udpExchange(Buffer.from([1, 2, 3])), undefined, 'shorter than a header: dropped');
  assert.equal(await udpExchange(header(7, 0x8180, [1, 0, 0, 0])), undefined, 'a response: dropped');

  const manyQuestions = await udpExchange(header(0x1111, 0x0100, [65535, 0, 0, 0]));
  assert.ok(manyQuestions !== undefined);
  assert.equal(manyQuestions.readUInt16BE(0), 0x1111);
  assert.equal(manyQuestions.readUInt16BE(2) & 0xf, FORMERR);

  // A name whose compression pointer points at itself.
  const loop = Buffer.concat([header(0x2222, 0x0100, [1, 0, 0, 0]), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
  const loopReply = await udpExchange(loop);
  assert.equal(loopReply?.readUInt16BE(2) !== undefined && loopReply.readUInt16BE(2) & 0xf, FORMERR);

  const truncated = query('web.marathon.mesos', 1, { id: 0x3333 }).subarray(0, 20);
  assert.equal(((await udpExchange(truncated))?.readUInt16BE(2) ?? -1) & 0xf, FORMERR);

  const notAQuery = await udpExchange(header(0x4444, 0x2800 /* opcode UPDATE */, [1, 0, 0, 0]));
  assert.equal((notAQuery?.readUInt16BE(2) ?? -1) & 0xf, 4 /* NOTIMP */);

  const random = seededRng(11);
  for (let i = 0; i < 200; i++) {
    const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 300) }, () => Math.floor(random() * 256)));
    await udpExchange(bytes, 0);
  }
  assert.deepEqual(lines(await dig(port, ['+short', 'web.marathon.mesos'])), ['127.0.0.11', '127.0.0.12']);
});

test('garbage over TCP: FORMERR in a frame, short frames closed, the server keeps answering', async () => {
  const reply = await tcpExchange(frame(header(0x5555, 0x0100, [2, 0, 0, 0])));
  assert.equal(reply.readUInt16BE(0), reply.length - 2);
  assert.equal(reply.readUInt16BE(2), 0x5555);
  assert.equal(reply.readUInt16BE(4) & 0xf, FORMERR);

  // Two queries in one write (pipelining), then a frame that is cut off.
  const pipelined = await tcpExchange(Buffer.concat([frame(query('web.marathon.mesos', 1, { id: 1 })), frame(query('nope.mesos', 1, { id: 2 })), Buffer.from([0, 200, 1])]));
  const first = Packet.parse(pipelined.subarray(2, 2 + pipelined.readUInt16BE(0)));
  const rest = pipelined.subarray(2 + pipelined.readUInt16BE(0));
  const second = Packet.parse(rest.subarray(2, 2 + rest.readUInt16BE(0)));
  assert.equal(first.header.id, 1);
  assert.equal(first.answers.length, 2);
  assert.equal(second.header.id, 2);
  assert.equal(second.header.rcode, 3);

  assert.equal((await tcpExchange(frame(Buffer.from([9])))).length, 0, 'undecodable frame: connection closed');
  assert.deepEqual(lines(await dig(port, ['+tcp', '+short', 'web.marathon.mesos'])), ['127.0.0.11', '127.0.0.12']);
});

test('a swapped table is served from the next query on', async () => {
  const previous = source.current;
  try {
    const extra = app('/extra');
    source.current = buildRecords(viewOf([extra], [task('extra.1', extra.id, { host: '127.0.0.77' })]), { domain: DOMAIN, ttl: TTL, serial: 2 });
    assert.deepEqual(lines(await dig(port, ['+short', 'extra.marathon.mesos'])), ['127.0.0.77']);
    assert.equal(digStatus(await dig(port, ['web.marathon.mesos'])), 'NXDOMAIN');

    source.current = unsyncedTable({ domain: DOMAIN, ttl: TTL, serial: 3 });
    assert.equal(digStatus(await dig(port, ['web.marathon.mesos'])), 'SERVFAIL');
  } finally {
    source.current = previous;
  }
});

test('a taken port is a clear error', async () => {
  await assert.rejects(
    DnsServer.listen({ host: '127.0.0.1', port, tables: source, logger: silentLogger() }),
    { name: 'DnsError', code: 'ERR_DNS_BIND', message: /cannot listen for DNS TCP on 127\.0\.0\.1:\d+/ },
  );
});
