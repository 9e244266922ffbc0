import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Agent, getGlobalDispatcher, request, setGlobalDispatcher } from 'undici';
import { clientDispatcher } from '../../src/shared/tls.ts';
import { corral } from '../support/cli-run.ts';
import { startCorral, type RunningCorral } from '../support/corral-up.ts';
import { dig } from '../support/dig.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { pidsOf } from '../support/processes.ts';
import { waitFor } from '../support/wait.ts';

/**
 * `corral up --tls`: a CA and a loopback certificate made once in the data dir; the scheduler,
 * agents, DNS HTTP API and LB stats serve HTTPS, agents, DNS and LB follow the scheduler trusting
 * the CA, the CLI works with it, and a second run reuses the same CA.
 */

const MARKER = `corral-up-tls-${randomUUID()}`;
const dataDir = mkdtempSync(join(tmpdir(), 'corral-up-tls-'));
const ca = join(dataDir, 'ca.pem');
const previous = getGlobalDispatcher();
/** Trusts nothing but the system's authorities. */
const untrusting = new Agent();
let running: RunningCorral | undefined;
let trusting: Agent | undefined;

after(async () => {
  await running?.stop();
  setGlobalDispatcher(previous);
  await untrusting.close();
  await trusting?.close();
  rmSync(dataDir, { recursive: true, force: true });
  await waitFor('no task process left', () => (pidsOf(MARKER).length === 0 ? true : undefined), 10_000);
});

const mode = (name: string): number => statSync(join(dataDir, name)).mode & 0o777;

async function status(url: string, dispatcher: Agent, headers: Record<string, string> = {}): Promise<number> {
  const response = await request(url, { dispatcher, headers });
  await response.body.dump();
  return response.statusCode;
}

test('corral up --tls: every part over HTTPS with the data dir\'s CA; agents, DNS and the CLI reach the scheduler; a second up reuses the CA', { timeout: 180_000 }, async () => {
  running = await startCorral(['--agents', '1', '--tls'], { dataDir });
  const { scheduler, dnsHttp, lbStats, dns } = running.urls;
  for (const url of [scheduler, dnsHttp, lbStats]) assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(mode('ca.key'), 0o600);
  assert.equal(mode('tls-key.pem'), 0o600);
  const caPem = readFileSync(ca, 'utf8');

  // Trusting only ca.pem, the handshake succeeds: the certificate is the CA's.
  trusting = clientDispatcher(ca);
  setGlobalDispatcher(trusting);
  assert.equal(await status(`${scheduler}/v2/apps`, trusting, running.auth), 200);
  await assert.rejects(status(`${scheduler}/v2/apps`, untrusting, running.auth), /certificate|CERT/i);
  await assert.rejects(status(`${scheduler.replace('https:', 'http:')}/v2/apps`, untrusting, running.auth), 'plain HTTP is refused');
  assert.equal(await status(`${lbStats}/_corral/health`, trusting), 200);

  const added = await marathonCall(scheduler, 'POST', '/v2/apps', { id: '/web', cmd: `sleep 1000 # ${MARKER}`, cpus: 0.1, mem: 32, instances: 1 }, running.token);
  assert.equal(added.status, 201, JSON.stringify(added.json));
  await waitFor('/web running on the agent', async () => {
    const tasks = (await marathonCall(scheduler, 'GET', '/v2/apps/web/tasks', undefined, running?.token)).json.tasks as Array<{ state: string }>;
    return tasks.some((task) => task.state === 'TASK_RUNNING') ? true : undefined;
  }, 30_000);
  await waitFor('web.marathon.mesos in DNS', async () => ((await dig(dns, 'web.marathon.mesos')).answer.some((r) => r[3] === 'A') ? true : undefined), 30_000);
  assert.equal(await status(`${dnsHttp}/v1/hosts/web.marathon.mesos`, trusting), 200);
  // The web UI's "How to reach it": the scheduler reads the DNS and the LB over HTTPS, trusting the CA.
  const reach = await marathonCall(scheduler, 'GET', '/corral/v1/reach/web', undefined, running.token);
  assert.equal(reach.json.dns.error, undefined, JSON.stringify(reach.json));
  assert.equal(reach.json.lb.error, undefined, JSON.stringify(reach.json));
  assert.ok((reach.json.dns.records as Array<{ name: string; type: string }>).some((r) => r.name === 'web.marathon.mesos' && r.type === 'A'), JSON.stringify(reach.json));

  const env = { CORRAL_TOKEN_FILE: join(dataDir, 'admin.token') };
  const listed = await corral(['app', 'list', '--json', '--ca', ca], { master: scheduler, env });
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual((JSON.parse(listed.stdout) as Array<{ id: string }>).map((a) => a.id), ['/web']);
  const viaEnv = await corral(['app', 'list'], { master: scheduler, env: { ...env, CORRAL_CA: ca } });
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.equal(await running.stop(), 0);

  running = await startCorral(['--agents', '1', '--tls'], { dataDir });
  assert.equal(readFileSync(ca, 'utf8'), caPem, 'the CA is kept across runs');
  assert.equal(await status(`${running.urls.scheduler}/v2/apps`, trusting, running.auth), 200);
  assert.equal(await running.stop(), 0);
  running = undefined;
});

test('corral up --ha --tls: all three schedulers over HTTPS; a standby proxies to the leader trusting the CA', { timeout: 180_000 }, async () => {
  const stack = await startCorral(['--ha', '--tls', '--agents', '1', '--etcd-client-port', '0', '--etcd-peer-port', '0']);
  const haTrusting = clientDispatcher(join(stack.dataDir, 'ca.pem'));
  try {
    const { schedulers, leader } = stack.urls as RunningCorral['urls'] & { schedulers: string[]; leader: string };
    assert.equal(schedulers.length, 3);
    assert.match(leader, /^https:/);
    for (const url of schedulers) {
      const response = await request(`${url}/v2/apps`, { dispatcher: haTrusting, headers: stack.auth });
      await response.body.dump();
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.headers['x-marathon-leader'], leader, url);
    }
  } finally {
    await haTrusting.close();
    assert.equal(await stack.stop(), 0);
  }
});
