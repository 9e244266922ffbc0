import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { httpGet } from '../support/lb-fixtures.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * `corral dns` and `corral lb` against a real `corral scheduler --auth`: with a read-only service
 * token (`--token-file`) they follow the cluster, their helper processes too; without one, or with
 * a token whose identity may not read, they log the refusal once and serve nothing new.
 */

const dir = tempDir('corral-followers-auth-');
const parts: PartProcess[] = [];
let master: string;
let admin: string;
let readerToken: string;
let readerFile: string;
let ungrantedFile: string;

// Response bodies are checked field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const response = await request(`${master}${path}`, {
    method: method as 'GET',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.statusCode, json: await response.body.json() };
}

async function tokenFileFor(identity: string, grant: boolean): Promise<{ file: string; token: string }> {
  assert.equal((await call('POST', '/v2/auth/identities', { id: identity, kind: 'service' })).status, 201);
  if (grant) assert.equal((await call('POST', '/v2/auth/grants', { identity, actions: ['read'], path: '/' })).status, 201);
  const issued = await call('POST', '/v2/auth/tokens', { identity });
  assert.equal(issued.status, 201);
  const file = join(dir, `${identity}.token`);
  writeFileSync(file, `${String(issued.json.token)}\n`, { mode: 0o600 });
  return { file, token: String(issued.json.token) };
}

const log = (name: string): string => readFileSync(join(dir, `${name}.log`), 'utf8');
const count = (text: string, pattern: RegExp): number => text.split('\n').filter((line) => pattern.test(line)).length;
const dnsArgs = (...extra: string[]): string[] => ['dns', '--master', master, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', '', ...extra];
const lbArgs = (...extra: string[]): string[] => ['lb', '--master', master, '--http-port', '0', '--https-port', '0', '--app-id-port', '0', '--stats-port', '0', '--group', 'external', ...extra];
const dnsHealth = async (dns: PartProcess): Promise<Json> => JSON.parse((await httpGet(Number(String(dns.ready.http).split(':')[1]), '/v1/health')).body);
const lbGet = async (lb: PartProcess, path: string): Promise<{ status: number; body: Json }> => {
  const answer = await httpGet(Number(String(lb.ready.stats).split(':')[1]), path);
  return { status: answer.status, body: JSON.parse(answer.body) };
};

before(async () => {
  const scheduler = await startPart('scheduler', ['scheduler', '--auth', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler')], dir);
  parts.push(scheduler);
  master = String(scheduler.ready.api);
  admin = readFileSync(join(dir, 'scheduler', 'admin.token'), 'utf8').trim();
  ({ file: readerFile, token: readerToken } = await tokenFileFor('discovery', true));
  ({ file: ungrantedFile } = await tokenFileFor('stranger', false));
  const app = { id: '/web', cmd: 'sleep 1000', cpus: 0.1, mem: 16, instances: 0, labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.test' } };
  assert.equal((await call('POST', '/v2/apps', app)).status, 201);
});

after(async () => {
  await stopParts([...parts].reverse(), 5000);
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

const secret = (): string => readerToken.split('.')[1] ?? readerToken;

test('dns --token-file: the main process and its UDP helpers follow the scheduler; the token is never logged', { timeout: 60_000 }, async () => {
  const dns = await startPart('dns', dnsArgs('--token-file', readerFile, '--udp-workers', '1'), dir);
  parts.push(dns);
  const health = await waitFor('dns to read its snapshot', async () => {
    const answer = await dnsHealth(dns);
    return answer.synced === true ? answer : undefined;
  });
  assert.ok(health.eventId > 0, 'the snapshot holds the app posted');
  await waitFor('the UDP helper to read its snapshot too', async () => (count(log('dns'), /"msg":"event stream open"/) >= 2 ? true : undefined));
  assert.equal(count(log('dns'), /refused/), 0);
  assert.ok(!log('dns').includes(secret()), 'the token is not in the log');
});

test('lb --token-file: every worker gets the routing table (the vhost of the app)', { timeout: 60_000 }, async () => {
  // With workers, the workers follow and the primary only asks them.
  const lb = await startPart('lb', lbArgs('--token-file', readerFile, '--workers', '2'), dir);
  parts.push(lb);
  await waitFor('lb to read its snapshot', async () => ((await lbGet(lb, '/_corral/health')).status === 200 ? true : undefined));
  const routes = await lbGet(lb, '/_corral/routes');
  assert.ok(routes.body.table.vhosts['web.test'], JSON.stringify(routes.body.table.vhosts));
  await waitFor('both workers to open their event streams', async () => (count(log('lb'), /"msg":"event stream open"/) >= 2 ? true : undefined));
  assert.equal(count(log('lb'), /refused/), 0);
  assert.ok(!log('lb').includes(secret()), 'the token is not in the log');
});

test('without a token: dns and lb log the 401 once, keep retrying, and serve nothing', { timeout: 60_000 }, async () => {
  const dns = await startPart('dns-anonymous', [...dnsArgs(), '--log-level', 'debug'], dir);
  parts.push(dns);
  const lb = await startPart('lb-anonymous', [...lbArgs(), '--log-level', 'debug'], dir);
  parts.push(lb);
  for (const name of ['dns-anonymous', 'lb-anonymous']) {
    await waitFor(`${name} to retry twice after the refusal`, async () => (count(log(name), /still refuses the follower/) >= 2 ? true : undefined));
    const refusals = count(log(name), /"level":50.*HTTP 401\): the scheduler requires authentication: give a read-only token with --token-file/);
    assert.equal(refusals, 1, `${name}: one error line per run of refusals, not one per retry`);
  }
  const health = await dnsHealth(dns);
  assert.deepEqual({ synced: health.synced, eventId: health.eventId }, { synced: false, eventId: 0 });
  assert.equal((await lbGet(lb, '/_corral/health')).status, 503);
  assert.deepEqual((await lbGet(lb, '/_corral/routes')).body.table?.vhosts ?? {}, {});
});

test('a token whose identity has no grant: the follower syncs and serves none of the apps (a team token serves its own)', { timeout: 60_000 }, async () => {
  const lb = await startPart('lb-stranger', lbArgs('--token-file', ungrantedFile), dir);
  parts.push(lb);
  await waitFor('lb to read its (filtered) snapshot', async () => ((await lbGet(lb, '/_corral/health')).status === 200 ? true : undefined));
  assert.deepEqual((await lbGet(lb, '/_corral/routes')).body.table?.vhosts ?? {}, {}, 'web.test is not its to serve');
});

test('an unreadable --token-file stops the start with a clear error', { timeout: 60_000 }, async () => {
  await assert.rejects(startPart('dns-no-file', dnsArgs('--token-file', join(dir, 'absent.token')), dir), /exited \(1\)/);
  assert.match(log('dns-no-file'), /--token-file: .*absent\.token: cannot read the token file \(ENOENT\)/);
  await assert.rejects(startPart('lb-no-file', lbArgs('--token-file', join(dir, 'absent.token')), dir), /exited \(1\)/);
  assert.match(log('lb-no-file'), /--token-file: .*absent\.token: cannot read the token file \(ENOENT\)/);
});
