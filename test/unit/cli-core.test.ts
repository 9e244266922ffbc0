import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mastersOf, UsageError } from '../../src/cli/client/command-kit.ts';
import { agentState, agentUsage, formatAttributes } from '../../src/cli/client/core/agent-rows.ts';
import { parseAssignments } from '../../src/cli/client/core/assignments.ts';
import { formatAge } from '../../src/cli/client/core/durations.ts';
import { clockTime, describeEvent } from '../../src/cli/client/core/event-lines.ts';
import { SseParser } from '../../src/cli/client/core/sse-frames.ts';
import { renderTable } from '../../src/cli/client/core/table.ts';
import { authHint, DEFAULT_TOKEN_FILE, tokenSource, type TokenSource } from '../../src/cli/client/core/token-source.ts';
import { failureMessage } from '../../src/cli/client/http-client.ts';

test('renderTable aligns columns, right-aligns numbers, leaves no trailing spaces', () => {
  const lines = renderTable([{ header: 'ID' }, { header: 'N', align: 'right' }, { header: 'CMD' }], [['/a', '1', 'sleep 1'], ['/longer', '12', '']]);
  assert.deepEqual(lines, ['ID        N  CMD', '/a        1  sleep 1', '/longer  12']);
});

test('renderTable cuts the shrinkable columns (widest first) to fit, never the others', () => {
  const columns = [{ header: 'ID' }, { header: 'REASON', shrink: true }, { header: 'NOTE', shrink: true }];
  const rows = [['/app', 'insufficient cpus on 3 of 3 agents', 'short']];
  // At 20 columns the shrinkable ones are at their floor (8, or a shorter header's width): the row stays wider.
  const cases: Array<[width: number, expected: string]> = [
    [Infinity, '/app  insufficient cpus on 3 of 3 agents  short'],
    [40, '/app  insufficient cpus on 3 of …  short'],
    [20, '/app  insuffi…  short'],
  ];
  for (const [width, expected] of cases) assert.equal(renderTable(columns, rows, width)[1], expected, `width ${width}`);
  // Only the last column shrinks when none is marked; styles are applied after padding.
  const [, styled] = renderTable([{ header: 'A', style: (t) => `<${t}>` }, { header: 'B' }], [['x', 'abcdefghijklmnop']], 13);
  assert.equal(styled, '<x>  abcdefghi…');
});

test('SseParser: frames across chunks, CRLF, comments, multi-line data, ids', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.push('retry: 500\n\n:\n\nid: 7\nevent: status_update_event\ndata: {"a":'), []);
  assert.deepEqual(parser.push('1}\n\r'), []);
  assert.deepEqual(parser.push('\nevent: x\r\ndata: one\r\ndata:two\r\n\r\ndata: plain\n\n'), [
    { event: 'status_update_event', data: '{"a":1}', id: '7' },
    { event: 'x', data: 'one\ntwo' },
    { event: 'message', data: 'plain' },
  ]);
});

test('parseAssignments: key=value words as a partial app', () => {
  const cases: Array<[string[], ReturnType<typeof parseAssignments>]> = [
    [['instances=3', 'cpus=0.5', 'cmd=python3 -m http.server 8080'], { ok: true, patch: { instances: 3, cpus: 0.5, cmd: 'python3 -m http.server 8080' } }],
    [['env.PORT=8080', 'labels.HAPROXY_0_VHOST=a.b', 'env.X=a=b'], { ok: true, patch: { env: { PORT: '8080', X: 'a=b' }, labels: { HAPROXY_0_VHOST: 'a.b' } } }],
    [['requirePorts=true', 'constraints=[["hostname","UNIQUE"]]', 'upgradeStrategy.minimumHealthCapacity=0.5'],
      { ok: true, patch: { requirePorts: true, constraints: [['hostname', 'UNIQUE']], upgradeStrategy: { minimumHealthCapacity: 0.5 } } }],
    [['cmd=[oops'], { ok: true, patch: { cmd: '[oops' } }],
    [['instances'], { ok: false, error: "'instances' is not key=value (e.g. instances=3, env.NAME=value)" }],
    [['=3'], { ok: false, error: "'=3' is not key=value (e.g. instances=3, env.NAME=value)" }],
    [['env..X=1'], { ok: false, error: "'env..X' has an empty part" }],
    [['cpus=1', 'cpus.x=2'], { ok: false, error: "'cpus.x' sets a field inside 'cpus', which is already set to a value" }],
  ];
  for (const [words, expected] of cases) assert.deepEqual(parseAssignments(words), expected, words.join(' '));
});

