import assert from 'node:assert/strict';
import { test } from 'node:test';
import { covers, grantPath, normalizePath, scopesOf } from '../../src/auth/core/paths.ts';
import { authorize, filterReadable, validateGrants } from '../../src/auth/core/policy.ts';
import { rootTaskRefusal, runsAsRoot } from '../../src/auth/core/root-tasks.ts';
import { Forbidden, InvalidPolicy } from '../../src/auth/errors.ts';
import type { Action, Grant, Identity } from '../../src/auth/types.ts';

const alice: Identity = { id: 'alice', kind: 'user', groups: ['team-a'] };
const bob: Identity = { id: 'bob', kind: 'user' };
const root: Identity = { id: 'root', kind: 'user' };
const lb: Identity = { id: 'lb', kind: 'service' };

const GRANTS: Grant[] = [
  { group: 'team-a', actions: ['create', 'read', 'update', 'delete'], path: '/team-a' },
  { identity: 'bob', actions: ['scale'], path: '/team-a/web/' },
  { identity: 'bob', actions: ['read', 'logs'], path: '/team-b' },
  { identity: 'root', actions: ['admin'], path: '/' },
  { identity: 'lb', actions: ['read'], path: '/' },
  // Invalid (admin off the root, bad path): they must give nothing.
  { identity: 'bob', actions: ['admin'], path: '/team-b' },
  { identity: 'bob', actions: ['delete'], path: '/team-b/../team-a' },
  // Root tasks: a grant of its own.
  { group: 'team-a', actions: ['run-as-root'], path: '/team-a/legacy' },
  { identity: 'erin', actions: ['run-as-root'], path: '/team-c' },
];

test('normalizePath makes one canonical form and refuses what could name two places', async (t) => {
  const cases: Array<[raw: string, expected: string | RegExp]> = [
    ['/team-a', '/team-a'],
    ['team-a/web', '/team-a/web'],
    ['/team-a/', '/team-a'],
    ['//team-a///web//', '/team-a/web'],
    ['/', '/'],
    ['///', '/'],
    ['/a.b/c', '/a.b/c'],
    ['', /empty/],
    ['/team-a/../team-b', /'\.\.' segment/],
    ['/team-a/./web', /'\.' segment/],
    ['/Team-A', /not a valid id segment/],
    ['/team-a%2f..', /not a valid id segment/],
    ['/team-a\u0000', /not a valid id segment/],
    [`/${'a'.repeat(1100)}`, /longer than 1024/],
  ];
  for (const [raw, expected] of cases) {
    await t.test(JSON.stringify(raw.slice(0, 40)), () => {
      const result = normalizePath(raw);
      if (typeof expected === 'string') assert.deepEqual(result, { ok: true, path: expected });
      else assert.ok(!result.ok && expected.test(result.reason), JSON.stringify(result));
    });
  }
});

test('grantPath takes a DC/OS Marathon resource as its path, and a path as it is', async (t) => {
  const cases: Array<[raw: string, expected: string]> = [
    ['dcos:service:marathon:marathon:services:/team-a', '/team-a'],
    ['dcos:service:marathon:marathon:services:/', '/'],
    ['DCOS:Service:Marathon:Marathon:Services:/team-a/web', '/team-a/web'],
    ['/team-a', '/team-a'],
    ['team-a', 'team-a'],
    // Other DC/OS resources are no Marathon path: left as they are, and refused by normalizePath.
    ['dcos:adminrouter:service:marathon', 'dcos:adminrouter:service:marathon'],
    ['dcos:service:marathon:marathon:services:team-a', 'dcos:service:marathon:marathon:services:team-a'],
  ];
  for (const [raw, expected] of cases) await t.test(raw, () => assert.equal(grantPath(raw), expected));
  assert.deepEqual(validateGrants([{ identity: 'x', actions: ['read'], path: 'dcos:service:marathon:marathon:services:/team-a' }]), []);
  assert.equal(validateGrants([{ identity: 'x', actions: ['read'], path: 'dcos:adminrouter:service:marathon' }]).length, 1);
});

test('covers matches whole segments only', () => {
  const cases: Array<[scope: string, path: string, expected: boolean]> = [
    ['/team-a', '/team-a', true],
    ['/team-a', '/team-a/web', true],
    ['/team-a', '/team-a/web/api', true],
    ['/team-a', '/team-ab', false],
    ['/team-a', '/team-ab/web', false],
    ['/team-a/web', '/team-a', false],
    ['/', '/anything/below', true],
    ['/', '/', true],
  ];
  for (const [scope, path, expected] of cases) assert.equal(covers(scope, path), expected, `${scope} covers ${path}`);
  assert.deepEqual(scopesOf('/team-a/web'), ['/', '/team-a', '/team-a/web']);
  assert.deepEqual(scopesOf('/'), ['/']);
});

