import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { DiscoveryStandIn, syntheticSnapshot } from '../support/discovery-stand-in.ts';
import { dig, digStatus, lines, query, seededRng } from '../support/dns-fixtures.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Thousands of random, mutated, truncated and oversized messages at a live `corral dns` over UDP
 * and TCP; afterwards it must still be running and answer exactly as before.
 */

const UDP_MESSAGES = 4000;
const TCP_CONNECTIONS = 300;
const rng = seededRng(20240601);
const dir = tempDir('corral-dns-fuzz-');
let scheduler: DiscoveryStandIn;
let dns: PartProcess;
let port: number;

const random = (n: number): number => Math.floor(rng() * n);
const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => random(256)));

/** A valid query, then damaged one of several ways. */
function mutated(): Buffer {
  const valid = query(`app-${random(5)}.marathon.mesos`, [1, 28, 33, 255, 12, 6, 252][random(7)] as number, random(2) === 0 ? { edns: { size: random(65536), version: random(3) } } : {});
  const out = Buffer.from(valid);
  switch (random(7)) {
    case 0: // flip a few bytes anywhere
      for (let i = 0; i < 1 + random(4); i++) out[random(out.length)] = random(256);
      return out;
    case 1: // cut short
      return out.subarray(0, random(out.length));
    case 2: // trailing garbage
      return Buffer.concat([out, bytes(random(64))]);
    case 3: // absurd counts
      out.writeUInt16BE(random(65536), 4 + 2 * random(4));
      return out;
    case 4: // a compression pointer into the header, or to itself
      out[12] = 0xc0;
      out[13] = random(2) === 0 ? 12 : random(12);
      return out;
    case 5: // oversized: a valid header and a huge body
      return Buffer.concat([out.subarray(0, 12), bytes(3000 + random(6000))]);
    default: // a label length running past the end
      out[12] = 63;
      return out;
  }
}

const junk = (): Buffer => (random(3) === 0 ? bytes(random(600)) : mutated());

async function answersCorrectly(): Promise<void> {
  assert.equal(lines(await dig(port, ['+short', 'app-1.marathon.mesos'])).length, 5);
  assert.equal(lines(await dig(port, ['+tcp', '+short', 'SRV', '_app-2._tcp.marathon.mesos'])).length, 5);
  assert.equal(digStatus(await dig(port, ['nope.marathon.mesos'])), 'NXDOMAIN');
}

before(async () => {
  scheduler = await DiscoveryStandIn.start(syntheticSnapshot(5, 5));
  dns = await startPart('dns', ['dns', '--master', scheduler.url, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', ''], dir);
  port = Number(String(dns.ready.dns).split(':')[1]);
  await waitFor('the first snapshot served', async () => ((await dig(port, ['app-0.marathon.mesos'])).includes('NOERROR') ? true : undefined));
});

after(async () => {
  if (dns !== undefined) await stopParts([dns], 5000);
  await scheduler?.close();
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

test(`${UDP_MESSAGES} hostile datagrams: the server answers or drops each and keeps serving`, async () => {
  await answersCorrectly();
  const socket = dgram.createSocket('udp4');
  let replies = 0;
  socket.on('message', (reply) => {
    replies += 1;
    // Whatever comes back is a response (QR set), never an echo of the junk.
    assert.equal(reply.readUInt16BE(2) & 0x8000, 0x8000);
  });
  for (let i = 0; i < UDP_MESSAGES; i++) {
    socket.send(junk(), port, '127.0.0.1');
    // Let the socket drain now and then: we test the server, not our own send buffer.
    if (i % 50 === 0) await tick();
  }
  await waitFor('some replies (FORMERR and answers)', () => (replies > 100 ? true : undefined));
  socket.close();
  await answersCorrectly();
});

test(`${TCP_CONNECTIONS} TCP connections of junk frames: closed or answered, never a crash`, async () => {
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.on('data', () => undefined);
      socket.on('connect', () => {
        const frames: Buffer[] = [];
        for (let f = 0; f < 1 + random(5); f++) {
          const body = junk();
          const length = Buffer.alloc(2);
          // Sometimes a length that lies (longer or shorter than the body).
          length.writeUInt16BE(random(4) === 0 ? random(65536) : body.length);
          frames.push(length, body);
        }
        socket.end(Buffer.concat(frames));
      });
    });
  for (let done = 0; done < TCP_CONNECTIONS; done += 20) await Promise.all(Array.from({ length: 20 }, one));
  await answersCorrectly();
});

test('after the fuzzing: still running, healthy, and the junk is counted', async () => {
  assert.equal(dns.child.exitCode, null, 'the process is alive');
  const http = `http://${String(dns.ready.http)}`;
  const health = await request(`${http}/v1/health`);
  assert.equal(health.statusCode, 200);
  await health.body.dump();
  const metrics = await (await request(`${http}/metrics`)).body.text();
  const malformed = Number(/corral_dns_messages_rejected_total\{reason="malformed"\} (\d+)/.exec(metrics)?.[1]);
  assert.ok(malformed > 100, `malformed messages counted: ${malformed}`);
  assert.match(metrics, /corral_dns_queries_total\{type="A",rcode="NOERROR",transport="udp"\} \d+/);
});
