import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { SseStream, type Json, type SseFrame } from '../support/events-stream.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

const dir = tempDir('corral-auth-');
const dataDir = join(dir, 'scheduler');
const running: PartProcess[] = [];

after(async () => {
  await stopParts(running, 5000);
  rmSync(dir, { recursive: true, force: true });
});

interface Answer { status: number; body: Record<string, unknown>; headers: Record<string, unknown> }

function client(base: string) {
  return async (method: string, path: string, credentials?: string, body?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (credentials !== undefined) headers.authorization = credentials;
    const response = await request(`${base}${path}`, { method: method as 'GET', headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.body.text();
    return { status: response.statusCode, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : { text }, headers: response.headers };
  };
}

const bearer = (token: string): string => `Bearer ${token}`;
const app = (id: string): Record<string, unknown> => ({ id, cmd: 'sleep 1000', cpus: 0.1, mem: 16, instances: 0 });

test('--auth: tokens, grants by whole group segments, filtered listings, revocation, Basic, restart', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const args = ['scheduler', '--auth', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir];
  let scheduler = await startPart('scheduler', args, dir);
  running.push(scheduler);
  const call = client(String(scheduler.ready.api));

  const tokenFile = join(dataDir, 'admin.token');
  assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
  const admin = bearer(readFileSync(tokenFile, 'utf8').trim());

  assert.equal((await call('GET', '/ping')).status, 200, '/ping stays open for health checks');
  const anonymous = await call('GET', '/v2/apps');
  assert.equal(anonymous.status, 401);
  assert.match(String(anonymous.headers['www-authenticate']), /Bearer/);
  assert.equal((await call('GET', '/v2/apps', 'Bearer nonsense.token')).status, 401);
  assert.equal((await call('GET', '/v2/apps', admin)).status, 200);
  assert.equal((await call('GET', '/v2/auth/whoami', admin)).body.id, 'admin');

  // Two teams, each with CRUD on its own group; team A also has a Basic password.
  for (const team of ['team-a', 'team-b']) {
    const password = team === 'team-a' ? { password: 'correct horse battery' } : {};
    assert.equal((await call('POST', '/v2/auth/identities', admin, { id: team, kind: 'user', ...password })).status, 201);
    assert.equal((await call('POST', '/v2/auth/grants', admin, { identity: team, actions: ['create', 'read', 'update', 'delete'], path: `/${team}` })).status, 201);
  }
  // DC/OS's resource string for Marathon's services works as the path, stored as the path it names.
  const dcos = await call('POST', '/v2/auth/grants', admin, { identity: 'team-a', actions: ['read'], path: 'dcos:service:marathon:marathon:services:/shared' });
  assert.equal(dcos.status, 201, JSON.stringify(dcos.body));
  assert.deepEqual([dcos.body.id, dcos.body.path], ['team-a /shared', '/shared']);
  const invalid = await call('POST', '/v2/auth/grants', admin, { identity: 'team-a', actions: ['fly'], path: '/team-a' });
  assert.equal(invalid.status, 422);
  assert.equal(invalid.body.message, 'Object is not valid');
  const issued = async (identity: string): Promise<{ id: string; token: string }> => {
    const answer = await call('POST', '/v2/auth/tokens', admin, { identity });
    assert.equal(answer.status, 201);
    return answer.body as { id: string; token: string };
  };
  const a = await issued('team-a');
  const b = await issued('team-b');
  const teamA = bearer(a.token);
  const teamB = `token=${b.token}`;

  assert.equal((await call('POST', '/v2/auth/tokens', teamA, { identity: 'team-a' })).status, 403, 'only admin issues tokens');
  assert.equal((await call('POST', '/v2/apps', teamA, app('/team-a/web'))).status, 201);
  assert.equal((await call('POST', '/v2/apps', teamB, app('/team-b/x'))).status, 201, 'DC/OS token= form');
  const foreign = await call('POST', '/v2/apps', teamA, app('/team-b/x2'));
  assert.equal(foreign.status, 403);
  assert.match(String(foreign.body.message), /team-a.*may not create \/team-b\/x2/);
  assert.equal((await call('POST', '/v2/apps', teamA, app('/team-ab/x'))).status, 403, '/team-a never covers /team-ab');
  assert.equal((await call('DELETE', '/v2/apps/team-b/x', teamA)).status, 403);
  assert.equal((await call('GET', '/v2/apps/team-b/x', teamA)).status, 403);
  // Nor change, scale, restart or kill what team B runs, by any route.
  for (const [method, path, body] of [
    ['PUT', '/v2/apps/team-b/x', { instances: 3 }], ['PATCH', '/v2/apps/team-b/x', { cmd: 'sleep 1' }], ['POST', '/v2/apps/team-b/x/restart', undefined],
    ['DELETE', '/v2/apps/team-b/x/tasks?scale=true', undefined], ['DELETE', '/v2/apps/team-b/x/tasks/team-b_x.0f0c5d2e-0000-4000-8000-000000000001', undefined],
    ['POST', '/v2/tasks/delete', { ids: ['team-b_x.0f0c5d2e-0000-4000-8000-000000000001'] }], ['PUT', '/v2/groups/team-b', { scaleBy: 2 }], ['DELETE', '/v2/groups/team-b', undefined],
  ] as const) {
    assert.equal((await call(method, path, teamA, body)).status, 403, `${method} ${path}`);
  }
  assert.equal(((await call('GET', '/v2/apps/team-b/x', admin)).body.app as { instances: number }).instances, 0, 'team B\'s app is as it was');

  const ids = async (credentials: string): Promise<string[]> => ((await call('GET', '/v2/apps', credentials)).body.apps as Array<{ id: string }>).map((x) => x.id).sort();
  assert.deepEqual(await ids(teamA), ['/team-a/web']);
  assert.deepEqual(await ids(admin), ['/team-a/web', '/team-b/x']);
  const groups = (await call('GET', '/v2/groups', teamA)).body.groups as Array<{ id: string }>;
  assert.deepEqual(groups.map((g) => g.id), ['/team-a']);

  assert.deepEqual((await call('POST', '/v2/auth/check', teamA, { action: 'delete', path: '/team-a/web' })).body.allowed, true);
  const check = await call('POST', '/v2/auth/check', teamA, { action: 'update', path: '/team-b' });
  assert.equal(check.body.allowed, false);
  assert.match(String(check.body.reason), /may not update \/team-b/);

  const basic = `Basic ${Buffer.from('team-a:correct horse battery').toString('base64')}`;
  assert.deepEqual(await ids(basic), ['/team-a/web']);
  // What marathon-lb --auth-credentials user:pass asks, as Basic: the apps with their tasks, and the event stream.
  assert.equal((await call('GET', '/v2/apps?embed=apps.tasks&embed=apps.deployments', basic)).status, 200);
  // open() asserts 200 and text/event-stream.
  await (await SseStream.open(String(scheduler.ready.api), { headers: { authorization: basic } })).close();
  assert.equal((await call('GET', '/v2/apps', `Basic ${Buffer.from('team-a:wrong password!').toString('base64')}`)).status, 401);

  const listed = (await call('GET', '/v2/auth/tokens', admin)).body.tokens as Array<Record<string, unknown>>;
  assert.equal(listed.length, 3);
  assert.ok(listed.every((t) => t.hash === undefined && t.token === undefined), 'no secret or hash is listed');

  assert.equal((await call('DELETE', `/v2/auth/tokens/${b.id}`, admin)).status, 200);
  assert.equal((await call('GET', '/v2/apps', teamB)).status, 401, 'a revoked token lets nobody in');

  // Nobody can take away the last admin on /: not its grant, nor a lesser grant in its place (removing
  // another identity cannot: the caller holds admin and may not remove itself).
  const lastGrant = await call('DELETE', '/v2/auth/grants/admin', admin);
  assert.equal(lastGrant.status, 409);
  assert.match(String(lastGrant.body.message), /nobody would hold admin on \//);
  assert.equal((await call('POST', '/v2/auth/grants', admin, { id: 'admin', identity: 'admin', actions: ['read'], path: '/' })).status, 409);
  assert.equal((await call('POST', '/v2/auth/grants', admin, { id: 'ops-admin', identity: 'team-a', actions: ['admin'], path: '/' })).status, 201);
  assert.equal((await call('DELETE', '/v2/auth/grants/admin', admin)).status, 200, 'with another admin left it may go');
  assert.equal((await call('DELETE', '/v2/auth/grants/ops-admin', teamA)).status, 409, 'the other is now the last');
  assert.equal((await call('POST', '/v2/auth/grants', teamA, { id: 'admin', identity: 'admin', actions: ['admin'], path: '/' })).status, 201);
  assert.equal((await call('DELETE', '/v2/auth/grants/ops-admin', admin)).status, 200);

  // Tokens, identities and grants are state: they survive a restart, and the admin is not made again.
  scheduler.child.kill('SIGTERM');
  await scheduler.exited;
  running.splice(running.indexOf(scheduler), 1);
  scheduler = await startPart('scheduler', args, dir);
  running.push(scheduler);
  assert.deepEqual(await ids(teamA), ['/team-a/web']);
  assert.equal((await call('GET', '/v2/apps', admin)).status, 200);
  assert.equal((await call('GET', '/v2/apps', teamB)).status, 401);

  const log = readFileSync(join(dir, 'scheduler.log'), 'utf8');
  assert.ok(!log.includes(admin.slice('Bearer '.length).split('.')[1] ?? 'x'), 'the admin secret is never logged');
  assert.ok(!log.includes(a.token.split('.')[1] ?? 'x'), 'an issued secret is never logged');
  assert.ok(!log.includes('correct horse battery'), 'a password is never logged');
  const audit = log.split('\n').filter((line) => line.includes('"component":"audit"')).map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.ok(audit.some((l) => l.identity === 'team-a' && l.method === 'POST' && l.result === 403), 'refused writes are audited');
  assert.ok(audit.some((l) => l.identity === 'team-a' && l.method === 'POST' && l.action === 'create' && l.result === 201), 'accepted writes are audited');
});

/** The app ids a frame names (its app, or every app of a deployment's plan). */
function appsOf(frame: SseFrame): string[] {
  const data = frame.data;
  if (data.appDefinition !== undefined) return [String(data.appDefinition.id)];
  if (data.plan !== undefined) return (data.plan.steps as Json[]).flatMap((s) => (s.actions as Json[]).map((a) => String(a.app)));
  return [data.appId, data.runSpecId, data.groupId].filter((x): x is string => typeof x === 'string');
}

test('--auth: /v2/events sends each subscriber only the events of apps it may read, live and replayed', { timeout: 120_000 }, async () => {
  const eventsDir = join(dir, 'events');
  const scheduler = await startPart('scheduler', ['scheduler', '--auth', '--listen', `127.0.0.1:${await freePort()}`, '--data-dir', eventsDir], dir);
  running.push(scheduler);
  const base = String(scheduler.ready.api);
  const call = client(base);
  const admin = bearer(readFileSync(join(eventsDir, 'admin.token'), 'utf8').trim());
  const tokens: Record<string, string> = {};
  for (const team of ['team-a', 'team-b']) {
    assert.equal((await call('POST', '/v2/auth/identities', admin, { id: team, kind: 'user' })).status, 201);
    assert.equal((await call('POST', '/v2/auth/grants', admin, { identity: team, actions: ['create', 'read', 'update', 'delete'], path: `/${team}` })).status, 201);
    tokens[team] = bearer(((await call('POST', '/v2/auth/tokens', admin, { identity: team })).body as { token: string }).token);
  }
  const teamA = tokens['team-a'] ?? '';
  const teamB = tokens['team-b'] ?? '';

  assert.equal((await call('GET', '/v2/events')).status, 401, 'no credentials, no stream');
  assert.equal((await call('GET', '/v2/events', 'Bearer nonsense.token')).status, 401);
  const streamA = await SseStream.open(base, { headers: { authorization: teamA } });
  const streamAdmin = await SseStream.open(base, { headers: { authorization: admin } });

  assert.equal((await call('POST', '/v2/apps', teamB, app('/team-b/x'))).status, 201);
  assert.equal((await call('POST', '/v2/apps', teamA, app('/team-a/web'))).status, 201);
  assert.equal((await call('DELETE', '/v2/apps/team-b/x', teamB)).status, 200);
  // The last write: once A has its event, every earlier one it may see has arrived (one socket, in order).
  assert.equal((await call('POST', '/v2/apps', teamA, app('/team-a/last'))).status, 201);
  const seen = (stream: SseStream, type: string, id: string): Promise<true> =>
    waitFor(`${type} of ${id}`, () => (stream.frames.some((f) => f.event === type && appsOf(f).includes(id)) ? true : undefined), 20_000);
  await seen(streamA, 'api_post_event', '/team-a/last');
  await seen(streamA, 'deployment_success', '/team-a/web');
  for (const [type, id] of [['api_post_event', '/team-b/x'], ['deployment_success', '/team-b/x'], ['app_terminated_event', '/team-b/x'], ['api_post_event', '/team-a/last']]) {
    await seen(streamAdmin, type ?? '', id ?? '');
  }

  const foreign = (stream: SseStream): SseFrame[] => stream.frames.filter((f) => f.id !== undefined && !appsOf(f).some((id) => id === '/team-a' || id.startsWith('/team-a/')));
  assert.deepEqual(foreign(streamA).map((f) => `${f.event} ${appsOf(f).join(',')}`), [], 'team A sees nothing of team B');
  assert.ok(streamA.frames.some((f) => f.event === 'api_post_event' && appsOf(f).includes('/team-a/web')));
  assert.ok(!streamA.frames.some((f) => f.event === 'event_stream_attached'), 'other subscribers\' addresses are for cluster readers');
  assert.ok(streamAdmin.frames.some((f) => f.event === 'event_stream_attached'));
  const idsA = streamA.committed.map((f) => f.id ?? 0);
  assert.ok(idsA.length < streamAdmin.committed.length && idsA.every((id, i) => i === 0 || id > (idsA[i - 1] ?? 0)), 'global ids, with gaps');

  // A replay from Last-Event-ID is filtered the same way.
  const replayA = await SseStream.open(base, { headers: { authorization: teamA }, lastEventId: 0 });
  await seen(replayA, 'api_post_event', '/team-a/last');
  // Events after the last write (its deployment's) may reach either stream first: compare up to the id both have.
  const replayed = replayA.committed.map((f) => f.id ?? 0);
  const live = streamA.committed.map((f) => f.id ?? 0);
  const upTo = Math.min(replayed.at(-1) ?? 0, live.at(-1) ?? 0);
  assert.ok(upTo >= (idsA.at(-1) ?? 0));
  assert.deepEqual(replayed.filter((id) => id <= upTo), live.filter((id) => id <= upTo), 'the replay is what the live stream sent');
  assert.ok(!replayA.frames.some((f) => f.event === 'resync_required'));

  await Promise.all([streamA.close(), streamAdmin.close(), replayA.close()]);
});
