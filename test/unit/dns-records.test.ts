import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecords, nextSerial, unsyncedTable } from '../../src/dns/core/records.ts';
import type { DnsRecord, RecordTable } from '../../src/dns/core/records.ts';
import { canonicalLabel } from '../../src/dns/core/names.ts';
import { DOMAIN, TTL, app, sampleView, task, viewOf } from '../support/dns-fixtures.ts';

const OPTIONS = { domain: DOMAIN, ttl: TTL, serial: 42 };
const WEB_SECOND = `${canonicalLabel('web', 'web.second', 'a1b2-2410-0')}.marathon.mesos`;

/** `type value` strings of one name, sorted, for compact comparisons. */
function at(table: RecordTable, name: string): string[] {
  const entry = table.names.get(name);
  if (entry === undefined) return ['<absent>'];
  return Object.values(entry)
    .flat()
    .map((r: DnsRecord) => `${r.type} ${render(r)}`)
    .sort();
}

function render(record: DnsRecord): string {
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return record.address;
    case 'SRV':
      return `${record.priority} ${record.weight} ${record.port} ${record.target}`;
    case 'NS':
      return record.host;
    case 'SOA':
      return `${record.mname} ${record.rname} ${record.serial} ${record.minimum}`;
  }
}

test('buildRecords: names and values for serving instances (table-driven)', () => {
  const table = buildRecords(sampleView(), OPTIONS);
  const cases: [name: string, expected: string[]][] = [
    ['mesos', ['NS ns1.mesos.', 'SOA ns1.mesos. root.ns1.mesos. 42 60']],
    ['api-backend-prod.marathon.mesos', ['A 127.0.0.11']],
    ['api-backend-prod-iffe9-0.marathon.mesos', ['A 127.0.0.11']],
    ['api-backend-prod.marathon.slave.mesos', ['A 127.0.0.11']],
    ['api-backend-prod-iffe9-0.marathon.slave.mesos', ['A 127.0.0.11']],
    ['web.marathon.mesos', ['A 127.0.0.11', 'A 127.0.0.12']],
    ['web-jhy6r-s3.marathon.mesos', ['A 127.0.0.12']],
    [WEB_SECOND, ['A 127.0.0.11']],
    [
      '_api-backend-prod._tcp.marathon.mesos',
      ['SRV 0 1 31000 api-backend-prod-iffe9-0.marathon.mesos.', 'SRV 0 1 31001 api-backend-prod-iffe9-0.marathon.mesos.'],
    ],
    ['_api-backend-prod._udp.marathon.mesos', ['SRV 0 1 31001 api-backend-prod-iffe9-0.marathon.mesos.']],
    ['_http._api-backend-prod._tcp.marathon.mesos', ['SRV 0 1 31000 api-backend-prod-iffe9-0.marathon.mesos.']],
    ['_web._tcp.marathon.mesos', ['SRV 0 1 31002 web-jhy6r-s3.marathon.mesos.', `SRV 0 1 31003 ${WEB_SECOND}.`]],
    ['_web._tcp.marathon.slave.mesos', ['SRV 0 1 31002 web-jhy6r-s3.marathon.slave.mesos.', `SRV 0 1 31003 ${WEB_SECOND.replace('.marathon.', '.marathon.slave.')}.`]],
    ['_web._udp.marathon.mesos', ['<absent>']],
    // Empty non-terminals exist (NODATA, not NXDOMAIN).
    ['marathon.mesos', []],
    ['_tcp.marathon.mesos', []],
    ['slave.mesos', []],
  ];
  for (const [name, expected] of cases) assert.deepEqual(at(table, name), expected, name);
});

test('buildRecords: instances that are not serving get no records', () => {
  const table = buildRecords(sampleView(), OPTIONS);
  const everything = JSON.stringify([...table.names.values()]);
  // Unhealthy, not-yet-checked, killing, staging and orphaned tasks all live on 127.0.0.9x.
  assert.doesNotMatch(everything, /127\.0\.0\.9\d/);
  for (const port of [31004, 31005, 31006, 31010, 31020]) assert.doesNotMatch(everything, new RegExp(`"port":${port}\\b`));
  assert.equal(table.names.has('gone.marathon.mesos'), false);
});

test('buildRecords: the table is frozen, synced and carries the serial', () => {
  const table = buildRecords(sampleView(), OPTIONS);
  assert.ok(Object.isFrozen(table));
  assert.ok(Object.isFrozen(table.names.get('web.marathon.mesos')));
  assert.ok(Object.isFrozen(table.names.get('web.marathon.mesos')?.A));
  assert.ok(Object.isFrozen(table.names.get('web.marathon.mesos')?.A?.[0]));
  assert.equal(table.synced, true);
  assert.equal(table.eventId, 7);
  assert.equal(table.soa.serial, 42);
  assert.equal(table.domain, DOMAIN);
  for (const name of table.names.keys()) assert.equal(name, name.toLowerCase());
});