test('authorize answers each identity, action and path with the grant or the reason', async (t) => {
  const cases: Array<{ who: Identity; action: Action; path: string; grant?: number; reason?: RegExp }> = [
    // Through the identity group, on the group itself and below, by whole segments.
    { who: alice, action: 'create', path: '/team-a', grant: 0 },
    { who: alice, action: 'update', path: '/team-a/web', grant: 0 },
    { who: alice, action: 'read', path: 'team-a/web/', grant: 0 },
    { who: alice, action: 'update', path: '/team-ab', reason: /"alice" may not update \/team-ab: it holds no grant of update, admin on \/team-ab or a group above it/ },
    { who: alice, action: 'read', path: '/team-ab/web', reason: /may not read \/team-ab\/web/ },
    { who: alice, action: 'read', path: '/', reason: /may not read \/:/ },
    // update allows scale, restart and kill-tasks; read does not allow logs.
    { who: alice, action: 'scale', path: '/team-a/web', grant: 0 },
    { who: alice, action: 'restart', path: '/team-a/web', grant: 0 },
    { who: alice, action: 'kill-tasks', path: '/team-a/web', grant: 0 },
    { who: alice, action: 'logs', path: '/team-a/web', reason: /no grant of logs, admin/ },
    { who: alice, action: 'admin', path: '/', reason: /may not admin \/: it holds no grant of admin on the cluster/ },
    // A fine grant gives only itself: scale is not update.
    { who: bob, action: 'scale', path: '/team-a/web', grant: 1 },
    { who: bob, action: 'scale', path: '/team-a/web/api', grant: 1 },
    { who: bob, action: 'update', path: '/team-a/web', reason: /no grant of update, admin/ },
    { who: bob, action: 'scale', path: '/team-a/webshop', reason: /may not scale/ },
    { who: bob, action: 'logs', path: '/team-b/db', grant: 2 },
    // Invalid grants give nothing: admin off the root, a path with '..'.
    { who: bob, action: 'delete', path: '/team-b/db', reason: /may not delete/ },
    { who: bob, action: 'delete', path: '/team-a/web', reason: /may not delete/ },
    { who: bob, action: 'admin', path: '/', reason: /no grant of admin on the cluster/ },
    // admin allows everything, everywhere.
    { who: root, action: 'delete', path: '/team-b/db', grant: 3 },
    { who: root, action: 'logs', path: '/x', grant: 3 },
    { who: root, action: 'admin', path: '/', grant: 3 },
    // Read-only consumers.
    { who: lb, action: 'read', path: '/team-b/db', grant: 4 },
    { who: lb, action: 'update', path: '/team-b/db', reason: /"lb" may not update/ },
    // A bad path is refused whoever asks.
    { who: root, action: 'read', path: '/team-a/../team-b', reason: /invalid path: .*'\.\.' segment/ },
    // run-as-root is granted only by itself (or admin), and gives nothing else.
    { who: alice, action: 'run-as-root', path: '/team-a/legacy/app', grant: 7 },
    { who: alice, action: 'run-as-root', path: '/team-a/web', reason: /"alice" may not run-as-root \/team-a\/web: it holds no grant of run-as-root, admin/ },
    { who: root, action: 'run-as-root', path: '/x', grant: 3 },
    { who: { id: 'erin', kind: 'user' }, action: 'update', path: '/team-c/app', reason: /"erin" may not update/ },
    { who: bob, action: 'run-as-root', path: '/team-b/db', reason: /may not run-as-root/ },
    // No identity-group membership, no group grant.
    { who: { id: 'carol', kind: 'user' }, action: 'read', path: '/team-a', reason: /"carol" may not read/ },
  ];
  for (const { who, action, path, grant, reason } of cases) {
    await t.test(`${who.id} ${action} ${path}`, () => {
      const decision = authorize(GRANTS, who, action, path);
      if (grant !== undefined) assert.deepEqual(decision, { allowed: true, grant: GRANTS[grant] });
      else assert.ok(!decision.allowed && reason?.test(decision.reason), JSON.stringify(decision));
    });
  }
});

