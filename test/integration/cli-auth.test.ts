import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { corral, corralJson } from '../support/cli-run.ts';
import { startPart, tempDir } from '../support/parts.ts';

/**
 * `corral whoami` and `corral token create|list|revoke` against a real `corral scheduler --auth`,
 * and what the CLI says after a 401 or a 403.
 */

const dir = tempDir('corral-cli-auth-');
const adminFile = join(dir, 'scheduler', 'admin.token');
let scheduler: PartProcess;
let master: string;

before(async () => {
  scheduler = await startPart('scheduler', ['scheduler', '--auth', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler')], dir);
  master = String(scheduler.ready.api);
});

after(async () => {
  await stopParts([scheduler], 5000);
  rmSync(dir, { recursive: true, force: true });
});

test('whoami names the identity and its grants; token create prints one token, list shows it without secrets, revoke ends it', async () => {
  const asAdmin = ['--token-file', adminFile];
  const me = await corral(['whoami', ...asAdmin], { master });
  assert.equal(me.code, 0, me.stderr);
  assert.match(me.stdout, /admin \(user\)/);
  assert.match(me.stdout, /admin on \//);

  const created = await corral(['token', 'create', 'admin', '--expires-in', '3600', ...asAdmin], { master });
  assert.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  assert.match(token, /^[\w-]+\.[\w-]+$/, 'stdout is the token alone, ready for > FILE');
  const [id] = token.split('.');
  assert.equal((await corral(['whoami'], { master, env: { CORRAL_TOKEN: token } })).code, 0);

  const listed = await corralJson<Array<{ id: string; identityId: string; expiresAt?: number }>>(['token', 'list', '--json', ...asAdmin], { master });
  const mine = listed.find((t) => t.id === id);
  assert.equal(mine?.identityId, 'admin');
  assert.ok(mine?.expiresAt !== undefined);
  const table = await corral(['token', 'list', ...asAdmin], { master });
  assert.match(table.stdout, new RegExp(`${String(id)}\\s+admin`));
  assert.ok(!table.stdout.includes(token.split('.')[1] ?? token), 'no secret in the listing');

  assert.equal((await corral(['token', 'revoke', String(id), ...asAdmin], { master })).code, 0);
  const refused = await corral(['whoami', '--token', token], { master });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /HTTP 401/);
  assert.match(refused.stderr, /refused the token from --token \(unknown, expired or revoked\)/);
  assert.ok(!refused.stderr.includes(token));
});

test('a 403 says the identity lacks the grant; an unreadable --token-file is a usage error naming the file', async () => {
  const admin = readFileSync(adminFile, 'utf8').trim();
  const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const response = await request(`${master}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(response.statusCode, 201);
    return (await response.body.json()) as Record<string, unknown>;
  };
  await post('/v2/auth/identities', { id: 'intern' });
  const { token } = await post('/v2/auth/tokens', { identity: 'intern' });
  const forbidden = await corral(['agent', 'list'], { master, env: { CORRAL_TOKEN: String(token) } });
  assert.equal(forbidden.code, 1);
  assert.match(forbidden.stderr, /HTTP 403/);
  assert.match(forbidden.stderr, /lacks the grant/);

  const missing = await corral(['app', 'list', '--token-file', join(dir, 'nope.token')], { master });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--token-file: .*nope\.token: cannot read the token file \(ENOENT\)/);
});

test('identity add|list|remove and grant add|list|remove (admin); a non-admin gets the server\'s 403', { timeout: 90_000 }, async () => {
  const asAdmin = ['--token-file', adminFile];
  const added = await corral(['identity', 'add', 'alice', '--group', 'team-a', '--group', 'readers', ...asAdmin], { master });
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /Added identity alice \(user\), groups team-a, readers/);
  const [service, badKind] = await Promise.all([
    corral(['identity', 'add', 'ci', '--kind', 'service', ...asAdmin], { master }),
    corral(['identity', 'add', 'robby', '--kind', 'robot', ...asAdmin], { master }),
  ]);
  assert.equal(service.code, 0, service.stderr);
  assert.equal(badKind.code, 2);
  assert.match(badKind.stderr, /--kind must be user or service, not 'robot'/);
  const identities = await corral(['identity', 'list', ...asAdmin], { master });
  assert.equal(identities.code, 0, identities.stderr);
  assert.match(identities.stdout, /alice\s+user\s+team-a,readers\s+no/);
  assert.match(identities.stdout, /ci\s+service\s+-\s+no/);

  const [byIdentity, byGroup, unknownAction, wrongWords] = await Promise.all([
    corral(['grant', 'add', 'alice', 'read,update', '/team-a', ...asAdmin], { master }),
    corral(['grant', 'add', '--group', 'team-a', 'create,read', '/team-a/', ...asAdmin], { master }),
    corral(['grant', 'add', 'alice', 'fly', '/team-a', ...asAdmin], { master }),
    corral(['grant', 'add', 'alice', '/team-a', ...asAdmin], { master }),
  ]);
  assert.equal(byIdentity.code, 0, byIdentity.stderr);
  assert.match(byIdentity.stdout, /Granted read,update on \/team-a to alice \(grant id 'alice \/team-a'\)/);
  assert.equal(byGroup.code, 0, byGroup.stderr);
  assert.match(byGroup.stdout, /to group:team-a \(grant id 'group:team-a \/team-a'\)/);
  assert.equal(unknownAction.code, 1);
  assert.match(unknownAction.stderr, /Object is not valid\n {2}\/actions\/0: /);
  assert.equal(wrongWords.code, 2);
  const grants = await corral(['grant', 'list', ...asAdmin], { master });
  assert.match(grants.stdout, /alice \/team-a\s+alice\s+read,update\s+\/team-a/);
  assert.match(grants.stdout, /group:team-a \/team-a\s+group:team-a\s+create,read\s+\/team-a/);

  const token = (await corral(['token', 'create', 'alice', ...asAdmin], { master })).stdout.trim();
  const asAlice = { master, env: { CORRAL_TOKEN: token } };
  assert.match((await corral(['whoami'], asAlice)).stdout, /create,read on \/team-a \(via group team-a\)/);
  const forbidden = await corral(['identity', 'list'], asAlice);
  assert.equal(forbidden.code, 1);
  assert.match(forbidden.stderr, /alice.*admin.*\(HTTP 403\)/);

  const ungranted = await corral(['grant', 'remove', 'group:team-a /team-a', ...asAdmin], { master });
  assert.equal(ungranted.code, 0, ungranted.stderr);
  const ids = (await corralJson<Array<{ id: string }>>(['grant', 'list', ...asAdmin], { master })).map((g) => g.id);
  assert.ok(!ids.includes('group:team-a /team-a') && ids.includes('alice /team-a'), ids.join('; '));
  const missing = await corral(['grant', 'remove', 'nobody /x', ...asAdmin], { master });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /HTTP 404/);

  const removed = await corral(['identity', 'remove', 'alice', ...asAdmin], { master });
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /Removed identity alice: 1 token revoked, grants removed: alice \/team-a/);
  assert.ok(!(await corralJson<Array<{ id: string }>>(['identity', 'list', ...asAdmin], { master })).some((i) => i.id === 'alice'));
  assert.equal((await corral(['whoami'], asAlice)).code, 1, 'its token is revoked');
});
