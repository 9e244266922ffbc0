import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { corral } from '../support/cli-run.ts';
import { startCorral, type RunningCorral } from '../support/corral-up.ts';
import { dig } from '../support/dig.ts';
import { httpGet } from '../support/lb-fixtures.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { pidsOf } from '../support/processes.ts';
import { waitFor } from '../support/wait.ts';

/**
 * `corral up` runs with auth on: the admin token lands in `<data dir>/admin.token`, the CLI uses it,
 * DNS and LB follow with a read-only token of their own, and a second `up` over the same data dir
 * reuses both tokens instead of piling up identities and tokens.
 */

const MARKER = `corral-up-auth-${randomUUID()}`;
const SERVER = `exec node -e "const m='${MARKER}'; require('http').createServer((q, r) => r.end('hi from ' + process.env.MARATHON_APP_ID)).listen(+process.env.PORT0, process.env.HOST)"`;
const dataDir = mkdtempSync(join(tmpdir(), 'corral-up-auth-'));
const appFile = join(dataDir, 'app.json');
let running: RunningCorral | undefined;

after(async () => {
  await running?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  await waitFor('no task process left', () => (pidsOf(MARKER).length === 0 ? true : undefined), 10_000);
});

const read = (name: string): string => readFileSync(join(dataDir, name), 'utf8').trim();
const mode = (name: string): number => statSync(join(dataDir, name)).mode & 0o777;

async function reachable(stack: RunningCorral): Promise<void> {
  const [dnsHost = '', dnsPort = ''] = stack.urls.dns.split(':');
  await waitFor('web.marathon.mesos in DNS', async () => ((await dig(`${dnsHost}:${dnsPort}`, 'web.marathon.mesos')).answer.some((r) => r[3] === 'A') ? true : undefined), 30_000);
  const body = await waitFor('web behind its vhost', async () => {
    const answer = await httpGet(Number(new URL(stack.urls.lbHttp).port), '/', { host: 'web.auth.test' });
    return answer.status === 200 ? answer.body : undefined;
  }, 30_000);
  assert.equal(body, 'hi from /web');
}

test('corral up: auth on, the CLI with the admin token file deploys, DNS and LB follow; a second up reuses the tokens', { timeout: 180_000 }, async () => {
  running = await startCorral(['--agents', '1'], { dataDir });
  const master = running.urls.scheduler;
  assert.equal(mode('admin.token'), 0o600);
  assert.equal(mode('followers.token'), 0o600);
  assert.equal(running.token, read('admin.token'));

  assert.equal((await marathonCall(master, 'GET', '/v2/apps')).status, 401, 'no token, no apps');
  const refused = await corral(['app', 'list'], { master });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /HTTP 401/);
  assert.match(refused.stderr, /--token/);

  writeFileSync(appFile, JSON.stringify({
    id: '/web', cmd: SERVER, cpus: 0.1, mem: 64, instances: 1,
    portDefinitions: [{ port: 0, protocol: 'tcp' }], labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: 'web.auth.test' },
  }));
  const added = await corral(['app', 'add', appFile, '--token-file', join(dataDir, 'admin.token')], { master, timeoutMs: 60_000 });
  assert.equal(added.code, 0, added.stderr);
  const listed = await corral(['app', 'list', '--json'], { master, env: { CORRAL_TOKEN: read('admin.token') } });
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual((JSON.parse(listed.stdout) as Array<{ id: string }>).map((a) => a.id), ['/web']);
  assert.ok(!`${added.stdout}${added.stderr}${listed.stderr}`.includes(read('admin.token')), 'the token is never printed');
  await reachable(running);

  // Prometheus scrapes every agent's /metrics with <data dir>/metrics.token; it opens nothing else.
  assert.equal(mode('metrics.token'), 0o600);
  const fromAgent = async (url: string, headers: Record<string, string> = {}): Promise<[number, string]> => {
    const answer = await request(url, { headers });
    return [answer.statusCode, await answer.body.text()];
  };
  for (const agent of running.urls.agents) {
    const scrape = { authorization: `Bearer ${read('metrics.token')}` };
    assert.equal((await fromAgent(`${agent}/metrics`))[0], 401, `${agent}/metrics without a token`);
    const [status, text] = await fromAgent(`${agent}/metrics`, scrape);
    assert.equal(status, 200, `${agent}/metrics with the scrape token`);
    assert.match(text, /^# (HELP|TYPE) /m);
    assert.equal((await fromAgent(`${agent}/state`, scrape))[0], 401, `${agent}/state`);
  }

  const admin = read('admin.token');
  const followers = read('followers.token');
  const tokens = async (stack: RunningCorral): Promise<Array<{ id: string; identityId: string; revokedAt?: number }>> =>
    (await marathonCall(stack.urls.scheduler, 'GET', '/v2/auth/tokens', undefined, stack.token)).json.tokens;
  assert.deepEqual((await tokens(running)).map((t) => t.identityId).sort(), ['admin', 'corral-up-followers']);
  assert.equal(await running.stop(), 0);

  running = await startCorral(['--agents', '1'], { dataDir });
  assert.equal(read('admin.token'), admin, 'the admin token is kept');
  assert.equal(read('followers.token'), followers, 'a still-valid followers token is kept');
  assert.equal((await tokens(running)).length, 2, 'no new token');
  await reachable(running);

  // A revoked followers token is replaced by one new token of the same identity.
  const [followersId] = followers.split('.');
  assert.equal((await marathonCall(running.urls.scheduler, 'DELETE', `/v2/auth/tokens/${String(followersId)}`, undefined, running.token)).status, 200);
  assert.equal(await running.stop(), 0);
  running = await startCorral(['--agents', '1'], { dataDir });
  assert.notEqual(read('followers.token'), followers);
  const after3 = await tokens(running);
  assert.deepEqual(after3.filter((t) => t.revokedAt === undefined).map((t) => t.identityId).sort(), ['admin', 'corral-up-followers']);
  assert.equal(after3.length, 3);
  assert.equal(await running.stop(), 0);
  running = undefined;
});

test('corral up --no-auth: the scheduler answers without a token and no token file is written', { timeout: 60_000 }, async () => {
  const open = await startCorral(['--agents', '1', '--no-auth']);
  try {
    assert.equal(open.token, undefined);
    assert.equal((await marathonCall(open.urls.scheduler, 'GET', '/v2/apps')).status, 200);
  } finally {
    assert.equal(await open.stop(), 0);
  }
});
