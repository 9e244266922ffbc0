import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { registerRoutes, type HttpApiOptions } from '../../src/dns/http-api.ts';
import { buildRecords } from '../../src/dns/core/records.ts';
import { configBody, type ConfigFacts } from '../../src/dns/core/mesos-dns-api.ts';
import { DOMAIN, TTL, app, sampleView, silentLogger, task, viewOf } from '../support/dns-fixtures.ts';

// Two instances of /dup on one agent share `dup.marathon.mesos A 127.0.0.11`.
const view = sampleView();
const dup = app('/dup', { portDefinitions: [{ port: 10003, protocol: 'tcp' }] });
const table = buildRecords(
  viewOf([...view.apps.values(), dup], [...view.tasks.values(), task('dup.one', dup.id, { ports: [31100] }), task('dup.two', dup.id, { ports: [31101] })]),
  { domain: DOMAIN, ttl: TTL, serial: 42 },
);

const facts: Omit<ConfigFacts, 'http'> = {
  masters: ['http://127.0.0.1:8080', 'https://10.0.0.2:8443/'],
  domain: DOMAIN,
  ttl: TTL,
  resolvers: [{ host: '127.0.0.53', port: 53 }, { host: '127.0.0.54', port: 5353 }],
  forwardTimeoutMs: 2500,
  enforceRfc952: false,
  ca: undefined,
  dns: { host: '127.0.0.1', port: 8053 },
};

async function get(path: string): Promise<{ status: number; json: unknown }> {
  const server = Fastify({ logger: false });
  const options: HttpApiOptions = {
    host: '127.0.0.1',
    port: 0,
    tables: { current: table },
    health: () => ({ synced: true, eventId: 1, lastContact: 0, snapshots: 1 }),
    version: '9.9.9',
    config: facts,
    metrics: new Registry(),
    logger: silentLogger(),
  };
  registerRoutes(server, options, { host: '127.0.0.1', port: 8123 });
  const response = await server.inject({ method: 'GET', url: path });
  await server.close();
  return { status: response.statusCode, json: response.json() };
}

test('/v1/version: the values Mesos-DNS gives, Corral\'s version', async () => {
  assert.deepEqual(await get('/v1/version'), { status: 200, json: { Service: 'Mesos-DNS', URL: 'https://github.com/mesosphere/mesos-dns', Version: '9.9.9' } });
});

test('/v1/config: Mesos-DNS\' records.Config keys, in its order, with the values that map', async () => {
  const { status, json } = await get('/v1/config');
  assert.equal(status, 200);
  const config = json as Record<string, unknown>;
  assert.deepEqual(Object.keys(config), [
    'RefreshSeconds', 'Port', 'Timeout', 'StateTimeoutSeconds', 'ZkDetectionTimeout', 'HttpPort', 'TTL', 'SRVRecordDefaultWeight',
    'SOASerial', 'SOARefresh', 'SOARetry', 'SOAExpire', 'SOAMinttl', 'SOAMname', 'SOARname', 'Masters', 'ZoneResolvers', 'Resolvers',
    'IPSources', 'Zk', 'Domain', 'File', 'Listener', 'HTTPListener', 'RecurseOn', 'DnsOn', 'HttpOn', 'ExternalOn', 'EnforceRFC952',
    'SetTruncateBit', 'EnumerationOn', 'MesosHTTPSOn', 'CACertFile', 'CertFile', 'KeyFile', 'MesosCredentials', 'IAMConfigFile',
    'MesosAuthentication',
  ]);
  const expected: [string, unknown][] = [
    ['RefreshSeconds', 60],
    ['Port', 8053],
    ['Timeout', 3],
    ['HttpPort', 8123],
    ['TTL', TTL],
    ['SOASerial', 42],
    ['SOAMname', 'ns1.mesos.'],
    ['SOARname', 'root.ns1.mesos.'],
    ['SOARefresh', 60],
    ['SOARetry', 600],
    ['SOAExpire', 86400],
    ['SOAMinttl', TTL],
    ['Masters', ['127.0.0.1:8080', '10.0.0.2:8443']],
    ['Resolvers', ['127.0.0.53', '127.0.0.54:5353']],
    ['Zk', ''],
    ['Domain', 'mesos'],
    ['Listener', '127.0.0.1'],
    ['HTTPListener', '127.0.0.1'],
    ['RecurseOn', true],
    ['ExternalOn', true],
    ['DnsOn', true],
    ['HttpOn', true],
    ['MesosHTTPSOn', true],
    ['MesosCredentials', { Principal: '', Secret: '' }],
    ['MesosAuthentication', ''],
  ];
  for (const [key, value] of expected) assert.deepEqual(config[key], value, key);
});

