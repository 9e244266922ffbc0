import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { rmSync } from 'node:fs';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { DiscoveryStandIn, statusUpdate, syntheticSnapshot } from '../support/discovery-stand-in.ts';
import { dig, digStatus, lines } from '../support/dns-fixtures.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * A live `corral dns` following a scheduler that speaks only the discovery contract: records
 * from the snapshot (apps, leader, agents), changes from events as they arrive, the HTTP API in
 * Mesos-DNS shapes, and what happens when the scheduler goes away.
 */

const dir = tempDir('corral-dns-follow-');
let scheduler: DiscoveryStandIn;
let dns: PartProcess;
let port: number;
let http: string;

// Response bodies are checked field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const get = async (path: string): Promise<{ status: number; json: any; text: string; type: string }> => {
  const response = await request(`${http}${path}`);
  const text = await response.body.text();
  return { status: response.statusCode, json: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : undefined, text, type: String(response.headers['content-type']) };
};

before(async () => {
  const snapshot = { ...syntheticSnapshot(2, 2), leader: '127.0.0.3:8080', masters: ['127.0.0.3:8080'], agents: [{ id: 'a-S9', hostname: 'idle', ip: '127.0.0.99' }] };
  scheduler = await DiscoveryStandIn.start(snapshot);
  dns = await startPart('dns', ['dns', '--master', scheduler.url, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', '', '--ttl', '30'], dir);
  port = Number(String(dns.ready.dns).split(':')[1]);
  http = `http://${String(dns.ready.http)}`;
  await waitFor('the first snapshot served', async () => (digStatus(await dig(port, ['app-0.marathon.mesos'])) === 'NOERROR' ? true : undefined));
});

after(async () => {
  if (dns !== undefined) await stopParts([dns], 5000);
  await scheduler?.close();
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

test('cluster names: leader, master, _leader SRV, slave, PTR', async () => {
  assert.deepEqual(lines(await dig(port, ['+short', 'leader.mesos'])), ['127.0.0.3']);
  assert.deepEqual(lines(await dig(port, ['+short', 'master0.mesos'])), ['127.0.0.3']);
  assert.deepEqual(lines(await dig(port, ['+short', 'SRV', '_leader._tcp.mesos'])), ['0 1 8080 leader.mesos.']);
  // The snapshot's agents alone: a scheduler that names its agents is the authority on them.
  assert.deepEqual(lines(await dig(port, ['+short', 'slave.mesos'])), ['127.0.0.99']);
  const ptr = lines(await dig(port, ['+short', '-x', '127.2.0.1']));
  assert.equal(ptr.length, 1);
  assert.match(ptr[0] ?? '', /^app-0-[a-z0-9]{5}-s0\.marathon\.mesos\.$/);
  const forward = lines(await dig(port, ['+short', (ptr[0] ?? '').replace(/\.$/, '')]));
  assert.deepEqual(forward, ['127.2.0.1'], 'the PTR target resolves back to the IP');
});

test('events are served as they arrive: a new instance, then it fails', async () => {
  scheduler.publish(statusUpdate({ id: 'app-1.new', appId: '/app-1', host: '127.0.0.77', ports: [31777] }, 'TASK_RUNNING'));
  await waitFor('the new instance', async () => (lines(await dig(port, ['+short', 'app-1.marathon.mesos'])).includes('127.0.0.77') ? true : undefined));
  assert.ok(lines(await dig(port, ['+short', 'SRV', '_http._app-1._tcp.marathon.mesos'])).some((l) => l.startsWith('0 1 31777 ')));
  scheduler.publish(statusUpdate({ id: 'app-1.new', appId: '/app-1', host: '127.0.0.77' }, 'TASK_FAILED'));
  await waitFor('the failed instance gone', async () => (lines(await dig(port, ['+short', 'app-1.marathon.mesos'])).includes('127.0.0.77') ? undefined : true));
});

test('HTTP API: version, config, hosts, services, enumerate in Mesos-DNS shapes', async () => {
  assert.deepEqual(Object.keys((await get('/v1/version')).json).sort(), ['Service', 'URL', 'Version']);
  const config = (await get('/v1/config')).json;
  assert.equal(config.TTL, 30);
  assert.equal(config.EnforceRFC952, false);
  assert.deepEqual((await get('/v1/hosts/leader.mesos')).json, [{ host: 'leader.mesos.', ip: '127.0.0.3' }]);
  const services = (await get('/v1/services/_app-0._tcp.marathon.mesos.')).json as { service: string; host: string; ip: string; port: string }[];
  assert.equal(services.length, 2);
  for (const row of services) assert.deepEqual(Object.keys(row).sort(), ['host', 'ip', 'port', 'service']);

  const enumeration = (await get('/v1/enumerate')).json;
  assert.equal(enumeration.frameworks.length, 1);
  assert.equal(enumeration.frameworks[0].name, 'marathon');
  const task = enumeration.frameworks[0].tasks.find((t: { id: string }) => t.id === 'app-0.0');
  assert.equal(task.name, 'app-0');
  assert.ok(task.records.some((r: { name: string; host: string; rtype: string }) => r.name === 'app-0.marathon.mesos.' && r.host === '127.2.0.1' && r.rtype === 'A'));
  assert.ok(task.records.some((r: { name: string; host: string; rtype: string }) => r.name === '_app-0._tcp.marathon.mesos.' && /\.marathon\.mesos\.:20000$/.test(r.host) && r.rtype === 'SRV'));
});

test('/metrics: queries by type and rcode, table size, last change age', async () => {
  await dig(port, ['nope.marathon.mesos']);
  const metrics = await get('/metrics');
  assert.match(metrics.type, /text\/plain/);
  assert.match(metrics.text, /corral_dns_queries_total\{type="A",rcode="NXDOMAIN",transport="udp"\} [1-9]/);
  assert.match(metrics.text, /corral_dns_queries_total\{type="SRV",rcode="NOERROR",transport="udp"\} [1-9]/);
  assert.match(metrics.text, /corral_dns_table_instances 4\b/);
  assert.match(metrics.text, /corral_dns_table_names [1-9]\d*/);
  assert.match(metrics.text, /corral_dns_last_change_age_seconds \d/);
  assert.match(metrics.text, /corral_dns_forwarded_total\{result="failed"\} 0/);
});

test('losing the scheduler: the last table keeps serving, /v1/health reports the staleness', async () => {
  // While the event stream is open the table is current, events or not: a quiet second later
  // it is still not stale (time has to pass for this to show anything).
  const quiet = (await get('/v1/health')).json;
  await sleep(1200);
  const later = (await get('/v1/health')).json;
  assert.equal(later.eventId, quiet.eventId, 'no event meanwhile');
  assert.ok(later.staleSeconds < 0.5, `connected, yet ${String(later.staleSeconds)} s stale`);
  const before = later;
  scheduler.publish(statusUpdate({ id: 'app-0.0', appId: '/app-0', host: '127.2.0.1', ports: [20000] }, 'TASK_RUNNING'));
  const fresh = await waitFor('the event applied', async () => {
    const health = (await get('/v1/health')).json;
    return health.eventId > before.eventId ? health : undefined;
  });
  assert.equal(fresh.synced, true);
  assert.ok(fresh.staleSeconds < 5, JSON.stringify(fresh));
  await scheduler.close();
  const stale = await waitFor('staleness to grow', async () => {
    const health = (await get('/v1/health')).json;
    return health.staleSeconds > fresh.staleSeconds + 0.5 ? health : undefined;
  });
  assert.equal(stale.synced, true, 'still synced: it has a table, just an ageing one');
  assert.equal(lines(await dig(port, ['+short', 'app-0.marathon.mesos'])).length, 2);
  assert.match((await get('/metrics')).text, /corral_dns_stale_seconds (\d*\.)?\d+/);
});
