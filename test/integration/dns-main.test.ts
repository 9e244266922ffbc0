import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { startDns } from '../../src/dns/main.ts';
import { dig } from '../support/dig.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';
import { pidsOf } from '../support/processes.ts';

/**
 * `corral dns` against a real scheduler and agent: unsynced until the scheduler comes up on the
 * port it was given, then names for the tasks an app runs, over DNS (dig) and the HTTP API.
 */

// Each task is a tiny HTTP server; the marker lets teardown find any process that outlives its agent.
const MARKER = `corral-dns-it-${randomUUID()}`;
const SERVER = `exec node -e "const m='${MARKER}'; require('http').createServer((q, r) => r.end('ok')).listen(+process.env.PORT0, process.env.HOST)"`;
const AGENT_IP = '127.0.0.11';

const dir = tempDir('corral-dns-it-');
/** Every process started, stopped in reverse order at teardown (agents before the scheduler). */
const parts: PartProcess[] = [];
let schedulerPort: number;
let master: string;
let dns: PartProcess;
let late: PartProcess | undefined;

interface Task { id: string; host: string; ports: number[]; state: string }
// Response bodies are checked field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const response = await request(`${base}${path}`, {
    method: method as 'GET',
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.statusCode, json: await response.body.json() };
}

const api = (method: string, path: string, body?: unknown) => call(master, method, path, body);
const dnsHttp = (path: string) => call(`http://${String(dns.ready.http)}`, 'GET', path);
const dnsAddress = (): string => String(dns.ready.dns);
const runningTasks = async (n: number): Promise<Task[] | undefined> => {
  const tasks = (await api('GET', '/v2/apps/web/tasks')).json.tasks as Task[];
  return tasks.length === n && tasks.every((t) => t.state === 'TASK_RUNNING') ? tasks : undefined;
};
const srvPorts = async (): Promise<number[]> => (await dig(dnsAddress(), '_web._tcp.marathon.mesos', 'SRV')).answer.map((r) => Number(r[6])).sort();
const readyLines = (name: string): number => readFileSync(join(dir, `${name}.log`), 'utf8').split('\n').filter((l) => l.includes('"msg":"ready"')).length;

