import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRecords, type DnsRecord, type RecordOptions, type RecordTable } from '../../src/dns/core/records.ts';
import { canonicalLabel } from '../../src/dns/core/names.ts';
import { parseIpSources, type IpSource } from '../../src/dns/core/ip-sources.ts';
import { enumerate } from '../../src/dns/core/lookup.ts';
import { ZoneMemo } from '../../src/dns/core/zone-memo.ts';
import type { DiscoveryApp, DiscoveryTask, IpAddress, PortMapping } from '../../src/events/types.ts';
import { DOMAIN, TTL, app, task, viewOf } from '../support/dns-fixtures.ts';

const OPTIONS: RecordOptions = { domain: DOMAIN, ttl: TTL, serial: 1 };
const AGENT = '127.0.0.11';

function at(table: RecordTable, name: string): string[] {
  const entry = table.names.get(name);
  if (entry === undefined) return ['<absent>'];
  return Object.values(entry).flat().map((r: DnsRecord) => `${r.type} ${render(r)}`).sort();
}

function render(record: DnsRecord): string {
  if (record.type === 'A' || record.type === 'AAAA') return record.address;
  if (record.type === 'SRV') return `${record.port} ${record.target}`;
  return record.type === 'PTR' || record.type === 'NS' ? record.host : record.mname;
}

const ips = (...addresses: string[]): IpAddress[] => addresses.map((ipAddress) => ({ ipAddress, protocol: 'IPv4' }));

/** `C.marathon.mesos` and `C.marathon.slave.mesos` of a task on the default agent. */
function names(label: string, taskId: string): { instance: string; slave: string } {
  const canonical = canonicalLabel(label, taskId, 'a1b2-2410-0');
  return { instance: `${canonical}.marathon.mesos`, slave: `${canonical}.marathon.slave.mesos` };
}

const bridgeMappings: PortMapping[] = [
  { containerPort: 80, hostPort: 0, servicePort: 10000, protocol: 'tcp', name: 'http' },
  { containerPort: 53, hostPort: 0, servicePort: 10001, protocol: 'udp', name: 'DNS' },
];
const bridged = app('/web', { networks: [{ mode: 'container/bridge' }], container: { portMappings: bridgeMappings } });
const bridgedTask = task('web.1', '/web', { host: AGENT, ipAddresses: ips('172.31.0.5'), ports: [31000, 31001] });
const web = names('web', 'web.1');

const overlay = app('/svc', {
  networks: [{ mode: 'container', name: 'dev' }],
  container: { portMappings: [{ containerPort: 8080, servicePort: 10002, protocol: 'tcp', name: 'api' }, { containerPort: 9000, hostPort: 31500, servicePort: 10003, protocol: 'tcp' }] },
});
const overlayTask = task('svc.1', '/svc', { host: AGENT, ipAddresses: ips('10.1.0.7'), ports: [31500] });
const svc = names('svc', 'svc.1');

