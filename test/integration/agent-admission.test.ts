import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { corral } from '../support/cli-run.ts';
import { agentCall, commandStream, standInRegistration } from '../support/stand-in-agent.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Agent admission (--join-token-file): what was tried against Corral must not work any more. A
 * stand-in agent plays the intruder; a real agent plays the victim.
 */

let cluster: AgentCluster | undefined;

after(async () => {
  await cluster?.stop();
});

const REGISTER = '/corral/v1/agents/register';

async function agentsListed(c: AgentCluster): Promise<Json[]> {
  return (await c.get('/corral/v1/agents')).agents as Json[];
}

test('with --join-token-file, only the join token gets an agent in; intruders get 401 and nothing is stored', { timeout: 90_000 }, async () => {
  const c = (cluster = await AgentCluster.start('admission', { joinToken: true }));
  const joinToken = readFileSync(c.joinTokenFile ?? '', 'utf8').trim();

  // A fake agent with plain HTTP, with a made-up token, with a made-up credential for a made-up id.
  assert.equal((await agentCall(c.master, 'POST', REGISTER, standInRegistration('fake', '127.0.0.60'))).status, 401);
  assert.equal((await agentCall(c.master, 'POST', REGISTER, standInRegistration('fake', '127.0.0.60'), 'not-the-join-token-at-all')).status, 401);
  assert.equal((await agentCall(c.master, 'POST', REGISTER, { ...standInRegistration('fake', '127.0.0.60'), agentId: 'made-up' }, `${'a'.repeat(8)}.${'b'.repeat(43)}`)).status, 401);
  assert.deepEqual(await agentsListed(c), [], 'a refused registration stores no agent');

  // The real agent joins with the token and keeps its credential, owner-only, beside its id.
  const real = await c.startAgent();
  const credentialFile = join(real.workDir, 'agent-credential');
  await waitFor('the agent\'s credential on disk', () => { try { return statSync(credentialFile); } catch { return undefined; } });
  assert.equal(statSync(credentialFile).mode & 0o777, 0o600);
  const [listed] = await agentsListed(c);
  const realId = String(listed?.id);
  assert.equal(readFileSync(join(real.workDir, 'agent-id'), 'utf8').trim(), realId);
  assert.match(realId, /-S0$/, 'the refused registrations drew no agent number');
  assert.equal(listed?.credential?.hash, undefined, 'the listing never shows the credential\'s hash');
  assert.ok(typeof listed?.credential?.id === 'string');

  // Kept while its agent is unreachable: the agent's crash below may outlast the 2 s agent timeout
  // under load (its restart alone took 3.6 s), and what is checked is that the task is adopted.
  await c.postApp({ id: '/admitted', cmd: `sleep 1000; : ${c.marker}`, unreachableStrategy: { inactiveAfterSeconds: 300, expungeAfterSeconds: 600 } });
  const [task] = await c.running('/admitted', 1);
  const taskId = String(task?.id);

  // Taking over the real agent's id: without its credential, and with the join token alone.
  const takeover = { ...standInRegistration('intruder', '127.0.0.61'), agentId: realId };
  assert.equal((await agentCall(c.master, 'POST', REGISTER, takeover)).status, 401);
  assert.equal((await agentCall(c.master, 'POST', REGISTER, takeover, joinToken)).status, 401);
  // Its commands, heartbeats and status reports are the real agent's alone.
  assert.equal((await agentCall(c.master, 'GET', `/corral/v1/agents/${realId}/commands`)).status, 401);
  assert.equal((await agentCall(c.master, 'POST', `/corral/v1/agents/${realId}/heartbeat`, {}, joinToken)).status, 401);
  const forged = { uuid: 'forged-1', taskId, state: 'TASK_FAILED', message: 'forged', timestamp: new Date().toISOString() };
  assert.equal((await agentCall(c.master, 'POST', `/corral/v1/agents/${realId}/status`, forged)).status, 401);
  assert.equal((await agentCall(c.master, 'POST', `/corral/v1/agents/${realId}/status`, forged, joinToken)).status, 401);

  // An admitted stand-in (it has the join token) still cannot report the real agent's task.
  const joined = await agentCall(c.master, 'POST', REGISTER, standInRegistration('stand-in', '127.0.0.62'), joinToken);
  assert.equal(joined.status, 200, JSON.stringify(joined.json));
  const standInId = String(joined.json.agentId);
  const standInCredential = String(joined.json.credential);
  assert.match(standInCredential, /^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
  assert.equal((await agentCall(c.master, 'POST', `/corral/v1/agents/${standInId}/status`, { ...forged, uuid: 'forged-2' }, standInCredential)).status, 200);
  assert.equal((await agentCall(c.master, 'POST', `/corral/v1/agents/${standInId}/heartbeat`, {}, standInCredential)).status, 200);
  // Re-registering under its own id takes its credential, and issues no new one.
  const again = await agentCall(c.master, 'POST', REGISTER, { ...standInRegistration('stand-in', '127.0.0.62'), agentId: standInId }, standInCredential);
  assert.equal(again.status, 200);
  assert.equal(again.json.credential, undefined);

  // None of it touched the real agent: still connected, its task still running.
  const tasks = await c.tasks('/admitted');
  assert.deepEqual(tasks.map((t) => [t.id, t.state]), [[taskId, 'TASK_RUNNING']]);
  assert.equal((await agentsListed(c)).find((a) => a.id === realId)?.connected, true);

  // The agent comes back with its credential, not a new one: after a crash of its own and a restart of the scheduler.
  const credentialId = String((await agentsListed(c)).find((a) => a.id === realId)?.credential?.id);
  real.part.child.kill('SIGKILL');
  await real.part.exited;
  await c.restartAgent(real);
  await c.restartScheduler();
  await waitFor('the agent back, connected', async () => ((await agentsListed(c)).find((a) => a.id === realId)?.connected === true ? true : undefined));
  assert.equal((await agentsListed(c)).find((a) => a.id === realId)?.credential?.id, credentialId);
  assert.deepEqual((await c.running('/admitted', 1)).map((t) => t.id), [taskId]);

  // Revoked: the stand-in's next calls are refused, its stream is cut, and its id stays closed to the join token.
  const controller = new AbortController();
  try {
    await commandStream(c.master, standInId, controller.signal, standInCredential);
    const revoked = await corral(['agent', 'revoke', standInId], { master: c.master });
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /is revoked/);
    await waitFor('the stand-in\'s stream cut', async () => ((await agentsListed(c)).find((a) => a.id === standInId)?.connected === false ? true : undefined));
  } finally {
    controller.abort();
  }
  assert.equal((await agentCall(c.master, 'POST', `/corral/v1/agents/${standInId}/heartbeat`, {}, standInCredential)).status, 401);
  assert.equal((await agentCall(c.master, 'GET', `/corral/v1/agents/${standInId}/commands`, undefined, standInCredential)).status, 401);
  assert.equal((await agentCall(c.master, 'POST', REGISTER, { ...standInRegistration('stand-in', '127.0.0.62'), agentId: standInId }, standInCredential)).status, 401);
  assert.equal((await agentCall(c.master, 'POST', REGISTER, { ...standInRegistration('stand-in', '127.0.0.62'), agentId: standInId }, joinToken)).status, 401);
  assert.ok((await agentsListed(c)).find((a) => a.id === standInId)?.credential?.revokedAt !== undefined);
  assert.equal((await agentCall(c.master, 'DELETE', '/corral/v1/agents/nobody/credential')).status, 404);

  // The real agent, meanwhile, kept going.
  assert.deepEqual((await c.tasks('/admitted')).map((t) => [t.id, t.state]), [[taskId, 'TASK_RUNNING']]);

  // Revoking the real agent cuts it off: its stream is closed and its credential refused from then on.
  const realCredential = readFileSync(credentialFile, 'utf8').trim();
  assert.equal((await agentCall(c.master, 'POST', `/corral/v1/agents/${realId}/heartbeat`, {}, realCredential)).status, 200);
  assert.equal((await agentCall(c.master, 'DELETE', `/corral/v1/agents/${realId}/credential`)).status, 200);
  assert.equal((await agentCall(c.master, 'POST', `/corral/v1/agents/${realId}/heartbeat`, {}, realCredential)).status, 401);
  await waitFor('the revoked agent disconnected', async () => ((await agentsListed(c)).find((a) => a.id === realId)?.connected === false ? true : undefined));
});

