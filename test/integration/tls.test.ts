import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Agent, request, setGlobalDispatcher, getGlobalDispatcher, type Dispatcher } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { clientDispatcher } from '../../src/shared/tls.ts';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { corral } from '../support/cli-run.ts';
import { issueCertificate, makeAuthority, type TestAuthority } from '../support/lb-certs.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * TLS end to end with real processes on 127.0.0.1: a scheduler serving HTTPS (`--tls-cert`,
 * `--tls-key`), an agent joining it with `--ca` and serving its own API over HTTPS, DNS and LB
 * following it with `--ca` (their UDP helper and worker too) while serving their HTTP API and
 * stats port over HTTPS, the CLI with `--ca`/`CORRAL_CA`, and every client without the CA refused.
 */

const dir = tempDir('corral-tls-');
const parts: PartProcess[] = [];
let authority: TestAuthority;
let server: { cert: string; key: string };
let cluster: AgentCluster;
let taskId: string;
let previousDispatcher: Dispatcher;
/** Trusts nothing but the system's authorities: what a client without `--ca` gets. */
const untrusting = new Agent();

const log = (name: string): string => readFileSync(join(dir, `${name}.log`), 'utf8');
const count = (text: string, pattern: RegExp): number => text.split('\n').filter((line) => pattern.test(line)).length;
const tlsArgs = (): string[] => ['--tls-cert', server.cert, '--tls-key', server.key];
const keyBody = (): string => readFileSync(server.key, 'utf8').split('\n')[1] ?? '';

async function getJson(url: string, dispatcher?: Dispatcher): Promise<{ status: number; json: Json }> {
  const response = await request(url, dispatcher === undefined ? {} : { dispatcher });
  return { status: response.statusCode, json: (await response.body.json()) as Json };
}

/** The error a client without the CA gets from `url`. */
async function refusal(url: string): Promise<string> {
  const error = await request(url, { dispatcher: untrusting }).then(() => undefined, (err: unknown) => err as NodeJS.ErrnoException);
  assert.ok(error !== undefined, `${url} answered a client that does not trust its certificate`);
  return `${error.code ?? ''} ${error.message}`;
}

