import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Packet } from 'dns2';
import { QTYPE, answerQuery } from '../../src/dns/core/answer.ts';
import { buildRecords } from '../../src/dns/core/records.ts';
import { ReplyCache } from '../../src/dns/core/reply-cache.ts';
import { decodeMessage, encodeAnswer, type Query } from '../../src/dns/core/wire.ts';
import { DOMAIN, TTL, bigAppView, query, seededRng } from '../support/dns-fixtures.ts';

const table = buildRecords(bigAppView('/web', 8), { domain: DOMAIN, ttl: TTL, serial: 1 });
const rng = seededRng(4);

function ask(cache: ReplyCache, name: string, id: number, current = table): { bytes: Buffer; encoded: number } {
  const q = decodeMessage(query(name, QTYPE.A, { id })) as Query;
  let encoded = 0;
  const reply = cache.reply(current, q, 512, () => {
    encoded += 1;
    const answer = answerQuery(current, q.question, rng, q.key);
    return { bytes: encodeAnswer(q, answer, { limit: 512, ra: false }), rcode: answer.rcode, orders: answer.answers.length };
  });
  assert.ok(reply !== undefined);
  return { bytes: reply.bytes, encoded };
}

test('ReplyCache: four shuffled orders, then copies with the id and the question as asked', () => {
  const cache = new ReplyCache();
  const encodes = Array.from({ length: 4 }, (_, i) => ask(cache, 'web.marathon.mesos', i).encoded);
  assert.deepEqual(encodes, [1, 1, 1, 1], 'the first four replies are encoded (four orders)');
  const orders = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const { bytes, encoded } = ask(cache, i % 2 === 0 ? 'WEB.marathon.mesos' : 'web.marathon.mesos', 100 + i);
    assert.equal(encoded, 0, 'then from the cache');
    const packet = Packet.parse(bytes);
    assert.equal(packet.header.id, 100 + i);
    assert.equal(packet.questions[0]?.name, i % 2 === 0 ? 'WEB.marathon.mesos' : 'web.marathon.mesos', 'the letter case of the question is echoed');
    assert.equal(packet.answers.length, 8);
    orders.add(packet.answers.map((r) => r.address).join(','));
  }
  assert.ok(orders.size > 1, 'the cached orders rotate');
});

test('ReplyCache: a single-record answer is encoded once; a new table starts over; outside names pass through', () => {
  const cache = new ReplyCache();
  const name = '_nope._tcp.marathon.mesos';
  assert.deepEqual([ask(cache, name, 1).encoded, ask(cache, name, 2).encoded], [1, 0]);
  const next = buildRecords(bigAppView('/web', 8), { domain: DOMAIN, ttl: TTL, serial: 2 });
  assert.equal(ask(cache, name, 3, next).encoded, 1);
  const q = decodeMessage(query('example.com', QTYPE.A)) as Query;
  assert.equal(cache.reply(next, q, 512, () => undefined), undefined);
});
