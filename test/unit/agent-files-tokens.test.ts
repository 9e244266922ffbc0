import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { agentApiGuard, type AgentApiGuard } from '../../src/agent/http/api-tokens.ts';
import { registerFilesRoutes } from '../../src/agent/http/files.ts';
import { agentTokenKey, encodeAgentToken, type AgentTokenClaims, type AgentTokenNeed } from '../../src/auth/core/agent-tokens.ts';
import { hashSecret } from '../../src/auth/core/tokens.ts';

const SECRET = 'Zk3cT1o2Yw8xV5pLrQ7mN4bH6jD9sA0eU1iO3uY5tR8';
const NOW = 1_700_000_000_000;
const KEY = agentTokenKey(hashSecret(SECRET));
const token = (claims: Partial<AgentTokenClaims>, key = KEY): string =>
  encodeAgentToken({ agentId: 'agent-1', scope: 'files', taskIds: ['a.1'], expiresAt: NOW + 60_000, ...claims }, key);

let tmp = '';
let root = '';
/** Admission on, admitted: agent-1 with its credential. */
let guarded: FastifyInstance;
/** Admission on, not yet admitted: no credential. */
let unadmitted: FastifyInstance;
/** Admission off: today's open API, but a sandbox is still its own confinement. */
let open: FastifyInstance;

before(async () => {
  tmp = await realpath(await mkdtemp(join(tmpdir(), 'corral-files-tokens-')));
  root = join(tmp, 'sandboxes');
  await mkdir(join(root, 'a.1'), { recursive: true });
  await mkdir(join(root, 'b.2'), { recursive: true });
  await writeFile(join(root, 'a.1', 'stdout'), 'team a\n');
  await writeFile(join(root, 'b.2', 'stdout'), 'team b secret\n');
  // Planted by task a.1: a way into b.2's sandbox.
  await symlink('../b.2/stdout', join(root, 'a.1', 'neighbour'));
  await symlink('../b.2', join(root, 'a.1', 'next-door'));
  guarded = Fastify();
  registerFilesRoutes(guarded, { sandboxRoot: root, guard: agentApiGuard(() => ({ agentId: 'agent-1', credential: `cred-1.${SECRET}` }), () => NOW) });
  unadmitted = Fastify();
  registerFilesRoutes(unadmitted, { sandboxRoot: root, guard: agentApiGuard(() => ({ agentId: undefined, credential: undefined }), () => NOW) });
  open = Fastify();
  registerFilesRoutes(open, { sandboxRoot: root, guard: agentApiGuard(() => undefined) });
  await Promise.all([guarded.ready(), unadmitted.ready(), open.ready()]);
});

after(async () => {
  await Promise.all([guarded.close(), unadmitted.close(), open.close()]);
  await rm(tmp, { recursive: true, force: true });
});

const q = (path: string): string => encodeURIComponent(path);