test('configBody: forwarding off reads as ExternalOn and RecurseOn false (table-driven)', () => {
  const cases: { resolvers: ConfigFacts['resolvers']; forwardTimeoutMs: number; external: boolean; timeout: number }[] = [
    { resolvers: [], forwardTimeoutMs: 2000, external: false, timeout: 2 },
    { resolvers: [{ host: '::1', port: 5300 }], forwardTimeoutMs: 1, external: true, timeout: 1 },
  ];
  for (const c of cases) {
    const body = configBody({ ...facts, resolvers: c.resolvers, forwardTimeoutMs: c.forwardTimeoutMs, http: { host: '127.0.0.1', port: 1 } }, table);
    assert.equal(body.ExternalOn, c.external);
    assert.equal(body.RecurseOn, c.external);
    assert.equal(body.Timeout, c.timeout);
    assert.deepEqual(body.Resolvers, c.resolvers.map((r) => `[${r.host}]:${r.port}`));
  }
});

test('/v1/axfr: the zone\'s A, AAAA and SRV records in Mesos-DNS\' transfer shape', async () => {
  const { status, json } = await get('/v1/axfr');
  assert.equal(status, 200);
  const axfr = json as { TTL: number; Serial: number; RefreshSeconds: number; Mname: string; Rname: string; Domain: string; Records: Record<string, Record<string, string[]>> };
  assert.deepEqual(Object.keys(axfr), ['TTL', 'Serial', 'RefreshSeconds', 'Mname', 'Rname', 'Domain', 'Records']);
  assert.deepEqual([axfr.TTL, axfr.Serial, axfr.RefreshSeconds, axfr.Mname, axfr.Rname, axfr.Domain], [TTL, 42, 60, 'ns1.mesos.', 'root.ns1.mesos.', 'mesos']);
  assert.deepEqual(Object.keys(axfr.Records), ['As', 'AAAAs', 'SRVs']);
  const { As = {}, SRVs = {} } = axfr.Records;
  assert.deepEqual(As['dup.marathon.mesos.'], ['127.0.0.11'], 'one value per distinct address');
  assert.deepEqual([...(As['web.marathon.mesos.'] ?? [])].sort(), ['127.0.0.11', '127.0.0.12']);
  assert.deepEqual([...(SRVs['_dup._tcp.marathon.mesos.'] ?? [])].sort(), [
    `${table.names.get('_dup._tcp.marathon.mesos')?.SRV?.[0]?.target}:31100`,
    `${table.names.get('_dup._tcp.marathon.mesos')?.SRV?.[1]?.target}:31101`,
  ].sort());
  assert.ok(Object.keys(As).every((name) => name.endsWith('.mesos.')), 'reverse (PTR) names are not part of the zone transfer');
});