test('registrations beyond the rate limit get 429, and a flood of unauthenticated ones stores nothing', { timeout: 60_000 }, async () => {
  const c = cluster ?? (cluster = await AgentCluster.start('admission', { joinToken: true }));
  const before = (await agentsListed(c)).length;
  // 300 at once against a bucket of 100 refilled at 20/s: most are turned away before any check.
  const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => agentCall(c.master, 'POST', REGISTER, standInRegistration(`flood-${i}`, '127.0.0.70'))));
  const counts = new Map<number, number>();
  for (const { status } of answers) counts.set(status, (counts.get(status) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort(), [401, 429], JSON.stringify([...counts]));
  assert.ok((counts.get(429) ?? 0) >= 100, JSON.stringify([...counts]));
  assert.equal((await agentsListed(c)).length, before, 'no registration of the flood was stored');
  // The next agent to join gets the next number: the flood drew none.
  const numbers = (await agentsListed(c)).map((a) => Number(/-S(\d+)$/.exec(String(a.id))?.[1]));
  await waitFor('a registration after the flood', async () => {
    const joined = await agentCall(c.master, 'POST', REGISTER, standInRegistration('after-flood', '127.0.0.71'), readFileSync(c.joinTokenFile ?? '', 'utf8').trim());
    if (joined.status === 429) return undefined;
    assert.equal(joined.status, 200);
    assert.equal(joined.json.agentId, String(joined.json.agentId).replace(/\d+$/, String(numbers.length === 0 ? 0 : Math.max(...numbers) + 1)));
    return true;
  });
});