test('buildRecords: digest ignores the serial and follows the records', () => {
  const a = buildRecords(sampleView(), OPTIONS);
  const b = buildRecords(sampleView(), { ...OPTIONS, serial: 43 });
  assert.equal(a.digest, b.digest);

  const view = sampleView();
  const tasks = new Map(view.tasks);
  tasks.set('test', { ...(tasks.get('test') as NonNullable<ReturnType<typeof tasks.get>>), healthy: false });
  const c = buildRecords({ ...view, tasks }, OPTIONS);
  assert.notEqual(c.digest, a.digest);
  assert.deepEqual(at(c, 'api-backend-prod.marathon.mesos'), ['<absent>']);
});

test('buildRecords: addresses from ipAddresses, hostnames and IPv6 (table-driven)', () => {
  const web = app('/web', { portDefinitions: [{ port: 10000, protocol: 'tcp' }] });
  const cases: {
    about: string;
    task: Parameters<typeof task>[2];
    service: string[];
    slave: string[];
    skipped: number;
  }[] = [
    { about: 'agent IP only', task: { host: '127.0.0.11' }, service: ['A 127.0.0.11'], slave: ['A 127.0.0.11'], skipped: 0 },
    {
      about: 'task IP wins for the service name; the agent keeps the slave name',
      task: { host: '127.0.0.11', ipAddresses: [{ ipAddress: '127.0.0.50', protocol: 'IPv4' }] },
      service: ['A 127.0.0.50'],
      slave: ['A 127.0.0.11'],
      skipped: 0,
    },
    {
      about: 'hostname agent with a task IP: no slave records',
      task: { host: 'node-1.example', ipAddresses: [{ ipAddress: '127.0.0.51', protocol: 'IPv4' }] },
      service: ['A 127.0.0.51'],
      slave: ['<absent>'],
      skipped: 0,
    },
    { about: 'hostname agent, no IP at all: reported, not served', task: { host: 'node-1.example' }, service: ['<absent>'], slave: ['<absent>'], skipped: 1 },
    { about: 'IPv6 agent', task: { host: '::1' }, service: ['AAAA ::1'], slave: ['AAAA ::1'], skipped: 0 },
  ];
  for (const c of cases) {
    const table = buildRecords(viewOf([web], [task('web.1', web.id, { ports: [31000], ...c.task })]), OPTIONS);
    assert.deepEqual(at(table, 'web.marathon.mesos'), c.service, c.about);
    assert.deepEqual(at(table, 'web.marathon.slave.mesos'), c.slave, c.about);
    assert.equal(table.skipped.length, c.skipped, c.about);
  }
});

test('buildRecords: ports without a definition are tcp; bad ports are skipped; udp-only ports', () => {
  const svc = app('/svc', { portDefinitions: [{ port: 10000, protocol: 'udp', name: 'DNS_Port' }] });
  const table = buildRecords(viewOf([svc], [task('svc.1', svc.id, { ports: [31000, 31001, 0, 70000] })]), OPTIONS);
  const target = `${canonicalLabel('svc', 'svc.1', 'a1b2-2410-0')}.marathon.mesos.`;
  assert.deepEqual(at(table, '_svc._udp.marathon.mesos'), [`SRV 0 1 31000 ${target}`]);
  assert.deepEqual(at(table, '_dns-port._svc._udp.marathon.mesos'), [`SRV 0 1 31000 ${target}`]);
  assert.deepEqual(at(table, '_svc._tcp.marathon.mesos'), [`SRV 0 1 31001 ${target}`]);
});

test('buildRecords: an optional nameserver address becomes glue for ns1', () => {
  const table = buildRecords(viewOf([], []), { ...OPTIONS, nameserverAddress: '127.0.0.1' });
  assert.deepEqual(at(table, 'ns1.mesos'), ['A 127.0.0.1']);
});

test('unsyncedTable: apex only, marked unsynced', () => {
  const table = unsyncedTable(OPTIONS);
  assert.equal(table.synced, false);
  assert.deepEqual([...table.names.keys()], ['mesos']);
});

test('nextSerial increases on every call and never falls below the clock', () => {
  const cases: [previous: number, now: number, expected: number][] = [
    [0, 1_700_000_000.7, 1_700_000_000],
    [1_700_000_000, 1_700_000_000, 1_700_000_001],
    [1_700_000_005, 1_700_000_001, 1_700_000_006],
    [0xffffffff, 0, 0], // RFC 1982 wrap
  ];
  for (const [previous, now, expected] of cases) assert.equal(nextSerial(previous, now), expected, `${previous} @ ${now}`);
});
