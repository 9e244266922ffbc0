import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { agentTokenKeyOfCredential, encodeAgentToken } from '../../src/auth/core/agent-tokens.ts';
import { AgentCluster, type Json, type StartedAgent } from '../support/agent-cluster.ts';
import { corral } from '../support/cli-run.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The agent's own API with agent admission on: sandboxes, metrics and state answer only tokens
 * the scheduler issued for them; with --auth, only to callers allowed `logs` on the task's app.
 */

const clusters: AgentCluster[] = [];

after(async () => {
  for (const c of clusters) await c.stop();
});

const q = encodeURIComponent;
const bearer = (token: unknown): Record<string, string> => ({ authorization: `Bearer ${String(token)}` });

/** A GET from the agent's API; JSON answers parsed, others (metrics, downloads) as `{text}`. */
async function fromAgent(agent: StartedAgent, path: string, headers: Record<string, string> = {}): Promise<{ status: number; json: Json }> {
  const response = await request(`${agent.endpoint}${path}`, { headers });
  const text = await response.body.text();
  const json = String(response.headers['content-type']).startsWith('application/json') ? (JSON.parse(text) as Json) : { text };
  return { status: response.statusCode, json };
}

/** Two apps on the one agent, each with a line in its stdout; their task ids. */
async function twoApps(c: AgentCluster, a: string, b: string): Promise<[string, string]> {
  const ids: string[] = [];
  for (const id of [a, b]) {
    await c.postApp({ id, cmd: `echo "I am ${id}"; sleep 1000; : ${c.marker}` });
    const [task] = await c.running(id, 1);
    ids.push(String(task?.id));
  }
  return [ids[0] ?? '', ids[1] ?? ''];
}

