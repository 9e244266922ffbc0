import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { startAuthScheduler } from '../support/auth-scheduler.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { tempDir } from '../support/parts.ts';

/** Under --auth, an app asking for user root needs a grant of run-as-root on its path (issue #15, task users). */

const dir = tempDir('corral-root-tasks-');
const running: PartProcess[] = [];

after(async () => {
  await stopParts(running, 5000);
  rmSync(dir, { recursive: true, force: true });
});

test('--auth: user root needs run-as-root on the app\'s path, on top of create/update', { timeout: 60_000 }, async () => {
  const { part, base, admin, tokenFor } = await startAuthScheduler(dir);
  running.push(part);
  const asAdmin = (method: string, path: string, body: unknown) => marathonCall(base, method, path, body, admin);
  const teamA = await tokenFor('team-a', [{ actions: ['create', 'read', 'update', 'delete'], path: '/team-a' }, { actions: ['run-as-root'], path: '/team-a/legacy' }]);
  const call = (method: string, path: string, body?: unknown) => marathonCall(base, method, path, body, teamA);
  const app = (id: string, user?: string) => ({ id, cmd: 'sleep 1000', cpus: 0.1, mem: 16, instances: 0, ...(user !== undefined ? { user } : {}) });

  assert.equal((await call('POST', '/v2/apps', app('/team-a/web', 'nobody'))).status, 201, 'any other user needs create only');
  const refused = await call('POST', '/v2/apps', app('/team-a/web2', 'root'));
  assert.equal(refused.status, 403);
  assert.match(String(refused.json.message), /"team-a" may not run-as-root \/team-a\/web2/);
  assert.equal((await call('PATCH', '/v2/apps/team-a/web', { user: 'root' })).status, 403, 'an update to root too');
  assert.equal((await call('PUT', '/v2/apps', [{ id: '/team-a/web', user: '0' }])).status, 403, 'uid 0 in a bulk update');
  assert.equal((await call('POST', '/v2/groups', { id: '/team-a/g', apps: [app('/team-a/g/x', 'root')] })).status, 403, 'a root app inside a group');
  assert.equal((await call('PATCH', '/v2/apps/team-a/web?force=true', { instances: 0 })).status, 200, 'a write that asks no root needs no grant of it');
  assert.equal((await call('POST', '/v2/apps', app('/team-a/legacy/x', 'root'))).status, 201, 'granted where run-as-root is');
  assert.equal((await asAdmin('POST', '/v2/apps', app('/ops/x', 'root'))).status, 201, 'admin may');
  const apps = await call('GET', '/v2/apps');
  assert.deepEqual((apps.json.apps as Array<{ id: string }>).map((a) => a.id).sort(), ['/team-a/legacy/x', '/team-a/web']);

  // Decided on the app as the write leaves it: a write that does not name the user keeps root.
  assert.equal((await asAdmin('POST', '/v2/apps', app('/team-a/ops', 'root'))).status, 201);
  const scaled = await call('PATCH', '/v2/apps/team-a/ops?force=true', { instances: 0 });
  assert.equal(scaled.status, 403, 'a partial update of an app that runs as root');
  assert.match(String(scaled.json.message), /"team-a" may not run-as-root \/team-a\/ops/);
  assert.equal((await call('PUT', '/v2/apps/team-a/ops?force=true', { cmd: 'sleep 2000' })).status, 403, 'a partial PUT');
  assert.equal((await call('PUT', '/v2/apps?force=true', [{ id: '/team-a/ops', cmd: 'sleep 2000' }])).status, 403, 'a partial bulk PUT');
  assert.equal((await call('PUT', '/v2/apps/team-a/ops?force=true', { user: 'nobody' })).status, 200, 'moving it off root needs no grant of it');
  // A rollback to a version that ran as root.
  const versions = async (id: string): Promise<string[]> => (await call('GET', `/v2/apps${id}/versions`)).json.versions as string[];
  const [offRoot, asRoot] = await versions('/team-a/ops');
  assert.equal((await call('PUT', '/v2/apps/team-a/ops?force=true', { version: asRoot })).status, 403, 'a rollback to a root version');
  assert.equal((await call('PUT', '/v2/apps/team-a/ops?force=true', { version: offRoot })).status, 200, 'a rollback to a version of another user');
  assert.equal((await asAdmin('PUT', '/v2/apps/team-a/ops?force=true', { version: asRoot })).status, 200, 'admin may roll back to root');
});
