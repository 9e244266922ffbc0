import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecords, nextSerial, unsyncedTable } from '../../src/dns/core/records.ts';
import { ZoneMemo } from '../../src/dns/core/zone-memo.ts';
import type { ClusterView } from '../../src/events/core/view.ts';
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
    case 'PTR':
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
    ['marathon.slave.mesos', []],
    // Every agent (here: every task's host), whatever its tasks do.
    ['slave.mesos', ['A 127.0.0.11', 'A 127.0.0.12', 'A 127.0.0.95', 'A 127.0.0.96', 'A 127.0.0.97', 'A 127.0.0.98', 'A 127.0.0.99']],
    // PTR for served instance IPs, one per instance on that IP.
    ['11.0.0.127.in-addr.arpa', ['PTR api-backend-prod-iffe9-0.marathon.mesos.', `PTR ${WEB_SECOND}.`]],
    ['12.0.0.127.in-addr.arpa', ['PTR web-jhy6r-s3.marathon.mesos.']],
    ['99.0.0.127.in-addr.arpa', ['<absent>']],
    ['in-addr.arpa', ['<absent>']],
    // No scheduler known (no snapshot leader, no --master): no leader records.
    ['leader.mesos', ['<absent>']],
  ];
  for (const [name, expected] of cases) assert.deepEqual(at(table, name), expected, name);
});