before(async () => {
  authority = makeAuthority(dir);
  server = issueCertificate(authority, dir, ['127.0.0.1', 'localhost']);
  // The cluster helper's calls (undici's global dispatcher) trust the test CA, as `--ca` does.
  previousDispatcher = getGlobalDispatcher();
  setGlobalDispatcher(clientDispatcher(authority.cert));
  cluster = await AgentCluster.start('tls', { schedulerArgs: tlsArgs() });
  const app = { id: '/web', cmd: `echo hello-over-tls; sleep 1000 # ${cluster.marker}`, instances: 1, labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.test' } };
  await cluster.startAgent({ ip: '127.0.0.1', args: ['--ca', authority.cert, ...tlsArgs()] });
  await cluster.postApp(app);
  taskId = String((await cluster.running('/web', 1, 30_000))[0]?.id);
});

after(async () => {
  await stopParts([...parts].reverse(), 5000);
  await cluster?.stop();
  setGlobalDispatcher(previousDispatcher);
  await untrusting.close();
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

test('the scheduler serves HTTPS; an agent joins with --ca, runs a task and serves its own API over HTTPS', { timeout: 60_000 }, async () => {
  assert.match(cluster.master, /^https:\/\/127\.0\.0\.1:\d+$/);
  const [agent] = cluster.agents;
  assert.ok(agent !== undefined);
  assert.match(agent.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/, 'the agent registers an https endpoint');
  const { json } = await getJson(`${cluster.master}/corral/v1/agents`);
  assert.deepEqual(json.agents.map((a: Json) => a.endpoint), [agent.endpoint]);
  assert.equal((await getJson(`${agent.endpoint}/state`)).json.tasks.length, 1);
  // RUNNING is reported once the process is spawned; its first line may come a moment later.
  await waitFor('the task\'s stdout read over HTTPS', async () => (/hello-over-tls/.test(await cluster.readSandboxFile(agent, taskId, 'stdout')) ? true : undefined));
  assert.match(await refusal(`${cluster.master}/v2/info`), /certificate|CERT/i);
  assert.match(await refusal(`${agent.endpoint}/state`), /certificate|CERT/i);
});

test('the CLI trusts --ca or CORRAL_CA, for the scheduler and for the agent (logs); without it the certificate is refused', { timeout: 60_000 }, async () => {
  const withFlag = await corral(['app', 'list', '--json', '--ca', authority.cert], { master: cluster.master });
  assert.equal(withFlag.code, 0, withFlag.stderr);
  assert.deepEqual(JSON.parse(withFlag.stdout).map((a: Json) => a.id), ['/web']);
  const logs = await corral(['logs', taskId], { master: cluster.master, env: { CORRAL_CA: authority.cert } });
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /hello-over-tls/);
  const without = await corral(['app', 'list'], { master: cluster.master });
  assert.equal(without.code, 1);
  assert.match(without.stderr, /certificate/i);
  assert.match(without.stderr, /--ca/);
  const plain = await corral(['app', 'list', '--ca', authority.cert], { master: cluster.master.replace('https:', 'http:') });
  assert.equal(plain.code, 2, 'a plain-HTTP --master with --ca is a usage error');
  assert.match(plain.stderr, /plain HTTP although --ca is given/);
});

test('dns follows the https scheduler with --ca (its UDP helper too) and serves its HTTP API over HTTPS', { timeout: 60_000 }, async () => {
  const dns = await startPart('dns', ['dns', '--master', cluster.master, '--ca', authority.cert, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', '', '--udp-workers', '1', ...tlsArgs()], dir);
  parts.push(dns);
  const http = `https://${String(dns.ready.http)}`;
  const health = await waitFor('dns to read its snapshot', async () => {
    const answer = await getJson(`${http}/v1/health`);
    return answer.json.synced === true ? answer.json : undefined;
  });
  assert.ok(health.eventId > 0);
  const hosts = await getJson(`${http}/v1/hosts/web.marathon.mesos`);
  assert.deepEqual(hosts.json.map((record: Json) => record.ip), ['127.0.0.1']);
  await waitFor('the UDP helper to open its event stream too', async () => (count(log('dns'), /"msg":"event stream open"/) >= 2 ? true : undefined));
  assert.match(await refusal(`${http}/v1/health`), /certificate|CERT/i);
  assert.ok(!log('dns').includes(keyBody()), 'no key material in the log');
});

test('lb follows the https scheduler with --ca (in its worker) and serves the stats port over HTTPS', { timeout: 60_000 }, async () => {
  const lb = await startPart('lb', ['lb', '--master', cluster.master, '--ca', authority.cert, '--http-port', '0', '--https-port', '0', '--app-id-port', '0', '--stats-port', '0', '--workers', '1', ...tlsArgs()], dir);
  parts.push(lb);
  const stats = `https://${String(lb.ready.stats)}`;
  await waitFor('lb to read its snapshot', async () => ((await getJson(`${stats}/_corral/health`)).status === 200 ? true : undefined));
  const routes = await getJson(`${stats}/_corral/routes`);
  assert.ok(routes.json.table.vhosts['web.test'], JSON.stringify(routes.json.table.vhosts));
  assert.match(await refusal(`${stats}/_corral/health`), /certificate|CERT/i);
});

test('a follower without --ca is refused by the https scheduler: it says why and serves nothing', { timeout: 60_000 }, async () => {
  const dns = await startPart('dns-untrusting', ['dns', '--master', cluster.master, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', ''], dir);
  parts.push(dns);
  await waitFor('the certificate refusal in the log', async () => (count(log('dns-untrusting'), /"msg":"cannot read snapshot: the scheduler's certificate is not trusted; give the CA that signed it with --ca"/) >= 1 ? true : undefined));
  const health = await getJson(`http://${String(dns.ready.http)}/v1/health`);
  assert.equal(health.json.synced, false);
});

test('bad TLS settings stop the start with a clear error naming the flag and the file, never the key', { timeout: 60_000 }, async () => {
  const scheduler = (name: string, ...extra: string[]): Promise<PartProcess> =>
    startPart(name, ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', join(dir, name), ...extra], dir);
  await assert.rejects(scheduler('missing-cert', '--tls-cert', join(dir, 'absent.crt'), '--tls-key', server.key), /exited \(1\)/);
  assert.match(log('missing-cert'), /--tls-cert: .*absent\.crt: cannot read the certificate \(ENOENT\)/);
  await assert.rejects(scheduler('key-alone', '--tls-key', server.key), /exited \(1\)/);
  assert.match(log('key-alone'), /--tls-cert: missing: --tls-key needs --tls-cert/);
  await assert.rejects(scheduler('wrong-key', '--tls-cert', server.cert, '--tls-key', authority.key), /exited \(1\)/);
  assert.match(log('wrong-key'), /--tls-key: .*corral-test-ca\.key is not the private key of .*127\.0\.0\.1-server\.crt/);
  await assert.rejects(scheduler('key-as-cert', '--tls-cert', server.key, '--tls-key', server.key), /exited \(1\)/);
  assert.match(log('key-as-cert'), /--tls-cert: .*not a PEM certificate/);
  for (const name of ['missing-cert', 'key-alone', 'wrong-key', 'key-as-cert']) assert.ok(!log(name).includes(keyBody()), `${name}: no key material in the log`);
  await assert.rejects(startPart('lb-plain', ['lb', '--master', cluster.master.replace('https:', 'http:'), '--ca', authority.cert, '--stats-port', '0', '--no-http-https'], dir), /exited \(1\)/);
  assert.match(log('lb-plain'), /--master: http:\/\/127\.0\.0\.1:\d+ is plain HTTP although --ca is given: use https:\/\//);
});