test('mastersOf: flag over CORRAL_MASTER over the default; comma lists; bad URLs are usage errors', () => {
  assert.deepEqual(mastersOf(undefined, {}), ['http://127.0.0.1:8080']);
  assert.deepEqual(mastersOf(undefined, { CORRAL_MASTER: 'http://127.0.0.2:8080/' }), ['http://127.0.0.2:8080']);
  assert.deepEqual(mastersOf('http://a:1, http://b:2', { CORRAL_MASTER: 'http://c:3' }), ['http://a:1', 'http://b:2']);
  assert.throws(() => mastersOf('127.0.0.1:8080', {}), UsageError);
  assert.throws(() => mastersOf('ftp://x', {}), UsageError);
  assert.throws(() => mastersOf(',', {}), UsageError);
});

test('failureMessage: the server\'s message, with validation details and holding deployments', () => {
  assert.equal(failureMessage(404, { message: "App '/x' does not exist" }, ''), "App '/x' does not exist");
  assert.equal(failureMessage(422, { message: 'Object is not valid', details: [{ path: '/cpus', errors: ['must be >= 0', 'bad'] }] }, ''),
    'Object is not valid\n  /cpus: must be >= 0; bad');
  assert.equal(failureMessage(409, { message: 'locked', deployments: [{ id: 'd1' }, { id: 'd2' }] }, ''), 'locked\n  deployments: d1, d2');
  assert.equal(failureMessage(502, 'Bad Gateway', 'Bad Gateway\n'), 'Bad Gateway');
  assert.equal(failureMessage(500, {}, ''), 'HTTP 500');
});

test('describeEvent says what happened in one line', () => {
  const plan = { id: 'd1', steps: [{ actions: [{ action: 'StartApplication', app: '/a' }] }, { actions: [{ action: 'ScaleApplication', app: '/b' }] }] };
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['status_update_event', { appId: '/web', taskId: 'web.1', taskStatus: 'TASK_RUNNING', host: '127.0.0.11', ports: [31000, 31001], message: '' }, '/web web.1 TASK_RUNNING on 127.0.0.11:31000,31001'],
    ['status_update_event', { appId: '/web', taskId: 'web.1', taskStatus: 'TASK_FAILED', host: 'h', ports: [], message: 'Command exited with status 3' }, '/web web.1 TASK_FAILED on h (Command exited with status 3)'],
    ['deployment_info', { plan, currentStep: plan.steps[1] }, 'deployment d1 step 2/2: ScaleApplication /b'],
    ['deployment_failed', { id: 'd1', reason: 'timeout' }, 'deployment d1 failed: timeout'],
    ['instance_health_changed_event', { runSpecId: '/web', instanceId: 'web.1', healthy: false }, '/web web.1 unhealthy'],
    ['api_post_event', { appDefinition: { id: '/web' }, uri: '/v2/apps', clientIp: '127.0.0.1' }, '/web changed through /v2/apps by 127.0.0.1'],
    ['something_new', { eventType: 'something_new', timestamp: 't', x: 1 }, '{"x":1}'],
  ];
  for (const [type, data, expected] of cases) assert.equal(describeEvent(type, data), expected, type);
  assert.equal(clockTime('2026-11-22T01:02:03.456Z'), '01:02:03.456');
  assert.equal(clockTime('later'), 'later');
});