test('buildRecords: bridged and container-network instances (table-driven)', () => {
  const cases: { about: string; apps: DiscoveryApp[]; tasks: DiscoveryTask[]; ipSources?: IpSource[]; expected: Record<string, string[]> }[] = [
    {
      about: 'bridge, default sources: A is the task IP (netinfo first); SRV are host ports on the agent\'s name',
      apps: [bridged],
      tasks: [bridgedTask],
      expected: {
        'web.marathon.mesos': ['A 172.31.0.5'],
        [web.instance]: ['A 172.31.0.5'],
        'web.marathon.slave.mesos': [`A ${AGENT}`],
        [web.slave]: [`A ${AGENT}`],
        '_web._tcp.marathon.mesos': [`SRV 31000 ${web.slave}.`],
        '_http._web._tcp.marathon.mesos': [`SRV 31000 ${web.slave}.`],
        '_web._udp.marathon.mesos': [`SRV 31001 ${web.slave}.`],
        '_dns._web._udp.marathon.mesos': [`SRV 31001 ${web.slave}.`],
        '_web._tcp.marathon.slave.mesos': [`SRV 31000 ${web.slave}.`, `SRV 31001 ${web.slave}.`],
        '_web._udp.marathon.slave.mesos': [`SRV 31000 ${web.slave}.`, `SRV 31001 ${web.slave}.`],
        '5.0.31.172.in-addr.arpa': [`PTR ${web.instance}.`],
        '11.0.0.127.in-addr.arpa': ['<absent>'],
      },
    },
    {
      about: 'bridge, --ip-sources host,netinfo: A is the agent; SRV unchanged',
      apps: [bridged],
      tasks: [bridgedTask],
      ipSources: ['host', 'netinfo'],
      expected: {
        'web.marathon.mesos': [`A ${AGENT}`],
        [web.instance]: [`A ${AGENT}`],
        '_web._tcp.marathon.mesos': [`SRV 31000 ${web.slave}.`],
        '11.0.0.127.in-addr.arpa': [`PTR ${web.instance}.`],
      },
    },
    {
      about: 'container network: container ports on the instance\'s name (the task IP); host ports on the agent\'s',
      apps: [overlay],
      tasks: [overlayTask],
      expected: {
        'svc.marathon.mesos': ['A 10.1.0.7'],
        [svc.instance]: ['A 10.1.0.7'],
        'svc.marathon.slave.mesos': [`A ${AGENT}`],
        '_svc._tcp.marathon.mesos': [`SRV 31500 ${svc.slave}.`, `SRV 8080 ${svc.instance}.`],
        '_api._svc._tcp.marathon.mesos': [`SRV 8080 ${svc.instance}.`],
        // Only ports open on the agent are below `.slave`.
        '_svc._tcp.marathon.slave.mesos': [`SRV 31500 ${svc.slave}.`],
        '7.0.1.10.in-addr.arpa': [`PTR ${svc.instance}.`],
      },
    },
    {
      about: 'container network, --ip-sources host: the instance name is the agent, where container ports are not open',
      apps: [overlay],
      tasks: [overlayTask],
      ipSources: ['host'],
      expected: {
        'svc.marathon.mesos': [`A ${AGENT}`],
        '_svc._tcp.marathon.mesos': [`SRV 31500 ${svc.slave}.`],
        '_api._svc._tcp.marathon.mesos': ['<absent>'],
      },
    },
    {
      about: 'container network, no task IP reported yet: the agent\'s address, no container ports',
      apps: [overlay],
      tasks: [{ ...overlayTask, ipAddresses: ips(AGENT) }],
      expected: {
        'svc.marathon.mesos': [`A ${AGENT}`],
        '_svc._tcp.marathon.mesos': [`SRV 31500 ${svc.slave}.`],
        '_api._svc._tcp.marathon.mesos': ['<absent>'],
      },
    },
    {
      about: 'mixed: a host-network app beside them is served as before',
      apps: [bridged, overlay, app('/api', { portDefinitions: [{ port: 10010, protocol: 'tcp', name: 'http' }] })],
      tasks: [bridgedTask, overlayTask, task('api.1', '/api', { host: '127.0.0.12', ipAddresses: ips('127.0.0.12'), ports: [31100] })],
      expected: {
        'api.marathon.mesos': ['A 127.0.0.12'],
        '_api._tcp.marathon.mesos': [`SRV 31100 ${canonicalLabel('api', 'api.1', 'a1b2-2410-0')}.marathon.mesos.`],
        '_http._api._tcp.marathon.mesos': [`SRV 31100 ${canonicalLabel('api', 'api.1', 'a1b2-2410-0')}.marathon.mesos.`],
        'web.marathon.mesos': ['A 172.31.0.5'],
        'svc.marathon.mesos': ['A 10.1.0.7'],
        'slave.mesos': [`A ${AGENT}`, 'A 127.0.0.12'],
      },
    },
    {
      about: 'a bridge mapping without hostPort: its container port on the task IP',
      apps: [app('/web', { networks: [{ mode: 'container/bridge' }], container: { portMappings: [{ containerPort: 7000, servicePort: 10004, protocol: 'tcp' }, bridgeMappings[0]!] } })],
      tasks: [{ ...bridgedTask, ports: [31000] }],
      expected: { '_web._tcp.marathon.mesos': [`SRV 31000 ${web.slave}.`, `SRV 7000 ${web.instance}.`], '_http._web._tcp.marathon.mesos': [`SRV 31000 ${web.slave}.`] },
    },
  ];
  for (const c of cases) {
    const table = buildRecords(viewOf(c.apps, c.tasks), { ...OPTIONS, ...(c.ipSources === undefined ? {} : { ipSources: c.ipSources }) });
    for (const [name, expected] of Object.entries(c.expected)) assert.deepEqual(at(table, name), expected, `${c.about}: ${name}`);
    assert.deepEqual(table.skipped, [], c.about);
  }
});