test('filterReadable keeps, in order, only the paths the identity may read', () => {
  const paths = ['/team-b/db', '/team-a/web', '/team-ab/web', '/team-a', '/', 'bad/../path'];
  const cases: Array<[who: Identity, expected: string[]]> = [
    [alice, ['/team-a/web', '/team-a']],
    [bob, ['/team-b/db']],
    [root, ['/team-b/db', '/team-a/web', '/team-ab/web', '/team-a', '/']],
    [lb, ['/team-b/db', '/team-a/web', '/team-ab/web', '/team-a', '/']],
    [{ id: 'nobody', kind: 'user' }, []],
  ];
  for (const [who, expected] of cases) assert.deepEqual(filterReadable(GRANTS, who, paths), expected, who.id);
});

test('a refusal becomes a coded error that keeps its reason', () => {
  const decision = authorize(GRANTS, alice, 'delete', '/team-ab');
  assert.ok(!decision.allowed);
  const forbidden = new Forbidden(decision.reason);
  assert.deepEqual([forbidden.code, forbidden.name, forbidden.message], ['ERR_AUTH_FORBIDDEN', 'Forbidden', decision.reason]);
  const invalid = new InvalidPolicy(validateGrants([{ identity: 'x', actions: [], path: '/' }]));
  assert.equal(invalid.message, 'invalid auth policy: grant 0 must grant at least one action');
});

test('validateGrants names every problem of every grant', () => {
  assert.deepEqual(validateGrants(GRANTS.slice(0, 5)), []);
  const bad = [
    { identity: 'x', group: 'y', actions: ['read'], path: '/' },
    { actions: ['read'], path: '/' },
    { identity: 'x', actions: [], path: '/' },
    { identity: 'x', actions: ['read', 'fly'], path: '/' },
    { identity: 'x', actions: ['read'], path: '/a/../b' },
    { identity: 'x', actions: ['admin'], path: '/team-a' },
  ] as unknown as Grant[];
  assert.deepEqual(validateGrants(bad), [
    'grant 0 must name exactly one of identity or group',
    'grant 1 must name exactly one of identity or group',
    'grant 2 must grant at least one action',
    'grant 3 must use only known actions (create, read, update, delete, scale, restart, kill-tasks, logs, admin, run-as-root), not fly',
    'grant 4 must have a valid path (the path "/a/../b" holds a \'..\' segment)',
    'grant 5 must grant admin on / only (admin is cluster-wide), not on /team-a',
  ]);
});

test('runsAsRoot and rootTaskRefusal: apps a write leaves running as root need run-as-root on their paths', () => {
  for (const [user, expected] of [['root', true], [' root ', true], ['0', true], ['00', true], ['nobody', false], ['root2', false], ['10', false], [undefined, false], [0, false]] as const) {
    assert.equal(runsAsRoot(user), expected, String(user));
  }
  const grants: Grant[] = [
    { identity: 'team-a', actions: ['create', 'update'], path: '/a' },
    { identity: 'team-a', actions: ['run-as-root'], path: '/a/legacy' },
    { identity: 'ops', actions: ['admin'], path: '/' },
  ];
  const teamA = { id: 'team-a', kind: 'user' as const };
  const cases: Array<[name: string, who: Identity, apps: Array<{ id: string; user?: string }>, refused: RegExp | undefined]> = [
    ['no app runs as root', teamA, [{ id: '/a/x', user: 'nobody' }, { id: '/a/y' }], undefined],
    ['an app as root without the grant', teamA, [{ id: '/a/x', user: 'root' }], /"team-a" may not run-as-root \/a\/x/],
    ['uid 0 counts as root', teamA, [{ id: '/a/x', user: '0' }], /run-as-root \/a\/x/],
    ['granted below where run-as-root is', teamA, [{ id: '/a/legacy/x', user: 'root' }], undefined],
    ['the first app refused is named', teamA, [{ id: '/a/legacy/x', user: 'root' }, { id: '/a/y', user: 'nobody' }, { id: '/a/z', user: 'root' }], /run-as-root \/a\/z/],
    ['admin implies run-as-root', { id: 'ops', kind: 'user' }, [{ id: '/b/x', user: 'root' }], undefined],
    ['no apps, nothing to ask', teamA, [], undefined],
  ];
  for (const [name, who, apps, refused] of cases) {
    const reason = rootTaskRefusal(grants, who, apps);
    if (refused === undefined) assert.equal(reason, undefined, name);
    else assert.match(String(reason), refused, name);
  }
});