test('agent rows: used, total and free scalars; state words; attributes', () => {
  const usage = agentUsage({ resources: { cpus: 2, mem: 1024, disk: 1000, ports: '[31000-31099]' }, used_resources: { cpus: 0.30000000000000004, mem: 96, disk: 0 } });
  assert.deepEqual(usage, { total: { cpus: 2, mem: 1024, disk: 1000 }, used: { cpus: 0.3, mem: 96, disk: 0 }, free: { cpus: 1.7, mem: 928, disk: 1000 }, ports: '[31000-31099]' });
  assert.deepEqual(agentUsage(undefined).free, { cpus: 0, mem: 0, disk: 0 }, 'an agent missing from the state shows zeros');
  assert.equal(agentState({ connected: true }), 'connected');
  assert.equal(agentState({ connected: false, draining: true }), 'disconnected, draining');
  assert.equal(formatAttributes({ rack: 'a', zone: 1 }), 'rack:a;zone:1');
});

test('formatAge picks the largest whole unit', () => {
  const cases: Array<[number, string]> = [[0, '0s'], [59_999, '59s'], [60_000, '1m'], [3_599_999, '59m'], [3_600_000, '1h'], [90_000_000, '1d'], [-5000, '0s']];
  for (const [ms, expected] of cases) assert.equal(formatAge(1_000_000_000 - ms, 1_000_000_000), expected, String(ms));
  assert.equal(formatAge(Number.NaN, 0), '-');
});

test('tokenSource: --token, --token-file, CORRAL_TOKEN, CORRAL_TOKEN_FILE, then ./data/admin.token; blanks count as unset', () => {
  const cases: Array<[flags: { token?: string; tokenFile?: string }, env: Record<string, string>, expected: TokenSource]> = [
    [{ token: 't1', tokenFile: '/f' }, { CORRAL_TOKEN: 'e', CORRAL_TOKEN_FILE: '/g' }, { kind: 'token', token: 't1', via: '--token' }],
    [{ tokenFile: '/f' }, { CORRAL_TOKEN: 'e', CORRAL_TOKEN_FILE: '/g' }, { kind: 'file', file: '/f', via: '--token-file' }],
    [{ token: ' ' }, { CORRAL_TOKEN: ' e\n', CORRAL_TOKEN_FILE: '/g' }, { kind: 'token', token: 'e', via: 'CORRAL_TOKEN' }],
    [{}, { CORRAL_TOKEN: '', CORRAL_TOKEN_FILE: '/g' }, { kind: 'file', file: '/g', via: 'CORRAL_TOKEN_FILE' }],
    [{}, {}, { kind: 'file', file: DEFAULT_TOKEN_FILE, via: 'default' }],
  ];
  for (const [flags, env, expected] of cases) assert.deepEqual(tokenSource(flags, env), expected, JSON.stringify({ flags, env }));
  assert.equal(DEFAULT_TOKEN_FILE, './data/admin.token');
});

test('authHint says how to pass a token after a 401, what is missing after a 403, and never the token', () => {
  const cases: Array<[status: number, source: TokenSource, expected: RegExp]> = [
    [401, { kind: 'none' }, /none was sent: pass a token with --token-file FILE, CORRAL_TOKEN or --token .*\.\/data\/admin\.token/],
    [401, { kind: 'token', token: 'secret-x', via: 'CORRAL_TOKEN' }, /refused the token from CORRAL_TOKEN \(unknown, expired or revoked\)/],
    [401, { kind: 'file', file: '/t', via: '--token-file' }, /refused the token from --token-file \/t /],
    [401, { kind: 'file', file: './data/admin.token', via: 'default' }, /refused the token from \.\/data\/admin\.token /],
    [403, { kind: 'token', token: 'secret-x', via: '--token' }, /lacks the grant/],
  ];
  for (const [status, source, expected] of cases) {
    const hint = authHint(status, source);
    assert.match(hint, expected);
    assert.ok(!hint.includes('secret-x'));
  }
});