test('with admission on, /files answers only what the token covers', async (t) => {
  const cases: Array<[name: string, app: () => FastifyInstance, url: string, authorization: string | undefined, status: number, body: RegExp]> = [
    ['no token', () => guarded, `/files/read?path=${q('a.1/stdout')}&offset=0`, undefined, 401, /no Authorization header/],
    ['not Bearer', () => guarded, `/files/read?path=${q('a.1/stdout')}&offset=0`, 'Basic dTpw', 401, /Bearer <token>/],
    ['its task: read', () => guarded, `/files/read?path=${q('a.1/stdout')}&offset=0`, `Bearer ${token({})}`, 200, /team a/],
    ['its task: absolute path', () => guarded, `/files/read?path=${q(join(root, 'a.1', 'stdout'))}&offset=0`, `Bearer ${token({})}`, 200, /team a/],
    ['its task: download', () => guarded, `/files/download?path=${q('a.1/stdout')}`, `Bearer ${token({})}`, 200, /team a/],
    ['its task: browse', () => guarded, `/files/browse?path=${q('a.1')}`, `Bearer ${token({})}`, 200, /a\.1\/stdout/],
    ['another task on the same agent', () => guarded, `/files/read?path=${q('b.2/stdout')}&offset=0`, `Bearer ${token({})}`, 403, /does not cover the sandbox of task b\.2/],
    ['another task, by ..', () => guarded, `/files/read?path=${q('a.1/../b.2/stdout')}&offset=0`, `Bearer ${token({})}`, 403, /does not cover the sandbox of task b\.2/],
    ['another task, through a symlink in its own sandbox', () => guarded, `/files/read?path=${q('a.1/neighbour')}&offset=0`, `Bearer ${token({})}`, 403, /outside the sandbox root/],
    ['another task, through a symlinked directory', () => guarded, `/files/download?path=${q('a.1/next-door/stdout')}`, `Bearer ${token({})}`, 403, /outside the sandbox root/],
    ['out of the sandboxes by ..', () => guarded, `/files/read?path=${q('a.1/../../secret')}&offset=0`, `Bearer ${token({})}`, 403, /outside the sandbox root/],
    ['the sandbox root with a task token', () => guarded, '/files/browse?path=.', `Bearer ${token({})}`, 403, /scope agent/],
    ['the sandbox root with an agent token', () => guarded, '/files/browse?path=.', `Bearer ${token({ scope: 'agent', taskIds: [] })}`, 200, /b\.2/],
    ['an agent token reads any task', () => guarded, `/files/read?path=${q('b.2/stdout')}&offset=0`, `Bearer ${token({ scope: 'agent', taskIds: [] })}`, 200, /team b/],
    ['expired', () => guarded, `/files/read?path=${q('a.1/stdout')}&offset=0`, `Bearer ${token({ expiresAt: NOW })}`, 401, /expired/],
    ['for another agent', () => guarded, `/files/read?path=${q('a.1/stdout')}&offset=0`, `Bearer ${token({ agentId: 'agent-2' })}`, 401, /for agent agent-2/],
    ['signed with another key', () => guarded, `/files/read?path=${q('a.1/stdout')}&offset=0`, `Bearer ${token({}, agentTokenKey(hashSecret('x')))}`, 401, /altered/],
    ['over-long header', () => guarded, `/files/read?path=${q('a.1/stdout')}&offset=0`, `Bearer ${'a'.repeat(9000)}`, 401, /too long/],
    ['refused before the disk is touched: a missing sandbox', () => guarded, `/files/read?path=${q('c.3/stdout')}&offset=0`, `Bearer ${token({})}`, 403, /does not cover/],
    ['not admitted yet', () => unadmitted, `/files/read?path=${q('a.1/stdout')}&offset=0`, `Bearer ${token({})}`, 401, /not been admitted/],
    ['admission off: open', () => open, `/files/read?path=${q('b.2/stdout')}&offset=0`, undefined, 200, /team b/],
    ['admission off: still confined to the task\'s sandbox', () => open, `/files/read?path=${q('a.1/neighbour')}&offset=0`, undefined, 403, /outside the sandbox root/],
  ];
  for (const [name, app, url, authorization, status, body] of cases) {
    await t.test(name, async () => {
      const response = await app().inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });
      assert.equal(response.statusCode, status, response.body);
      assert.match(response.body, body);
      if (status === 401) assert.equal(response.headers['www-authenticate'], 'Bearer realm="corral-agent"');
      if (status >= 400) {
        assert.equal(typeof (JSON.parse(response.body) as { message?: unknown }).message, 'string');
        assert.doesNotMatch(response.body, /team b secret/);
      }
    });
  }
});

test('a --metrics-token-file token opens /metrics only, admitted or not; scheduler tokens still work', async (t) => {
  const scrape = 'cHJvbWV0aGV1cy1zY3JhcGUtdG9rZW4tZm9yLWFnZW50cw';
  const admitted = agentApiGuard(() => ({ agentId: 'agent-1', credential: `cred-1.${SECRET}` }), () => NOW, hashSecret(scrape));
  const notYet = agentApiGuard(() => ({ agentId: undefined, credential: undefined }), () => NOW, hashSecret(scrape));
  const without = agentApiGuard(() => ({ agentId: 'agent-1', credential: `cred-1.${SECRET}` }), () => NOW);
  const cases: Array<[name: string, guard: AgentApiGuard, authorization: string | undefined, need: AgentTokenNeed, status: 200 | 401 | 403]> = [
    ['metrics with the scrape token', admitted, `Bearer ${scrape}`, { kind: 'metrics' }, 200],
    ['metrics with the scrape token, before admission', notYet, `Bearer ${scrape}`, { kind: 'metrics' }, 200],
    ['state with the scrape token (task ids, hostnames: the scheduler\'s tokens)', admitted, `Bearer ${scrape}`, { kind: 'state' }, 401],
    ['a sandbox with the scrape token', admitted, `Bearer ${scrape}`, { kind: 'task', taskId: 'a.1' }, 401],
    ['the sandbox root with the scrape token', admitted, `Bearer ${scrape}`, { kind: 'agent' }, 401],
    ['metrics with another token', admitted, `Bearer ${scrape}x`, { kind: 'metrics' }, 401],
    ['metrics with no token', admitted, undefined, { kind: 'metrics' }, 401],
    ['metrics with a scheduler-issued metrics token', admitted, `Bearer ${token({ scope: 'metrics', taskIds: [] })}`, { kind: 'metrics' }, 200],
    ['state with a scheduler-issued metrics token', admitted, `Bearer ${token({ scope: 'metrics', taskIds: [] })}`, { kind: 'state' }, 200],
    ['no --metrics-token-file: the token is nothing', without, `Bearer ${scrape}`, { kind: 'metrics' }, 401],
  ];
  for (const [name, guard, authorization, need, status] of cases) {
    await t.test(name, () => {
      const decision = guard(authorization, need);
      assert.equal(decision.ok ? 200 : decision.status, status);
    });
  }
});
