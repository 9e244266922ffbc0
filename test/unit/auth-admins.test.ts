import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminLockout, hasAdmin } from '../../src/auth/core/admins.ts';
import type { Grant, Identity } from '../../src/auth/types.ts';

const admin: Identity = { id: 'admin', kind: 'user' };
const ops: Identity = { id: 'ops', kind: 'user', groups: ['sre'] };
const alice: Identity = { id: 'alice', kind: 'user' };
const adminGrant: Grant = { identity: 'admin', actions: ['admin'], path: '/' };
const sreGrant: Grant = { group: 'sre', actions: ['admin'], path: '/' };
const readAll: Grant = { identity: 'alice', actions: ['read'], path: '/' };

test('hasAdmin: someone holds admin on /, directly or through an identity group', () => {
  const cases: Array<[name: string, identities: Identity[], grants: Grant[], expected: boolean]> = [
    ['the bootstrap admin', [admin], [adminGrant], true],
    ['through a group grant', [ops], [sreGrant], true],
    ['a grant of admin to an identity that does not exist', [alice], [adminGrant], false],
    ['read on / is not admin', [alice], [readAll], false],
    ['nobody at all', [], [], false],
  ];
  for (const [name, identities, grants, expected] of cases) assert.equal(hasAdmin(identities, grants), expected, name);
});

test('adminLockout: a change that leaves nobody holding admin on / is refused, with why', () => {
  const before = { identities: [admin, ops, alice], grants: [adminGrant, sreGrant, readAll] };
  const cases: Array<[name: string, before: { identities: Identity[]; grants: Grant[] }, after: { identities: Identity[]; grants: Grant[] }, refused: boolean]> = [
    ['removing one admin grant while a group grant remains', before, { identities: [admin, ops, alice], grants: [sreGrant, readAll] }, false],
    ['removing the last admin grant', { identities: [admin, alice], grants: [adminGrant, readAll] }, { identities: [admin, alice], grants: [readAll] }, true],
    ['removing the last admin identity', { identities: [admin, alice], grants: [adminGrant, readAll] }, { identities: [alice], grants: [readAll] }, true],
    ['taking the last admin out of its group', { identities: [ops], grants: [sreGrant] }, { identities: [{ ...ops, groups: [] }], grants: [sreGrant] }, true],
    ['replacing the last admin grant by a lesser one', { identities: [admin], grants: [adminGrant] }, { identities: [admin], grants: [{ ...adminGrant, actions: ['read'] }] }, true],
    ['no admin before (no --auth bootstrap yet): nothing to keep', { identities: [alice], grants: [readAll] }, { identities: [], grants: [] }, false],
    ['removing someone else', before, { identities: [admin, ops], grants: [adminGrant, sreGrant] }, false],
  ];
  for (const [name, b, a, refused] of cases) {
    const reason = adminLockout(b, a);
    if (refused) assert.match(String(reason), /nobody would hold admin on \//, name);
    else assert.equal(reason, undefined, name);
  }
});