test('with admission on, the agent answers only tokens for the task asked; corral logs gets one', { timeout: 90_000 }, async () => {
  const c = await AgentCluster.start('files-tokens', { joinToken: true });
  clusters.push(c);
  // A long-lived token Prometheus scrapes /metrics with (its credentials_file), the same on every agent.
  const scrapeToken = 'cHJvbWV0aGV1cy1zY3JhcGUtdG9rZW4tZm9yLWFnZW50cw';
  const scrapeFile = join(c.dir, 'metrics.token');
  writeFileSync(scrapeFile, `${scrapeToken}\n`, { mode: 0o600 });
  const agent = await c.startAgent({ args: ['--metrics-token-file', scrapeFile] });
  const [taskA, taskB] = await twoApps(c, '/a', '/b');
  const read = (taskId: string, file = 'stdout'): string => `/files/read?path=${q(`${taskId}/${file}`)}&offset=0`;

  // No token: nothing, on every route of the agent's API.
  for (const path of [read(taskA), `/files/browse?path=${q(taskA)}`, `/files/download?path=${q(`${taskA}/stdout`)}`, '/files/browse?path=.', '/metrics', '/state']) {
    const answer = await fromAgent(agent, path);
    assert.equal(answer.status, 401, path);
    assert.match(String(answer.json.message), /no Authorization header/, path);
  }

  const grant = await c.call('POST', `/corral/v1/tasks/${q(taskA)}/files-token`, {});
  assert.equal(grant.status, 200, JSON.stringify(grant.json));
  assert.equal(grant.json.url, agent.endpoint);
  assert.equal(grant.json.sandbox, taskA);
  const expiresIn = Date.parse(String(grant.json.expiresAt)) - Date.now();
  assert.ok(expiresIn > 0 && expiresIn <= 5 * 60_000, `short-lived: ${expiresIn} ms`);
  const tokenA = bearer(grant.json.token);

  assert.deepEqual((await fromAgent(agent, read(taskA), tokenA)).json, { data: 'I am /a\n', offset: 0 });
  assert.equal(await c.readSandboxFile(agent, taskB, 'stdout'), 'I am /b\n');

  // A token for task A opens no other sandbox of the same agent, by any path.
  for (const path of [read(taskB), `/files/read?path=${q(`${taskA}/../${taskB}/stdout`)}&offset=0`, `/files/browse?path=${q(taskB)}`, '/files/browse?path=.', '/metrics', '/state']) {
    const answer = await fromAgent(agent, path, tokenA);
    assert.equal(answer.status, 403, path);
    assert.doesNotMatch(JSON.stringify(answer.json), /I am \/b/);
  }
  // Path traversal out of the sandboxes is still refused with a valid token.
  for (const path of [`/files/read?path=${q(`${taskA}/../../../../etc/passwd`)}&offset=0`, `/files/read?path=${q('/etc/passwd')}&offset=0`]) {
    assert.equal((await fromAgent(agent, path, tokenA)).status, 403, path);
  }

  // Links a task plants in its own sandbox lead nowhere, even with a token for that task.
  await c.postApp({ id: '/links', cmd: `ln -s /etc/passwd leak; ln -s .. up; ln /etc/passwd hard 2>/dev/null; echo planted; sleep 1000; : ${c.marker}` });
  const [linker] = await c.running('/links', 1);
  const linkTask = String(linker?.id);
  const linkGrant = await c.call('POST', `/corral/v1/tasks/${q(linkTask)}/files-token`, {});
  await waitFor('the links to be planted', async () => ((await fromAgent(agent, read(linkTask), bearer(linkGrant.json.token))).json.data === 'planted\n' ? true : undefined));
  for (const path of [read(linkTask, 'leak'), `/files/download?path=${q(`${linkTask}/leak`)}`, `/files/browse?path=${q(`${linkTask}/up`)}`, read(linkTask, `up/${taskB}/stdout`), read(linkTask, 'hard')]) {
    const answer = await fromAgent(agent, path, bearer(linkGrant.json.token));
    assert.ok(answer.status === 403 || (path.endsWith('hard&offset=0') && answer.status === 404), `${path}: ${answer.status}`);
    assert.doesNotMatch(JSON.stringify(answer.json), /root:|I am \/b/, path);
  }

  // Tampered, expired, or minted with another agent's key: 401.
  const token = String(grant.json.token);
  const tampered = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
  const credential = readFileSync(join(agent.workDir, 'agent-credential'), 'utf8').trim();
  const key = agentTokenKeyOfCredential(credential);
  assert.ok(key);
  const agentId = readFileSync(join(agent.workDir, 'agent-id'), 'utf8').trim();
  const expired = encodeAgentToken({ agentId, scope: 'files', taskIds: [taskA], expiresAt: Date.now() - 1 }, key);
  // Signed with the key the agent derives: the agent and the scheduler agree on it.
  const fresh = encodeAgentToken({ agentId, scope: 'files', taskIds: [taskA], expiresAt: Date.now() + 60_000 }, key);
  assert.equal((await fromAgent(agent, read(taskA), bearer(fresh))).status, 200);
  for (const [name, bad, reason] of [['tampered', tampered, /altered|base64url|claims/], ['expired', expired, /expired/], ['a scheduler-style token', credential, /not an agent token/]] as const) {
    const answer = await fromAgent(agent, read(taskA), bearer(bad));
    assert.equal(answer.status, 401, name);
    assert.match(String(answer.json.message), reason, name);
  }

  // Metrics and state: a token of scope metrics.
  const metricsGrant = await c.call('POST', `/corral/v1/agents/${q(agentId)}/token`, { scope: 'metrics' });
  assert.equal(metricsGrant.status, 200, JSON.stringify(metricsGrant.json));
  assert.equal((await fromAgent(agent, '/state', bearer(metricsGrant.json.token))).status, 200);
  assert.equal((await fromAgent(agent, read(taskA), bearer(metricsGrant.json.token))).status, 403);
  assert.equal((await c.call('POST', `/corral/v1/agents/${q(agentId)}/token`, { scope: 'root' })).status, 422);

  // The scrape token: /metrics, and nothing else.
  const scraped = await fromAgent(agent, '/metrics', bearer(scrapeToken));
  assert.equal(scraped.status, 200);
  assert.match(String(scraped.json.text), /^# (HELP|TYPE) /m);
  for (const path of ['/state', read(taskA), '/files/browse?path=.']) assert.equal((await fromAgent(agent, path, bearer(scrapeToken))).status, 401, path);
  assert.equal((await fromAgent(agent, '/metrics', bearer(`${scrapeToken}x`))).status, 401);
  assert.doesNotMatch(readFileSync(join(c.dir, 'agent-1.log'), 'utf8'), new RegExp(scrapeToken), 'the scrape token is never logged');

  // The CLI asks the scheduler for a token and reads the sandbox with it.
  const logs = await corral(['logs', taskA], { master: c.master });
  assert.equal(logs.code, 0, logs.stderr);
  assert.equal(logs.stdout, 'I am /a\n');
});

test('with --auth, a team gets tokens for the sandboxes of its own apps only', { timeout: 90_000 }, async () => {
  const c = await AgentCluster.start('files-auth', { joinToken: true, schedulerArgs: ['--auth'] });
  clusters.push(c);
  c.authorization = `Bearer ${readFileSync(join(c.dir, 'scheduler', 'admin.token'), 'utf8').trim()}`;
  const agent = await c.startAgent();
  const teams: Record<string, Record<string, string>> = {};
  for (const [team, actions] of [['team-a', ['read', 'logs']], ['team-b', ['read', 'logs']], ['team-a-viewer', ['read']]] as const) {
    assert.equal((await c.call('POST', '/v2/auth/identities', { id: team, kind: 'user' })).status, 201);
    assert.equal((await c.call('POST', '/v2/auth/grants', { identity: team, actions, path: `/${team.replace('-viewer', '')}` })).status, 201);
    teams[team] = bearer((await c.call('POST', '/v2/auth/tokens', { identity: team })).json.token);
  }
  const [taskA, taskB] = await twoApps(c, '/team-a/web', '/team-b/db');
  const ask = (taskId: string, as: Record<string, string> | undefined): Promise<{ status: number; json: Json }> =>
    marathonCall(c.master, 'POST', `/corral/v1/tasks/${q(taskId)}/files-token`, {}, as ?? {});

  assert.equal((await ask(taskA, undefined)).status, 401, 'no scheduler credentials, no token');
  assert.equal((await ask(taskB, teams['team-a'])).status, 403, 'team A gets no token for team B\'s task');
  const viewer = await ask(taskA, teams['team-a-viewer']);
  assert.equal(viewer.status, 403, 'read does not allow logs');
  assert.match(String(viewer.json.message), /logs/);
  const own = await ask(taskA, teams['team-a']);
  assert.equal(own.status, 200, JSON.stringify(own.json));
  assert.deepEqual((await fromAgent(agent, `/files/read?path=${q(`${taskA}/stdout`)}&offset=0`, bearer(own.json.token))).json, { data: 'I am /team-a/web\n', offset: 0 });
  assert.equal((await fromAgent(agent, `/files/read?path=${q(`${taskB}/stdout`)}&offset=0`, bearer(own.json.token))).status, 403);
  assert.equal((await ask(taskB, teams['team-b'])).status, 200);

  // The scheduler reads a sandbox file for the caller (the web UI's logs: no agent origin, no agent token in the page), on the same grant.
  const readThrough = (taskId: string, as: Record<string, string> | undefined, query = 'file=stdout&offset=0'): Promise<{ status: number; json: Json }> =>
    marathonCall(c.master, 'GET', `/corral/v1/tasks/${q(taskId)}/files/read?${query}`, undefined, as ?? {});
  assert.deepEqual((await readThrough(taskA, teams['team-a'])).json, { data: 'I am /team-a/web\n', offset: 0 });
  assert.deepEqual((await readThrough(taskA, teams['team-a'], 'file=stdout&offset=-1')).json, { data: '', offset: 17 });
  assert.equal((await readThrough(taskA, undefined)).status, 401);
  const foreign = await readThrough(taskB, teams['team-a']);
  assert.equal(foreign.status, 403, 'team A reads none of team B\'s logs');
  assert.doesNotMatch(JSON.stringify(foreign.json), /I am/);
  assert.equal((await readThrough(taskA, teams['team-a-viewer'])).status, 403, 'read does not allow logs');
  assert.equal((await readThrough(taskA, teams['team-a'], 'file=../etc/passwd&offset=0')).status, 422, 'stdout or stderr only');
  const download = await request(`${c.master}/corral/v1/tasks/${q(taskA)}/files/download?file=stdout`, { headers: teams['team-a'] ?? {} });
  assert.equal(download.statusCode, 200);
  assert.equal(await download.body.text(), 'I am /team-a/web\n');
  assert.equal((await request(`${c.master}/corral/v1/tasks/${q(taskB)}/files/download?file=stdout`, { headers: teams['team-a'] ?? {} })).statusCode, 403);

  // A whole agent: metrics for cluster readers, every sandbox for those who may read every log.
  const agentId = readFileSync(join(agent.workDir, 'agent-id'), 'utf8').trim();
  const agentToken = (scope: string, as: Record<string, string>): Promise<{ status: number; json: Json }> =>
    marathonCall(c.master, 'POST', `/corral/v1/agents/${q(agentId)}/token`, { scope }, as);
  assert.equal((await agentToken('metrics', teams['team-a'] ?? {})).status, 403);
  assert.equal((await agentToken('agent', teams['team-a'] ?? {})).status, 403);
  const admin = await agentToken('agent', { authorization: c.authorization });
  assert.equal(admin.status, 200, JSON.stringify(admin.json));
  assert.equal((await fromAgent(agent, `/files/read?path=${q(`${taskB}/stdout`)}&offset=0`, bearer(admin.json.token))).status, 200);
  assert.equal((await fromAgent(agent, '/metrics', bearer(admin.json.token))).status, 200);
});

test('without admission the agent\'s API is open, but only by its own names: a rebound page gets 403', { timeout: 60_000 }, async () => {
  const c = await AgentCluster.start('files-rebinding');
  clusters.push(c);
  const agent = await c.startAgent({ hostname: 'agent-1.example' });
  const port = new URL(agent.endpoint).port;
  for (const path of ['/files/browse?path=.', '/metrics', '/state']) {
    const rebound = await fromAgent(agent, path, { host: `evil.example:${port}` });
    assert.equal(rebound.status, 403, path);
    assert.match(String(rebound.json.message), /Host evil\.example:\d+ is not a name this agent answers to .*--hostname/);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `agent-1.example:${port}`]) assert.equal((await fromAgent(agent, path, { host })).status, 200, `${path} by ${host}`);
  }
});
