import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QTYPE, RCODE, answerQuery, shuffle } from '../../src/dns/core/answer.ts';
import { HOST_MISS, SERVICE_MISS, lookupHosts, lookupServices } from '../../src/dns/core/lookup.ts';
import { buildRecords, unsyncedTable } from '../../src/dns/core/records.ts';
import type { DnsRecord } from '../../src/dns/core/records.ts';
import { DOMAIN, TTL, app, sampleView, seededRng, task, viewOf } from '../support/dns-fixtures.ts';

const table = buildRecords(sampleView(), { domain: DOMAIN, ttl: TTL, serial: 9 });
const rng = seededRng(1);

function values(records: readonly DnsRecord[]): string[] {
  return records.map((r) => (r.type === 'A' || r.type === 'AAAA' ? r.address : r.type === 'SRV' ? `${r.port} ${r.target}` : r.type)).sort();
}

test('answerQuery: rcode, authority and answers (table-driven)', () => {
  const cases: { name: string; type: number; rcode: number; aa: boolean; answers: string[]; soaInAuthority: boolean; outside?: boolean }[] = [
    { name: 'web.marathon.mesos', type: QTYPE.A, rcode: RCODE.NOERROR, aa: true, answers: ['127.0.0.11', '127.0.0.12'], soaInAuthority: false },
    { name: 'WEB.Marathon.MESOS.', type: QTYPE.A, rcode: RCODE.NOERROR, aa: true, answers: ['127.0.0.11', '127.0.0.12'], soaInAuthority: false },
    { name: 'web.*.marathon.mesos', type: QTYPE.A, rcode: RCODE.NOERROR, aa: true, answers: ['127.0.0.11', '127.0.0.12'], soaInAuthority: false },
    { name: 'nope.marathon.mesos', type: QTYPE.A, rcode: RCODE.NXDOMAIN, aa: true, answers: [], soaInAuthority: true },
    { name: 'web.marathon.mesos', type: QTYPE.AAAA, rcode: RCODE.NOERROR, aa: true, answers: [], soaInAuthority: true },
    { name: 'web.marathon.mesos', type: QTYPE.SRV, rcode: RCODE.NOERROR, aa: true, answers: [], soaInAuthority: true },
    { name: 'web.marathon.mesos', type: 16 /* TXT */, rcode: RCODE.NOERROR, aa: true, answers: [], soaInAuthority: true },
    { name: '_web._udp.marathon.mesos', type: QTYPE.SRV, rcode: RCODE.NXDOMAIN, aa: true, answers: [], soaInAuthority: true },
    { name: 'marathon.mesos', type: QTYPE.A, rcode: RCODE.NOERROR, aa: true, answers: [], soaInAuthority: true },
    { name: 'mesos', type: QTYPE.SOA, rcode: RCODE.NOERROR, aa: true, answers: ['SOA'], soaInAuthority: false },
    { name: 'mesos', type: QTYPE.NS, rcode: RCODE.NOERROR, aa: true, answers: ['NS'], soaInAuthority: false },
    { name: 'mesos', type: QTYPE.AXFR, rcode: RCODE.REFUSED, aa: false, answers: [], soaInAuthority: false },
    { name: 'example.com', type: QTYPE.A, rcode: RCODE.REFUSED, aa: false, answers: [], soaInAuthority: false, outside: true },
    { name: 'notmesos', type: QTYPE.A, rcode: RCODE.REFUSED, aa: false, answers: [], soaInAuthority: false, outside: true },
    { name: 'slave.mesos', type: QTYPE.A, rcode: RCODE.NOERROR, aa: true, answers: ['127.0.0.11', '127.0.0.12', '127.0.0.95', '127.0.0.96', '127.0.0.97', '127.0.0.98', '127.0.0.99'], soaInAuthority: false },
    // Reverse names: ours when we hold them, otherwise someone else's (forwarded).
    { name: '12.0.0.127.in-addr.arpa', type: QTYPE.PTR, rcode: RCODE.NOERROR, aa: true, answers: ['PTR'], soaInAuthority: false },
    { name: '12.0.0.127.IN-ADDR.ARPA.', type: QTYPE.PTR, rcode: RCODE.NOERROR, aa: true, answers: ['PTR'], soaInAuthority: false },
    { name: '12.0.0.127.in-addr.arpa', type: QTYPE.A, rcode: RCODE.NOERROR, aa: true, answers: [], soaInAuthority: false },
    { name: '1.0.0.127.in-addr.arpa', type: QTYPE.PTR, rcode: RCODE.REFUSED, aa: false, answers: [], soaInAuthority: false, outside: true },
    { name: '0.0.127.in-addr.arpa', type: QTYPE.PTR, rcode: RCODE.REFUSED, aa: false, answers: [], soaInAuthority: false, outside: true },
    // Only the serving instance of the health-checked app.
    { name: 'api-backend-prod.marathon.mesos', type: QTYPE.A, rcode: RCODE.NOERROR, aa: true, answers: ['127.0.0.11'], soaInAuthority: false },
  ];
  for (const c of cases) {
    const answer = answerQuery(table, { name: c.name, type: c.type }, rng);
    const about = `${c.name} type ${c.type}`;
    assert.equal(answer.rcode, c.rcode, about);
    assert.equal(answer.aa, c.aa, about);
    assert.deepEqual(values(answer.answers), c.answers, about);
    assert.equal(answer.authority.length === 1 && answer.authority[0]?.type === 'SOA', c.soaInAuthority, about);
    assert.equal(answer.outside === true, c.outside === true, about);
  }
});