test('/v1/services echoes the name as asked; /v1/hosts answers the normalised name (table-driven)', async () => {
  const cases: { path: string; service: string }[] = [
    { path: '/v1/services/_dup._tcp.marathon.mesos', service: '_dup._tcp.marathon.mesos' },
    { path: '/v1/services/_DUP._tcp.Marathon.mesos.', service: '_DUP._tcp.Marathon.mesos.' },
    { path: '/v1/services/_dup._tcp.*.marathon.mesos', service: '_dup._tcp.*.marathon.mesos' },
  ];
  for (const c of cases) {
    const rows = (await get(c.path)).json as { service: string; port: string }[];
    assert.deepEqual(rows.map((r) => r.service), [c.service, c.service], c.path);
    assert.deepEqual(rows.map((r) => r.port).sort(), ['31100', '31101'], c.path);
  }
  assert.deepEqual(((await get('/v1/hosts/DUP.marathon.mesos')).json as { host: string }[]).map((r) => r.host), ['dup.marathon.mesos.']);
});

test('/corral/v1/apps/{id}: one app\'s A and SRV records (named ports too), each once; an unknown app has none', async () => {
  const cases: { path: string; instances: number; has: string[]; count?: number }[] = [
    { path: '/corral/v1/apps/dup', instances: 2, has: ['A dup.marathon.mesos 127.0.0.11', 'SRV _dup._tcp.marathon.mesos 31100', 'SRV _dup._tcp.marathon.mesos 31101'] },
    { path: '/corral/v1/apps/prod/backend/api/', instances: 1, has: ['A api-backend-prod.marathon.mesos 127.0.0.11', 'SRV _http._api-backend-prod._tcp.marathon.mesos 31000', 'SRV _api-backend-prod._udp.marathon.mesos 31001'] },
    { path: '/corral/v1/apps/nothing', instances: 0, has: [], count: 0 },
  ];
  for (const c of cases) {
    const { status, json } = await get(c.path);
    assert.equal(status, 200, c.path);
    const body = json as { instances: number; domain: string; records: ({ type: 'A'; name: string; address: string } | { type: 'SRV'; name: string; port: number })[] };
    assert.equal(body.instances, c.instances, c.path);
    assert.equal(body.domain, DOMAIN);
    const rows = body.records.map((r) => `${r.type} ${r.name} ${r.type === 'SRV' ? r.port : r.address}`);
    for (const row of c.has) assert.ok(rows.includes(row), `${c.path}: ${row} in ${rows.join(', ')}`);
    assert.equal(new Set(rows).size, rows.length, 'no record twice');
    if (c.count !== undefined) assert.equal(rows.length, c.count);
  }
});

test('/v1/enumerate lists a record shared by two tasks once, under the first', async () => {
  const { json } = await get('/v1/enumerate');
  const enumeration = json as { frameworks: { name: string; tasks: { id: string; records: { name: string; host: string; rtype: string }[] }[] }[] };
  const rows = enumeration.frameworks.flatMap((f) => f.tasks.flatMap((t) => t.records.map((r) => `${r.rtype} ${r.name} ${r.host}`)));
  assert.deepEqual(rows.filter((r) => r === 'A dup.marathon.mesos. 127.0.0.11'), ['A dup.marathon.mesos. 127.0.0.11']);
  assert.equal(new Set(rows).size, rows.length, 'no row listed twice');
  const dupTasks = enumeration.frameworks.flatMap((f) => f.tasks).filter((t) => t.id.startsWith('dup.'));
  assert.equal(dupTasks.length, 2, 'both tasks are listed');
  assert.ok(dupTasks.every((t) => t.records.some((r) => r.rtype === 'SRV')), 'each keeps its own SRV rows');
});

test('configBody: IPSources is --ip-sources, else Mesos-DNS\' default order (table-driven)', () => {
  const cases: [ConfigFacts['ipSources'], string[]][] = [
    [undefined, ['netinfo', 'mesos', 'host']],
    [['host', 'netinfo'], ['host', 'netinfo']],
  ];
  for (const [ipSources, expected] of cases) {
    const body = configBody({ ...facts, ...(ipSources === undefined ? {} : { ipSources }), http: { host: '127.0.0.1', port: 1 } }, table);
    assert.deepEqual(body.IPSources, expected);
  }
});
