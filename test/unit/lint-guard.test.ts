import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Which guard should stop the snippet (the rule `no-restricted-<kind>`), or null when it must pass. */
type Kind = 'imports' | 'globals' | 'properties' | 'syntax' | null;

const CASES: Array<{ name: string; path: string; code: string; blocked: Kind }> = [
  // I/O in pure files, in every kind of folder that holds them.
  { name: 'node:fs in dns/core', path: 'src/dns/core/x.ts', code: "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;", blocked: 'imports' },
  { name: 'bare fs/promises in scheduler/core', path: 'src/scheduler/core/x.ts', code: "import { readFile } from 'fs/promises';\nexport const f = readFile;", blocked: 'imports' },
  { name: 'undici in lb/core', path: 'src/lb/core/x.ts', code: "import { request } from 'undici';\nexport const f = request;", blocked: 'imports' },
  { name: 'node:https in events/core', path: 'src/events/core/x.ts', code: "import { get } from 'node:https';\nexport const f = get;", blocked: 'imports' },
  { name: 'prom-client in agent/health/core', path: 'src/agent/health/core/x.ts', code: "import { Counter } from 'prom-client';\nexport const c = Counter;", blocked: 'imports' },
  { name: 'node:os in cli/client/core', path: 'src/cli/client/core/x.ts', code: "import { hostname } from 'node:os';\nexport const f = hostname;", blocked: 'imports' },
  { name: 'node:dgram in a pure shared parser', path: 'src/shared/duration.ts', code: "import { createSocket } from 'node:dgram';\nexport const f = createSocket;", blocked: 'imports' },
  { name: 'randomUUID from node:crypto in core', path: 'src/scheduler/core/x.ts', code: "import { randomUUID } from 'node:crypto';\nexport const id = randomUUID;", blocked: 'imports' },
  // The room boundaries, core or not (a core block once replaced them).
  { name: 'scheduler from dns/core', path: 'src/dns/core/x.ts', code: "import { place } from '../../scheduler/core/placement.ts';\nexport const f = place;", blocked: 'imports' },
  { name: 'scheduler from lb/core', path: 'src/lb/core/x.ts', code: "import { place } from '../../scheduler/core/placement.ts';\nexport const f = place;", blocked: 'imports' },
  { name: 'agent from events/core', path: 'src/events/core/x.ts', code: "import type { TaskRunner } from '../../agent/task-runner.ts';\nexport type T = TaskRunner;", blocked: 'imports' },
  { name: 'scheduler from dns', path: 'src/dns/x.ts', code: "import { place } from '../scheduler/core/placement.ts';\nexport const f = place;", blocked: 'imports' },
  { name: 'lb from dns', path: 'src/dns/x.ts', code: "import { Balancer } from '../lb/core/balancer.ts';\nexport const b = Balancer;", blocked: 'imports' },
  { name: 'agent from scheduler', path: 'src/scheduler/x.ts', code: "import { TaskRunner } from '../agent/task-runner.ts';\nexport const r = TaskRunner;", blocked: 'imports' },
  { name: 'events from shared', path: 'src/shared/x.ts', code: "import type { ClusterEvent } from '../events/types.ts';\nexport type E = ClusterEvent;", blocked: 'imports' },
  { name: 'scheduler from auth/core', path: 'src/auth/core/x.ts', code: "import { normalizeAppId } from '../../scheduler/core/app-id.ts';\nexport const f = normalizeAppId;", blocked: 'imports' },
  { name: 'agent from auth', path: 'src/auth/x.ts', code: "import { TaskRunner } from '../agent/task-runner.ts';\nexport const r = TaskRunner;", blocked: 'imports' },
  { name: 'auth from shared', path: 'src/shared/x.ts', code: "import { authorize } from '../auth/core/policy.ts';\nexport const f = authorize;", blocked: 'imports' },
  { name: 'randomBytes in auth/core', path: 'src/auth/core/x.ts', code: "import { randomBytes } from 'node:crypto';\nexport const f = randomBytes;", blocked: 'imports' },
  // Clocks, timers, chance and the process in pure files.
  { name: 'Date.now()', path: 'src/scheduler/core/x.ts', code: 'export const t = Date.now();', blocked: 'properties' },
  { name: 'new Date() without arguments', path: 'src/dns/core/x.ts', code: 'export const t = new Date();', blocked: 'syntax' },
  { name: 'Date() called for a string', path: 'src/dns/core/x.ts', code: 'export const t = Date();', blocked: 'syntax' },
  { name: 'Math.random()', path: 'src/lb/core/x.ts', code: 'export const r = Math.random();', blocked: 'properties' },
  { name: 'setTimeout', path: 'src/events/core/x.ts', code: 'export const f = (): void => { setTimeout(() => {}, 1); };', blocked: 'globals' },
  { name: 'setImmediate', path: 'src/agent/core/x.ts', code: 'export const f = (): void => { setImmediate(() => {}); };', blocked: 'globals' },
  { name: 'process.env', path: 'src/scheduler/core/x.ts', code: 'export const home = process.env.HOME;', blocked: 'globals' },
  { name: 'performance.now()', path: 'src/scheduler/store/core/x.ts', code: 'export const t = performance.now();', blocked: 'globals' },
  { name: 'crypto.randomUUID()', path: 'src/lb/core/x.ts', code: 'export const id = crypto.randomUUID();', blocked: 'globals' },
  { name: 'import() of an I/O module', path: 'src/dns/core/x.ts', code: "export const load = async (): Promise<unknown> => import('node:fs');", blocked: 'syntax' },
  { name: 'Date.now() in a pure shared parser', path: 'src/shared/layered-map.ts', code: 'export const t = Date.now();', blocked: 'properties' },
  // What stays allowed.
  { name: 'new Date(iso)', path: 'src/scheduler/core/x.ts', code: "export const t = new Date('2024-01-01T00:00:00Z').getTime();", blocked: null },
  { name: 'Date.parse', path: 'src/scheduler/core/x.ts', code: "export const t = Date.parse('2024-01-01T00:00:00Z');", blocked: null },
  { name: 'a type import from events in dns/core', path: 'src/dns/core/x.ts', code: "import type { ClusterView } from '../../events/core/view.ts';\nexport type V = ClusterView;", blocked: null },
  { name: 'a type import from node:http in lb/proxy/core', path: 'src/lb/proxy/core/x.ts', code: "import type { IncomingHttpHeaders } from 'node:http';\nexport type H = IncomingHttpHeaders;", blocked: null },
  { name: 'hashing from node:crypto in core', path: 'src/lb/core/x.ts', code: "import { createHash } from 'node:crypto';\nexport const h = createHash('sha256').update('x').digest('hex');", blocked: null },
  { name: 'shared from scheduler/core', path: 'src/scheduler/core/x.ts', code: "import { parseDuration } from '../../shared/duration.ts';\nexport const d = parseDuration('1s');", blocked: null },
  { name: 'I/O and timers outside core', path: 'src/dns/x.ts', code: "import { readFileSync } from 'node:fs';\nexport const f = readFileSync;\nexport const t = Date.now() + Math.random();\nsetTimeout(() => {}, 1);", blocked: null },
  { name: 'shared from auth/core', path: 'src/auth/core/x.ts', code: "import { MARATHON_ID_SEGMENT } from '../../shared/marathon-names.ts';\nexport const s = MARATHON_ID_SEGMENT;", blocked: null },
  { name: 'randomBytes at the auth edge', path: 'src/auth/x.ts', code: "import { randomBytes } from 'node:crypto';\nexport const f = randomBytes;", blocked: null },
  { name: 'anything from cli', path: 'src/cli/x.ts', code: "import { place } from '../scheduler/core/placement.ts';\nexport const f = place;", blocked: null },
];

test('the lint guard stops I/O, clocks, timers, chance and cross-room imports where they do not belong', async (t) => {
  const eslint = new ESLint({ cwd: ROOT });
  for (const { name, path, code, blocked } of CASES) {
    await t.test(`${name} (${path})`, async () => {
      const [result] = await eslint.lintText(`${code}\n`, { filePath: `${ROOT}${path}` });
      const messages = result?.messages ?? [];
      assert.deepEqual(messages.filter((m) => m.fatal), [], 'the snippet parses');
      const guards = messages.filter((m) => /(^|\/)no-restricted-/.test(m.ruleId ?? '')).map((m) => m.ruleId);
      if (blocked === null) assert.deepEqual(guards, []);
      else assert.ok(guards.some((rule) => rule?.endsWith(`no-restricted-${blocked}`)), `expected no-restricted-${blocked}, got ${JSON.stringify(messages.map((m) => m.ruleId))}`);
    });
  }
});