test('buildRecords: instances that are not serving get no records', () => {
  const table = buildRecords(sampleView(), OPTIONS);
  // slave.mesos lists agents, whatever their tasks do; every other name is about instances.
  const everything = JSON.stringify([...table.names].filter(([name]) => name !== 'slave.mesos'));
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

test('buildRecords: leader, master and masterN from the snapshot, else from --master (table-driven)', () => {
  const cases: { about: string; view: Partial<ClusterView>; masters?: string[]; expected: Record<string, string[]> }[] = [
    {
      about: 'snapshot leader and masters',
      view: { leader: '127.0.0.5:8080', masters: ['127.0.0.5:8080', '127.0.0.6:8081'] },
      expected: {
        'leader.mesos': ['A 127.0.0.5'],
        'master.mesos': ['A 127.0.0.5', 'A 127.0.0.6'],
        'master0.mesos': ['A 127.0.0.5'],
        'master1.mesos': ['A 127.0.0.6'],
        '_leader._tcp.mesos': ['SRV 0 1 8080 leader.mesos.'],
        '_leader._udp.mesos': ['SRV 0 1 8080 leader.mesos.'],
      },
    },
    {
      about: 'only --master URLs',
      view: {},
      masters: ['http://127.0.0.7:9000'],
      expected: { 'leader.mesos': ['A 127.0.0.7'], 'master0.mesos': ['A 127.0.0.7'], '_leader._tcp.mesos': ['SRV 0 1 9000 leader.mesos.'] },
    },
    { about: 'a hostname leader gets no A record', view: { leader: 'sched.example:8080' }, expected: { 'leader.mesos': ['<absent>'], '_leader._tcp.mesos': ['SRV 0 1 8080 leader.mesos.'] } },
  ];
  for (const c of cases) {
    const table = buildRecords({ ...viewOf([], []), ...c.view }, { ...OPTIONS, ...(c.masters === undefined ? {} : { masters: c.masters }) });
    for (const [name, expected] of Object.entries(c.expected)) assert.deepEqual(at(table, name), expected, `${c.about}: ${name}`);
  }
});

test('buildRecords: slave.D lists the view\'s agents; without any, the hosts of its tasks (table-driven)', () => {
  const web = app('/web');
  const tasks = viewOf([web], [task('web.1', web.id, { host: '127.0.0.21' }), task('web.2', web.id, { host: '127.0.0.22', state: 'TASK_UNREACHABLE' })]);
  const cases: { about: string; view: ClusterView; expected: string[] }[] = [
    { about: 'agents named: they alone (the lost agent of an unreachable task is out)', view: { ...tasks, agents: [{ id: 'a-S1', hostname: 'n1', ip: '127.0.0.20' }, { id: 'a-S2', hostname: 'n2', ip: '127.0.0.21' }] }, expected: ['A 127.0.0.20', 'A 127.0.0.21'] },
    // Still a name (`web.marathon.slave.mesos` is below it): NODATA.
    { about: 'no agent left', view: { ...tasks, agents: [] }, expected: [] },
    { about: 'a scheduler that names no agents: the tasks\' hosts', view: tasks, expected: ['A 127.0.0.21', 'A 127.0.0.22'] },
  ];
  for (const c of cases) assert.deepEqual(at(buildRecords(c.view, OPTIONS), 'slave.mesos'), c.expected, c.about);
});

test('buildRecords: --enforce-rfc952 labels (Mesos-DNS examples)', () => {
  const cases: [appId: string, rfc1123: string, rfc952: string][] = [
    ['/1st-app', '1st-app', 'st-app'],
    ['/ünïcode-app', 'ncode-app', 'ncode-app'],
    ['/My_App.v2', 'my-app-v2', 'my-app-v2'],
    ['/a-very-long-application-name-for-rfc952', 'a-very-long-application-name-for-rfc952', 'a-very-long-application'],
  ];
  for (const [appId, rfc1123, rfc952] of cases) {
    const view = viewOf([app(appId)], [task('t.1', appId)]);
    assert.deepEqual(at(buildRecords(view, OPTIONS), `${rfc1123}.marathon.mesos`), ['A 127.0.0.11'], appId);
    assert.deepEqual(at(buildRecords(view, { ...OPTIONS, rfc952: true }), `${rfc952}.marathon.mesos`), ['A 127.0.0.11'], `${appId} rfc952`);
  }
});

test('buildRecords: apps sharing a label and an IP share the names (records merged, not replaced)', () => {
  const a = app('/a/web');
  const b = app('/a-web');
  const table = buildRecords(viewOf([a, b], [task('a.1', a.id, { host: '127.0.0.31' }), task('b.1', b.id, { host: '127.0.0.32' })]), OPTIONS);
  assert.deepEqual(at(table, 'web-a.marathon.mesos'), ['A 127.0.0.31']);
  assert.deepEqual(at(table, 'a-web.marathon.mesos'), ['A 127.0.0.32']);
  const same = app('/web-a');
  const merged = buildRecords(viewOf([a, same], [task('a.1', a.id, { host: '127.0.0.31' }), task('s.1', same.id, { host: '127.0.0.32' })]), OPTIONS);
  assert.deepEqual(at(merged, 'web-a.marathon.mesos'), ['A 127.0.0.31', 'A 127.0.0.32']);
});

test('buildRecords with a memo: incremental builds equal fresh ones, unchanged apps keep their records', () => {
  const memo = new ZoneMemo();
  const first = sampleView();
  const a = buildRecords(first, OPTIONS, memo);
  const webRecords = a.names.get('web.marathon.mesos');
  // Scale /web down by one and make the checked api instance unhealthy.
  const tasks = new Map(first.tasks);
  tasks.delete('web.second');
  tasks.set('test', { ...(tasks.get('test') as NonNullable<ReturnType<typeof tasks.get>>), healthy: false });
  const extra = app('/extra');
  tasks.set('extra.1', task('extra.1', extra.id, { host: '127.0.0.41' }));
  const second = { ...first, eventId: 8, tasks, apps: new Map(first.apps).set(extra.id, extra) };
  const b = buildRecords(second, OPTIONS, memo);
  const fresh = buildRecords(second, OPTIONS);
  assert.equal(b.digest, fresh.digest);
  assert.deepEqual(new Map([...b.names].sort()), new Map([...fresh.names].sort()));
  assert.notEqual(b.names.get('web.marathon.mesos'), webRecords, 'the changed app was rebuilt');
  assert.deepEqual(at(b, 'web.marathon.mesos'), ['A 127.0.0.12']);
  assert.deepEqual(at(b, 'api-backend-prod.marathon.mesos'), ['<absent>']);
  assert.deepEqual(at(b, '11.0.0.127.in-addr.arpa'), ['<absent>']);
  assert.deepEqual(at(b, 'extra.marathon.mesos'), ['A 127.0.0.41']);
  assert.deepEqual(at(a, 'web.marathon.mesos'), ['A 127.0.0.11', 'A 127.0.0.12'], 'the previous table is untouched');

  // Only the new app changes: /web's records are the very same objects.
  const third = { ...second, eventId: 9, apps: new Map(second.apps).set('/more', app('/more')), tasks: new Map(second.tasks).set('more.1', task('more.1', '/more')) };
  const c = buildRecords(third, OPTIONS, memo);
  assert.equal(c.names.get('web.marathon.mesos'), b.names.get('web.marathon.mesos'));
  assert.deepEqual(at(c, 'more.marathon.mesos'), ['A 127.0.0.11']);

  // The app changes, its tasks do not: the instances' records are worked out again.
  const web = third.apps.get('/web') as NonNullable<ReturnType<typeof third.apps.get>>;
  const fourth = { ...third, eventId: 10, apps: new Map(third.apps).set('/web', { ...web, portDefinitions: [{ port: 10002, protocol: 'tcp' as const, name: 'admin' }] }) };
  const d = buildRecords(fourth, OPTIONS, memo);
  assert.deepEqual(at(d, '_admin._web._tcp.marathon.mesos'), ['SRV 0 1 31002 web-jhy6r-s3.marathon.mesos.']);
  assert.equal(d.digest, buildRecords(fourth, OPTIONS).digest);
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

test('buildRecords: the names Mesos-DNS publishes besides T (discovery-name form, .slave SRV on tcp and udp) (table-driven)', () => {
  const web = app('/team/web', { portDefinitions: [{ port: 10000, protocol: 'tcp', name: 'http' }, { port: 10001, protocol: 'udp' }] });
  const table = buildRecords(viewOf([web], [task('test', web.id, { slaveId: 'x-S3', ports: [31000, 31001] })]), OPTIONS);
  const raw = 'web.team-iffe9-s3.marathon.mesos';
  const rawSlave = 'web.team-iffe9-s3.marathon.slave.mesos';
  const slave = 'web-team-iffe9-s3.marathon.slave.mesos';
  const cases: [name: string, expected: string[]][] = [
    ['web-team.marathon.mesos', ['A 127.0.0.11']],
    ['web.team.marathon.mesos', ['A 127.0.0.11']],
    [raw, ['A 127.0.0.11']],
    ['web.team.marathon.slave.mesos', ['A 127.0.0.11']],
    [rawSlave, ['A 127.0.0.11']],
    ['_web.team._tcp.marathon.mesos', [`SRV 0 1 31000 ${raw}.`]],
    ['_web.team._udp.marathon.mesos', [`SRV 0 1 31001 ${raw}.`]],
    ['_http._web.team._tcp.marathon.mesos', [`SRV 0 1 31000 ${raw}.`]],
    ['_web-team._tcp.marathon.mesos', ['SRV 0 1 31000 web-team-iffe9-s3.marathon.mesos.']],
    // COMPAT(mesos-dns): every port of the task under both protocols below `.slave`.
    ['_web-team._tcp.marathon.slave.mesos', [`SRV 0 1 31000 ${slave}.`, `SRV 0 1 31001 ${slave}.`]],
    ['_web-team._udp.marathon.slave.mesos', [`SRV 0 1 31000 ${slave}.`, `SRV 0 1 31001 ${slave}.`]],
    ['_web.team._tcp.marathon.slave.mesos', [`SRV 0 1 31000 ${rawSlave}.`, `SRV 0 1 31001 ${rawSlave}.`]],
    ['_web.team._udp.marathon.slave.mesos', [`SRV 0 1 31000 ${rawSlave}.`, `SRV 0 1 31001 ${rawSlave}.`]],
    ['team.marathon.mesos', []],
    // The reverse name points at the one-label canonical name only.
    ['11.0.0.127.in-addr.arpa', ['PTR web-team-iffe9-s3.marathon.mesos.']],
  ];
  for (const [name, expected] of cases) assert.deepEqual(at(table, name), expected, name);
});

test('buildRecords: framework, _slave, _master and _leader service names (table-driven)', () => {
  const agents = [
    { id: 'a-S1', hostname: 'n1', ip: '127.0.0.20', port: 5051 },
    { id: 'a-S2', hostname: 'n2', ip: '127.0.0.21', port: 5052 },
    { id: 'a-S3', hostname: 'n3', ip: '127.0.0.22' },
  ];
  const view = { ...viewOf([], []), leader: '127.0.0.5:8080', masters: ['127.0.0.5:8080', '127.0.0.6:8081'], agents };
  const table = buildRecords(view, OPTIONS);
  const cases: [name: string, expected: string[]][] = [
    ['marathon.mesos', ['A 127.0.0.5']],
    ['_framework._tcp.marathon.mesos', ['SRV 0 1 8080 marathon.mesos.']],
    ['_slave._tcp.mesos', ['SRV 0 1 5051 slave.mesos.', 'SRV 0 1 5052 slave.mesos.']],
    ['slave.mesos', ['A 127.0.0.20', 'A 127.0.0.21', 'A 127.0.0.22']],
    ['_master._tcp.mesos', ['SRV 0 1 8080 master0.mesos.', 'SRV 0 1 8081 master1.mesos.']],
    ['_master._udp.mesos', ['SRV 0 1 8080 master0.mesos.', 'SRV 0 1 8081 master1.mesos.']],
    ['_leader._tcp.mesos', ['SRV 0 1 8080 leader.mesos.']],
    ['_leader._udp.mesos', ['SRV 0 1 8080 leader.mesos.']],
  ];
  for (const [name, expected] of cases) assert.deepEqual(at(table, name), expected, name);
  // Without a known scheduler, no framework records: marathon.mesos stays an empty non-terminal.
  assert.deepEqual(at(buildRecords(viewOf([app('/web')], [task('w.1', '/web')]), OPTIONS), 'marathon.mesos'), []);
});
