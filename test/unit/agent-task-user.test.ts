import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envScript, runAsArgv } from '../../src/agent/core/run-as.ts';
import { decideTaskUser, parsePasswdLine, taskUserName, unreachableAncestor, type Account, type TaskUserSettings } from '../../src/agent/core/task-user.ts';

const on: TaskUserSettings = { defaultUser: 'nobody', switchUser: true, allowRootTasks: false };
const root: Account = { name: 'root', uid: 0, gid: 0 };
const nobody: Account = { name: 'nobody', uid: 65534, gid: 65534 };
const alice: Account = { name: 'alice', uid: 1000, gid: 1000 };

test('taskUserName: the app\'s user, else --default-user; the agent\'s own with --switch-user=false', () => {
  const cases: Array<[string, string | undefined, TaskUserSettings, ReturnType<typeof taskUserName>]> = [
    ['app user', 'www-data', on, { name: 'www-data' }],
    ['no app user: default', undefined, on, { name: 'nobody' }],
    ['empty app user: default', '', on, { name: 'nobody' }],
    ['another default', undefined, { ...on, defaultUser: 'corral' }, { name: 'corral' }],
    ['switch off ignores the app', 'www-data', { ...on, switchUser: false }, { self: true }],
  ];
  for (const [name, appUser, settings, expected] of cases) assert.deepEqual(taskUserName(appUser, settings), expected, name);
});

test('decideTaskUser: unknown users, root and impossible switches are refused with the reason', () => {
  const cases: Array<{ name: string; user: string; account: Account | undefined; agent: Account; settings?: Partial<TaskUserSettings>; expected: RegExp | { switchTo: Account | undefined } }> = [
    { name: 'root agent switches to nobody', user: 'nobody', account: nobody, agent: root, expected: { switchTo: nobody } },
    { name: 'unknown user', user: 'ghost', account: undefined, agent: root, expected: /^user "ghost" does not exist on this agent$/ },
    { name: 'root refused by default', user: 'root', account: root, agent: root, expected: /may not run as root \(user "root", uid 0\).*--allow-root-tasks/ },
    { name: 'uid 0 under another name refused too', user: 'toor', account: { name: 'toor', uid: 0, gid: 0 }, agent: root, expected: /may not run as root \(user "toor"/ },
    { name: 'root allowed: no switch needed', user: 'root', account: root, agent: root, settings: { allowRootTasks: true }, expected: { switchTo: undefined } },
    { name: 'non-root agent, same user: runs', user: 'alice', account: alice, agent: alice, expected: { switchTo: undefined } },
    { name: 'non-root agent, other user: refused', user: 'nobody', account: nobody, agent: alice, expected: /agent runs as "alice" \(uid 1000\), not root, and cannot run the task as "nobody" \(uid 65534\).*--switch-user=false/ },
    { name: 'non-root agent asked for root: the root rule first', user: 'root', account: root, agent: alice, expected: /may not run as root/ },
    { name: 'same uid, other gid: a switch', user: 'alice2', account: { name: 'alice2', uid: 1000, gid: 5 }, agent: alice, expected: /not root/ },
  ];
  for (const c of cases) {
    const decision = decideTaskUser(c.user, c.account, c.agent, { ...on, ...c.settings });
    if (c.expected instanceof RegExp) {
      assert.equal(decision.ok, false, c.name);
      assert.match(decision.ok ? '' : decision.reason, c.expected, c.name);
    } else {
      assert.deepEqual(decision, { ok: true, account: c.account, switchTo: c.expected.switchTo }, c.name);
    }
  }
});

test('parsePasswdLine', () => {
  const cases: Array<[string, Account | undefined]> = [
    ['nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n', nobody],
    ['root:x:0:0:root:/root:/bin/bash', root],
    ['', undefined],
    ['short:x:1:1', undefined],
    ['bad:x:one:1:::', undefined],
    [':x:1:1:::', undefined],
  ];
  for (const [line, expected] of cases) assert.deepEqual(parsePasswdLine(line), expected, JSON.stringify(line));
});

test('unreachableAncestor: search permission as owner, group or other', () => {
  const dir = (path: string, mode: number, uid = 0, gid = 0) => ({ path, mode: 0o40000 | mode, uid, gid });
  const cases: Array<[string, ReturnType<typeof dir>[], Account, string | undefined]> = [
    ['all o+x', [dir('/', 0o755), dir('/tmp', 0o1777), dir('/tmp/w', 0o711)], nobody, undefined],
    ['a 0700 temp dir', [dir('/', 0o755), dir('/tmp/t', 0o700), dir('/tmp/t/w', 0o711)], nobody, '/tmp/t'],
    ['owner bit counts for the owner', [dir('/w', 0o700, 65534, 1)], nobody, undefined],
    ['owner without x, even if others have it', [dir('/w', 0o601, 65534, 1)], nobody, '/w'],
    ['group bit for the primary group', [dir('/w', 0o710, 0, 65534)], nobody, undefined],
    ['group without x', [dir('/w', 0o701, 0, 65534)], nobody, '/w'],
    ['root passes everywhere', [dir('/w', 0o700, 5, 5)], root, undefined],
  ];
  for (const [name, dirs, account, blocked] of cases) assert.equal(unreachableAncestor(dirs, account)?.path, blocked, name);
});

test('runAsArgv and envScript: setpriv only for a switch; the environment as quoted exports', () => {
  const setpriv = '/usr/bin/setpriv';
  assert.deepEqual(runAsArgv(['/bin/sh', '-c', 'x'], { switchTo: nobody, setpriv }).slice(0, 7), [setpriv, '--reuid=65534', '--regid=65534', '--init-groups', '--', '/bin/sh', '-c']);
  assert.deepEqual(runAsArgv(['a', 'b'], { switchTo: undefined, setpriv }).filter((arg) => arg === setpriv || arg === 'a' || arg === 'b'), ['a', 'b']);
  const cases: Array<[string, Record<string, string>, string[], string, string[]]> = [
    ['plain', { A: '1' }, [], "export A='1'\n", []],
    ['quotes and newlines', { A: "it's\n$x" }, [], "export A='it'\\''s\n$x'\n", []],
    ['inherited and not wanted: unset', { A: '1' }, ['PATH', 'A'], "unset PATH\nexport A='1'\n", []],
    ['not shell names skipped', { 'my-var': '1', '1A': '2', B: '3' }, [], "export B='3'\n", ['my-var', '1A']],
    ['a NUL skipped', { A: 'a\0b' }, [], '\n', ['A']],
  ];
  for (const [name, env, inherited, script, skipped] of cases) assert.deepEqual(envScript(env, inherited), { script, skipped }, name);
});