test('answerQuery: a `.*` wildcard label finds the name (the wire echoes the question as owner)', () => {
  const answer = answerQuery(table, { name: 'Web.*.Marathon.mesos.', type: QTYPE.A }, rng);
  assert.deepEqual(new Set(answer.answers.map((r) => r.name)), new Set(['web.marathon.mesos']));
});

test('answerQuery: negative answers carry the SOA with the negative TTL', () => {
  const answer = answerQuery(table, { name: 'nope.mesos', type: QTYPE.A }, rng);
  const soa = answer.authority[0];
  assert.equal(soa?.type, 'SOA');
  if (soa?.type !== 'SOA') return;
  assert.equal(soa.ttl, Math.min(TTL, soa.minimum));
  assert.equal(soa.serial, 9);
  assert.equal(soa.mname, 'ns1.mesos.');
  assert.equal(soa.rname, 'root.ns1.mesos.');
});

test('answerQuery: SRV answers bring their targets A records as additional', () => {
  const answer = answerQuery(table, { name: '_web._tcp.marathon.mesos', type: QTYPE.SRV }, rng);
  assert.equal(answer.rcode, RCODE.NOERROR);
  assert.equal(answer.answers.length, 2);
  const targets = answer.answers.map((r) => (r.type === 'SRV' ? r.target.replace(/\.$/, '') : ''));
  assert.deepEqual(answer.additional.map((r) => r.name).sort(), [...targets].sort());
  assert.deepEqual(values(answer.additional), ['127.0.0.11', '127.0.0.12']);
});

test('answerQuery: SERVFAIL inside the domain until synced, REFUSED outside', () => {
  const unsynced = unsyncedTable({ domain: DOMAIN, ttl: TTL, serial: 1 });
  assert.equal(answerQuery(unsynced, { name: 'web.marathon.mesos', type: QTYPE.A }, rng).rcode, RCODE.SERVFAIL);
  assert.equal(answerQuery(unsynced, { name: 'mesos', type: QTYPE.SOA }, rng).rcode, RCODE.SERVFAIL);
  assert.equal(answerQuery(unsynced, { name: 'example.com', type: QTYPE.A }, rng).rcode, RCODE.REFUSED);
});

test('answerQuery: non-IN classes are refused', () => {
  assert.equal(answerQuery(table, { name: 'web.marathon.mesos', type: QTYPE.A, class: 3 /* CH */ }, rng).rcode, RCODE.REFUSED);
  assert.equal(answerQuery(table, { name: 'web.marathon.mesos', type: QTYPE.A, class: 255 }, rng).rcode, RCODE.NOERROR);
});

test('answerQuery: ANY returns every record at the name', () => {
  const answer = answerQuery(table, { name: 'mesos', type: QTYPE.ANY }, rng);
  assert.deepEqual(values(answer.answers), ['NS', 'SOA']);
});

test('answerQuery: answers are shuffled by the injected rng, repeatably', () => {
  const many = app('/many');
  const tasks = Array.from({ length: 12 }, (_, i) => task(`many.${i}`, many.id, { host: `127.0.1.${i + 1}` }));
  const big = buildRecords(viewOf([many], tasks), { domain: DOMAIN, ttl: TTL, serial: 1 });
  const order = (seed: number): string[] =>
    answerQuery(big, { name: 'many.marathon.mesos', type: QTYPE.A }, seededRng(seed)).answers.map((r) => (r.type === 'A' ? r.address : ''));

  assert.deepEqual(order(5), order(5), 'same seed, same order');
  const orders = new Set([1, 2, 3, 4, 5, 6].map((seed) => order(seed).join(',')));
  assert.ok(orders.size > 1, 'different seeds spread the load');
  assert.deepEqual([...order(3)].sort(), tasks.map((t) => t.host).sort(), 'a permutation, nothing lost');
});

test('shuffle is a permutation and leaves its input alone', () => {
  const input = Object.freeze([1, 2, 3, 4, 5]);
  const out = shuffle(input, seededRng(9));
  assert.deepEqual([...out].sort(), [1, 2, 3, 4, 5]);
  assert.deepEqual(shuffle(input, () => 0.999999), shuffle(input, () => 0.999999));
});

test('lookupHosts and lookupServices give Mesos-DNS shapes', () => {
  assert.deepEqual(
    [...lookupHosts(table, 'web.marathon.mesos.')].sort((a, b) => a.ip.localeCompare(b.ip)),
    [
      { host: 'web.marathon.mesos.', ip: '127.0.0.11' },
      { host: 'web.marathon.mesos.', ip: '127.0.0.12' },
    ],
  );
  assert.deepEqual(lookupHosts(table, 'nope.marathon.mesos'), HOST_MISS);
  assert.deepEqual(HOST_MISS, [{ host: '', ip: '' }]);

  assert.deepEqual(lookupServices(table, '_http._api-backend-prod._tcp.marathon.mesos'), [
    { service: '_http._api-backend-prod._tcp.marathon.mesos', host: 'api-backend-prod-iffe9-0.marathon.mesos.', ip: '127.0.0.11', port: '31000' },
  ]);
  assert.deepEqual(lookupServices(table, '_nope._tcp.marathon.mesos'), SERVICE_MISS);
});