test('buildRecords: an app switching from host networking to bridge, old and new instances side by side', () => {
  const memo = new ZoneMemo();
  const host = app('/web', { version: 'v1', portDefinitions: [{ port: 10000, protocol: 'tcp', name: 'http' }] });
  const old = task('web.old', '/web', { host: AGENT, ipAddresses: ips(AGENT), ports: [31010], version: 'v1' });
  const before = buildRecords(viewOf([host], [old]), OPTIONS, memo);
  const previous = names('web', 'web.old');
  assert.deepEqual(at(before, '_web._tcp.marathon.mesos'), [`SRV 31010 ${previous.instance}.`]);

  const after = viewOf([{ ...bridged, version: 'v2' }], [old, { ...bridgedTask, version: 'v2' }], 8);
  const table = buildRecords(after, OPTIONS, memo);
  assert.equal(table.digest, buildRecords(after, OPTIONS).digest, 'incremental equals fresh');
  // The old instance keeps its host port, now named after the first mapping; both on agent names.
  assert.deepEqual(at(table, '_web._tcp.marathon.mesos'), [`SRV 31000 ${web.slave}.`, `SRV 31010 ${previous.slave}.`]);
  assert.deepEqual(at(table, '_http._web._tcp.marathon.mesos'), [`SRV 31000 ${web.slave}.`, `SRV 31010 ${previous.slave}.`]);
  assert.deepEqual(at(table, 'web.marathon.mesos'), ['A 127.0.0.11', 'A 172.31.0.5']);
  assert.deepEqual(at(table, previous.slave), [`A ${AGENT}`]);
});

test('buildRecords: sources that give no address (mesos, docker) leave the instance unserved, with the reason', () => {
  const table = buildRecords(viewOf([bridged], [bridgedTask]), { ...OPTIONS, ipSources: ['mesos', 'docker'] });
  assert.deepEqual(at(table, 'web.marathon.mesos'), ['<absent>']);
  assert.equal(table.skipped.length, 1);
  assert.match(table.skipped[0]?.reason ?? '', /--ip-sources mesos,docker/);
  assert.deepEqual(buildRecords(viewOf([bridged], [bridgedTask]), { ...OPTIONS, ipSources: ['mesos', 'netinfo'] }).ipSources, ['mesos', 'netinfo']);
});

test('enumerate follows the table\'s --ip-sources', () => {
  const table = buildRecords(viewOf([bridged], [bridgedTask]), { ...OPTIONS, ipSources: ['host'] });
  const rows = enumerate(table).frameworks[0]?.tasks[0]?.records ?? [];
  assert.deepEqual(rows.filter((row) => row.name === 'web.marathon.mesos.').map((row) => row.host), [AGENT]);
  assert.ok(rows.some((row) => row.rtype === 'SRV' && row.host === `${web.slave}.:31000`));
});

test('parseIpSources: Mesos-DNS\' names and rules (table-driven)', () => {
  const cases: [text: string, expected: IpSource[] | RegExp][] = [
    ['netinfo,mesos,host', ['netinfo', 'mesos', 'host']],
    [' Host , netinfo ', ['host', 'netinfo']],
    ['docker', ['docker']],
    ['', /at least one/],
    ['netinfo,rkt', /'rkt' is not an IP source/],
    ['host,host', /'host' is given twice/],
  ];
  for (const [text, expected] of cases) {
    if (expected instanceof RegExp) assert.throws(() => parseIpSources(text), expected, text);
    else assert.deepEqual(parseIpSources(text), expected, text);
  }
});