before(async () => {
  // The scheduler is not up yet: dns must start anyway and say it is not synced.
  schedulerPort = await freePort();
  master = `http://127.0.0.1:${schedulerPort}`;
  dns = await startPart('dns', ['dns', '--master', master, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', ''], dir);
  parts.push(dns);
});

after(async () => {
  for (const part of [...parts].reverse()) await stopParts([part], 5000);
  const strays = pidsOf(MARKER);
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(strays, [], 'no task process outlives its agent');
});

test('before the first snapshot: bound addresses in the ready line, SERVFAIL and /v1/health 503', async () => {
  assert.match(dnsAddress(), /^127\.0\.0\.1:[1-9]\d*$/);
  assert.match(String(dns.ready.http), /^127\.0\.0\.1:[1-9]\d*$/);
  // The domain says SERVFAIL rather than NXDOMAIN: it does not know yet that a name is absent.
  assert.equal((await dig(dnsAddress(), 'web.marathon.mesos')).status, 'SERVFAIL');
  const health = await dnsHttp('/v1/health');
  assert.equal(health.status, 503);
  assert.deepEqual({ ...health.json, serial: undefined }, { synced: false, eventId: 0, staleSeconds: null, lastContact: null, serial: undefined, names: 1, snapshots: 0 });
});

test('syncs once the scheduler is up; names follow the tasks an app runs', async () => {
  parts.push(await startPart('scheduler', ['scheduler', '--listen', `127.0.0.1:${schedulerPort}`, '--data-dir', join(dir, 'scheduler')], dir));
  const portsBase = 20000 + 1000 * Math.floor(Math.random() * 10);
  const agentArgs = ['agent', '--master', master, '--ip', AGENT_IP, '--work-dir', join(dir, 'agent'), '--resources', `cpus:2;mem:1024;ports:[${portsBase}-${portsBase + 99}]`];
  const agent = startPart('agent', agentArgs, dir);

  const synced = await waitFor('dns to read its first snapshot', async () => {
    const health = await dnsHttp('/v1/health');
    return health.status === 200 ? health.json : undefined;
  });
  assert.equal(synced.synced, true);
  assert.equal(typeof synced.staleSeconds, 'number');
  // Synced and empty: now the name is known to be absent.
  assert.equal((await dig(dnsAddress(), 'web.marathon.mesos')).status, 'NXDOMAIN');

  parts.push(await agent);
  const app = { id: '/web', cmd: SERVER, cpus: 0.1, mem: 128, instances: 1, portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http' }] };
  assert.equal((await api('POST', '/v2/apps', app)).status, 201);
  const [first] = await waitFor('one running task', () => runningTasks(1));
  await waitFor('the A record', async () => {
    const answer = (await dig(dnsAddress(), 'web.marathon.mesos')).answer;
    return answer.length === 1 && answer[0]?.[4] === AGENT_IP ? true : undefined;
  });
  assert.deepEqual(await srvPorts(), [first?.ports[0]]);

  // A change arrives as events: the second instance's port shows up in SRV.
  assert.equal((await api('PUT', '/v2/apps/web', { instances: 2 })).status, 200);
  const two = await waitFor('two running tasks', () => runningTasks(2));
  const expected = two.map((t) => t.ports[0]).sort();
  await waitFor('both SRV records', async () => (JSON.stringify(await srvPorts()) === JSON.stringify(expected) ? true : undefined));

  // /v1/health counts the discovery events applied (a subset of the scheduler's events).
  const [health, snapshot] = await Promise.all([dnsHttp('/v1/health'), api('GET', '/corral/v1/discovery')]);
  assert.ok(health.json.eventId > 0 && health.json.eventId <= snapshot.json.eventId, JSON.stringify([health.json, snapshot.json.eventId]));
});

test('the HTTP API answers in Mesos-DNS shapes, errors as JSON', async () => {
  const tasks = (await api('GET', '/v2/apps/web/tasks')).json.tasks as Task[];
  assert.deepEqual(tasks.map((t) => t.state), ['TASK_RUNNING', 'TASK_RUNNING'], 'the app from the previous test runs');
  const version = await dnsHttp('/v1/version');
  assert.equal(version.status, 200);
  assert.equal(version.json.Service, 'Mesos-DNS');

  const hosts = (await dnsHttp('/v1/hosts/web.marathon.mesos')).json as { host: string; ip: string }[];
  assert.ok(hosts.some((row) => row.host === 'web.marathon.mesos.' && row.ip === AGENT_IP), JSON.stringify(hosts));
  assert.deepEqual((await dnsHttp('/v1/hosts/nope.marathon.mesos')).json, [{ host: '', ip: '' }]);

  // The named port gets its own SRV name, as in Mesos-DNS.
  const services = (await dnsHttp('/v1/services/_http._web._tcp.marathon.mesos')).json as { service: string; port: string; ip: string }[];
  for (const task of tasks) {
    assert.ok(services.some((row) => row.service === '_http._web._tcp.marathon.mesos' && row.port === String(task.ports[0]) && row.ip === AGENT_IP), JSON.stringify(services));
  }
  assert.deepEqual((await dnsHttp('/v1/services/_nope._tcp.marathon.mesos')).json, [{ service: '', host: '', ip: '', port: '' }]);

  const config = (await dnsHttp('/v1/config')).json;
  assert.deepEqual([config.Domain, config.Port, config.HttpPort, config.ExternalOn], ['mesos', Number(dnsAddress().split(':')[1]), Number(String(dns.ready.http).split(':')[1]), false]);
  const axfr = (await dnsHttp('/v1/axfr')).json;
  assert.deepEqual(axfr.Records.As['web.marathon.mesos.'], [AGENT_IP]);

  // The scheduler's snapshot names the leader and the agents; instance IPs resolve back (PTR).
  assert.deepEqual((await dig(dnsAddress(), 'leader.mesos')).answer.map((r) => r[4]), ['127.0.0.1']);
  assert.deepEqual((await dig(dnsAddress(), '_leader._tcp.mesos', 'SRV')).answer.map((r) => r.slice(4).join(' ')), [`0 1 ${schedulerPort} leader.mesos.`]);
  assert.deepEqual((await dig(dnsAddress(), 'slave.mesos')).answer.map((r) => r[4]), [AGENT_IP]);
  // Mesos-DNS' framework names: Marathon's is the leading scheduler.
  assert.deepEqual((await dig(dnsAddress(), 'marathon.mesos')).answer.map((r) => r[4]), ['127.0.0.1']);
  assert.deepEqual((await dig(dnsAddress(), '_framework._tcp.marathon.mesos', 'SRV')).answer.map((r) => r.slice(4).join(' ')), [`0 1 ${schedulerPort} marathon.mesos.`]);
  const reverse = `${AGENT_IP.split('.').reverse().join('.')}.in-addr.arpa`;
  const ptr = (await dig(dnsAddress(), reverse, 'PTR')).answer.map((r) => r[4]).sort();
  const canonical = (await dig(dnsAddress(), '_web._tcp.marathon.mesos', 'SRV')).answer.map((r) => r[7]).sort();
  assert.deepEqual(ptr, canonical, 'one PTR per instance on the agent IP, naming its canonical name');
  const missing = await dnsHttp('/v1/nothing');
  assert.equal(missing.status, 404);
  assert.match(missing.json.message, /no route/);
});

test('bad settings and busy ports are rejected before anything listens', async () => {
  const settings = { master, listen: '127.0.0.1:0', http: '127.0.0.1:0', domain: 'mesos', resolvers: '', ttl: '60', logLevel: 'silent' };
  await assert.rejects(startDns({ ...settings, listen: 'nope' }), /--listen/);
  await assert.rejects(startDns({ ...settings, listen: dnsAddress() }), /EADDRINUSE/);
  await assert.rejects(startDns({ ...settings, http: String(dns.ready.http) }), /EADDRINUSE/);
});

test('a dns started later answers from its first snapshot', async () => {
  late = await startPart('dns-late', ['dns', '--master', master, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', ''], dir);
  parts.push(late);
  const answer = await waitFor('the A record from the snapshot', async () => {
    const result = await dig(String(late?.ready.dns), 'web.marathon.mesos');
    return result.status === 'NOERROR' ? result.answer : undefined;
  });
  assert.deepEqual([...new Set(answer.map((r) => r[4]))], [AGENT_IP]);
});

test('SIGTERM stops corral dns with exit 0, after exactly one ready line', async () => {
  for (const [name, part] of [['dns', dns], ['dns-late', late]] as const) {
    assert.ok(part, `${name} was started`);
    part.child.kill('SIGTERM');
    assert.equal(await part.exited, 0, `${name} exits 0`);
    assert.equal(readyLines(name), 1, `${name} logged one ready line`);
  }
});
