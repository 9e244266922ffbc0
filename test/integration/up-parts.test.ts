import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { startCorral, type RunningCorral } from '../support/corral-up.ts';
import { dig } from '../support/dig.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { pidsOf } from '../support/processes.ts';
import { agentCall, standInRegistration } from '../support/stand-in-agent.ts';
import { waitFor } from '../support/wait.ts';

/**
 * `corral up` as a whole: the agents' HTTP ports follow --agent-http-port-base, each agent's task
 * cgroups have a parent of their own, and a part that dies takes the whole stack down (exit 1,
 * no task left) instead of leaving it running without that part.
 */

let corral: RunningCorral;
let httpBase = 0;
const marker = `corral-up-parts-${randomUUID()}`;
let output = '';

function listen(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** A port p with p and p + 1 both free on 127.0.0.1 right now. */
async function twoFreePorts(): Promise<number> {
  for (;;) {
    const first = await listen(0);
    const port = (first?.address() as { port: number } | null)?.port ?? 0;
    const second = port > 0 && port < 65535 ? await listen(port + 1) : undefined;
    await Promise.all([first, second].map((s) => new Promise((resolve) => (s ? s.close(resolve) : resolve(undefined)))));
    if (second !== undefined) return port;
  }
}

/**
 * An agent's /state: its API answers only a token the scheduler issued for that agent (agent
 * admission is on in `corral up`), of scope metrics.
 */
async function agentState(endpoint: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const agents = await waitFor(`the agent at ${endpoint} registered`, async () => {
    const listed = (await marathonCall(corral.urls.scheduler, 'GET', '/corral/v1/agents', undefined, corral.token)).json.agents as Array<Record<string, unknown>>;
    return listed.some((a) => a.endpoint === endpoint) ? listed : undefined;
  });
  const agentId = String(agents.find((a) => a.endpoint === endpoint)?.id);
  const grant = await marathonCall(corral.urls.scheduler, 'POST', `/corral/v1/agents/${encodeURIComponent(agentId)}/token`, { scope: 'metrics' }, corral.token);
  assert.equal(grant.status, 200, JSON.stringify(grant.json));
  return marathonCall(endpoint, 'GET', '/state', undefined, { authorization: `Bearer ${String(grant.json.token)}` });
}

before(async () => {
  httpBase = await twoFreePorts();
  corral = await startCorral(['--agents', '2', '--agent-http-port-base', String(httpBase), '--dns-resolvers', '']);
  corral.child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
});

after(async () => {
  await corral?.stop();
  assert.deepEqual(pidsOf(marker), [], 'no task outlives corral up');
});

test('--dns-resolvers \'\' turns forwarding off: an outside name is REFUSED at once, not SERVFAIL after a wait', async () => {
  assert.equal((await dig(corral.urls.dns, 'www.example.com')).status, 'REFUSED');
  const config = (await marathonCall(corral.urls.dnsHttp, 'GET', '/v1/config')).json;
  assert.deepEqual([config.ExternalOn, config.Resolvers], [false, []]);
});

test('agent n serves its HTTP on --agent-http-port-base + n - 1', async () => {
  assert.deepEqual(corral.urls.agents, [`http://127.0.0.1:${httpBase}`, `http://127.0.0.1:${httpBase + 1}`]);
  for (const endpoint of corral.urls.agents) {
    assert.equal((await marathonCall(endpoint, 'GET', '/state')).status, 401, 'no token, no state');
    assert.equal((await agentState(endpoint)).status, 200);
  }
});

test('the stack admits agents by its join token only: <data>/join.token, 0600; its agents joined, a stranger gets 401', async () => {
  assert.equal(statSync(join(corral.dataDir, 'join.token')).mode & 0o777, 0o600);
  const agents = await waitFor('both agents registered', async () => {
    const listed = (await marathonCall(corral.urls.scheduler, 'GET', '/corral/v1/agents', undefined, corral.token)).json.agents as Array<Record<string, unknown>>;
    return listed.length === 2 ? listed : undefined;
  });
  for (const agent of agents) assert.ok(agent.credential !== undefined, `agent ${String(agent.id)} joined with a credential`);
  assert.equal((await agentCall(corral.urls.scheduler, 'POST', '/corral/v1/agents/register', standInRegistration('stranger', '127.0.0.99'))).status, 401);
});

test('each agent makes its task cgroups under a parent of its own, named for its agent id', async (t) => {
  const states = await Promise.all(corral.urls.agents.map(async (endpoint) => (await agentState(endpoint)).json));
  if (states.some((s) => s.isolation === 'none')) {
    t.skip('no writable cgroups here (isolation: none)');
    return;
  }
  const [one, two] = states.map((s) => s.cgroupParents as string[]);
  assert.ok(one && two && one.length > 0 && one.length === two.length, JSON.stringify(states));
  for (const [i, dir] of one.entries()) {
    assert.notEqual(dir, two[i]);
    assert.equal(dirname(dir), dirname(two[i] ?? ''), 'both under the one --cgroups-parent');
    assert.match(dir, /\/agent-[^/]+$/);
  }
});

test('kill -9 of the scheduler stops the whole stack with exit code 1, its tasks killed', { timeout: 60_000 }, async () => {
  const app = { id: '/sleeper', cmd: `sleep 1000; : ${marker}`, cpus: 0.1, mem: 32, instances: 2 };
  assert.equal((await marathonCall(corral.urls.scheduler, 'POST', '/v2/apps', app, corral.token)).status, 201);
  await waitFor('2 task processes', () => (pidsOf(marker).length >= 2 ? true : undefined), 30_000);
  const [scheduler, ...others] = pidsOf(`${corral.dataDir}/scheduler`);
  assert.ok(scheduler !== undefined && others.length === 0, 'one scheduler process');
  const exited = new Promise<number | null>((resolve) => corral.child.once('exit', resolve));
  process.kill(Number(scheduler), 'SIGKILL');
  assert.equal(await exited, 1);
  assert.match(output, new RegExp(`scheduler \\(pid ${scheduler}\\) ended on its own \\(signal SIGKILL\\)`));
  await waitFor('no task process', () => (pidsOf(marker).length === 0 ? true : undefined), 10_000);
  assert.deepEqual(pidsOf(corral.dataDir), [], 'no part of the stack is left');
});
