import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { buildRecords } from '../../src/dns/core/records.ts';
import { DnsServer } from '../../src/dns/server.ts';
import { DOMAIN, TTL, dig, digStatus, query, sampleView, silentLogger } from '../support/dns-fixtures.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Slow TCP clients against a real DnsServer on 127.0.0.1: clients that open connections and
 * trickle bytes must not lock out new TCP queries, and a message that does not arrive whole in
 * time costs its sender the connection.
 */

const A = 1;
const tables = { current: buildRecords(sampleView(), { domain: DOMAIN, ttl: TTL, serial: 1 }) };
const servers: DnsServer[] = [];
const clients: net.Socket[] = [];

after(async () => {
  for (const socket of clients) socket.destroy();
  await Promise.all(servers.map((server) => server.close()));
});

async function serve(options: { tcpMessageMs?: number } = {}): Promise<DnsServer> {
  const server = await DnsServer.listen({ host: '127.0.0.1', port: 0, tables, logger: silentLogger(), ...options });
  servers.push(server);
  return server;
}

/** A connection that has sent the first byte of a length prefix and says nothing more. */
function slowClient(port: number, closed: { count: number }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.write(Buffer.from([0]));
      resolve(socket);
    });
    clients.push(socket);
    socket.on('error', () => undefined);
    socket.once('error', reject);
    socket.on('close', () => (closed.count += 1));
  });
}

test('1,100 connections holding a started message do not lock out a new TCP query', async () => {
  const server = await serve();
  const port = server.address.port;
  const closed = { count: 0 };
  // More than the old 1,024 connection cap, in batches so the accept queue never overflows.
  const SLOW = 1100;
  for (let opened = 0; opened < SLOW; opened += 100) {
    await Promise.all(Array.from({ length: Math.min(100, SLOW - opened) }, () => slowClient(port, closed).catch(() => undefined)));
  }
  const output = await dig(port, ['+tcp', 'web.marathon.mesos', 'A']);
  assert.equal(digStatus(output), 'NOERROR', output);
  // The per-client cap (128) closed the least recently active ones to make room.
  await waitFor('the slow connections over the per-client cap to be closed', () => (closed.count >= SLOW - 128 ? true : undefined), 10_000);
  assert.ok(server.counters.tcpEvicted >= SLOW - 128, String(server.counters.tcpEvicted));
});

test('a message trickled a byte at a time is dropped at its deadline; a whole one in pieces is answered', async () => {
  // The idle timeout (10 s) would never fire: every byte restarts it.
  const server = await serve({ tcpMessageMs: 300 });
  const port = server.address.port;

  const drip = net.connect({ host: '127.0.0.1', port });
  clients.push(drip);
  drip.on('error', () => undefined);
  let dripClosed = false;
  drip.on('close', () => (dripClosed = true));
  // Announces 200 bytes, sends one every 50 ms.
  drip.write(Buffer.from([0, 200]));
  const timer = setInterval(() => (drip.destroyed ? undefined : drip.write(Buffer.from([0]))), 50);
  try {
    await waitFor('the server to close the trickling connection', () => (dripClosed ? true : undefined), 5_000);
  } finally {
    clearInterval(timer);
  }
  assert.equal(server.counters.tcpSlow, 1);

  // A client sending its query in two pieces within the deadline gets its answer.
  const message = query('web.marathon.mesos', A, { id: 0x1234 });
  const frame = Buffer.concat([Buffer.from([message.length >> 8, message.length & 0xff]), message]);
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.write(frame.subarray(0, 5));
      setImmediate(() => socket.write(frame.subarray(5)));
    });
    clients.push(socket);
    let data = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) resolve(data.subarray(2));
    });
    socket.on('error', reject);
  });
  assert.equal(reply.readUInt16BE(0), 0x1234);
  assert.equal(reply.readUInt16BE(2) & 0xf, 0, 'NOERROR');
});
