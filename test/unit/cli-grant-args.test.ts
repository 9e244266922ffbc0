import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grantBody, grantee } from '../../src/cli/client/core/grant-args.ts';

test('grantBody: words (and --group, --id) to a POST /v2/auth/grants body', async (t) => {
  const cases: Array<[name: string, words: string[], group: string | undefined, id: string | undefined, expected: ReturnType<typeof grantBody>]> = [
    ['identity', ['alice', 'read,update', '/team-a'], undefined, undefined, { ok: true, body: { identity: 'alice', actions: ['read', 'update'], path: '/team-a' } }],
    ['group', ['read', '/team-a'], 'team-a', undefined, { ok: true, body: { group: 'team-a', actions: ['read'], path: '/team-a' } }],
    ['with id, spaces and empty actions dropped', ['ops', 'admin, ,', '/'], undefined, 'ops-admin', { ok: true, body: { identity: 'ops', actions: ['admin'], path: '/', id: 'ops-admin' } }],
    ['too few', ['alice', 'read'], undefined, undefined, { ok: false, error: 'expected IDENTITY ACTIONS PATH (or --group G ACTIONS PATH), got 2 words' }],
    ['identity with --group', ['alice', 'read', '/a'], 'team-a', undefined, { ok: false, error: 'with --group, expected ACTIONS PATH, got 3 words' }],
    ['no actions', ['alice', ',', '/a'], undefined, undefined, { ok: false, error: "no actions in ',': give e.g. read,update" }],
  ];
  for (const [name, words, group, id, expected] of cases) await t.test(name, () => assert.deepEqual(grantBody(words, group, id), expected));
});

test('grantee: the identity, or group:G', async (t) => {
  const cases: Array<[grant: Record<string, unknown>, text: string]> = [
    [{ identity: 'alice' }, 'alice'],
    [{ group: 'team-a' }, 'group:team-a'],
  ];
  for (const [grant, text] of cases) await t.test(text, () => assert.equal(grantee(grant), text));
});
