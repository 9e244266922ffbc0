import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { planSandboxGc, type SandboxListing } from '../../src/agent/core/gc-plan.ts';
import { collectSandboxes, startSandboxGc } from '../../src/agent/sandbox-gc.ts';

const HOUR = 3_600_000;
const NOW = 1_700_000_000_000;

test('gc plan: only quiet sandboxes of tasks no longer running go', async (t) => {
  const cases: Array<{ name: string; listing: SandboxListing[]; active: string[]; remove: string[]; keep: Array<[string, 'active' | 'recent']> }> = [
    { name: 'nothing listed', listing: [], active: [], remove: [], keep: [] },
    { name: 'old and inactive: removed', listing: [{ taskId: 'a', newestMtimeMs: NOW - 25 * HOUR }], active: [], remove: ['a'], keep: [] },
    { name: 'old but active: kept however old', listing: [{ taskId: 'a', newestMtimeMs: 0 }], active: ['a'], remove: [], keep: [['a', 'active']] },
    { name: 'inactive but recent: kept', listing: [{ taskId: 'a', newestMtimeMs: NOW - HOUR }], active: [], remove: [], keep: [['a', 'recent']] },
    { name: 'exactly maxAge old: kept (older than, not as old as)', listing: [{ taskId: 'a', newestMtimeMs: NOW - 24 * HOUR }], active: [], remove: [], keep: [['a', 'recent']] },
    { name: 'one ms past maxAge: removed', listing: [{ taskId: 'a', newestMtimeMs: NOW - 24 * HOUR - 1 }], active: [], remove: ['a'], keep: [] },
    { name: 'mtime in the future (clock stepped back): kept', listing: [{ taskId: 'a', newestMtimeMs: NOW + HOUR }], active: [], remove: [], keep: [['a', 'recent']] },
    {
      name: 'a mix, listing order preserved',
      listing: [
        { taskId: 'web.1', newestMtimeMs: NOW - 48 * HOUR },
        { taskId: 'web.2', newestMtimeMs: NOW - 48 * HOUR },
        { taskId: 'db.1', newestMtimeMs: NOW - 2 * HOUR },
        { taskId: 'api.1', newestMtimeMs: NOW - 30 * HOUR },
      ],
      active: ['web.2'],
      remove: ['web.1', 'api.1'],
      keep: [['web.2', 'active'], ['db.1', 'recent']],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const active = new Set(c.active);
      const plan = planSandboxGc(c.listing, { now: NOW, maxAgeMs: 24 * HOUR, isActive: (id) => active.has(id) });
      assert.deepEqual(plan.remove, c.remove);
      assert.deepEqual(plan.keep.map((k) => [k.taskId, k.reason]), c.keep);
    });
  }
});

async function makeSandbox(root: string, taskId: string, ages: { dir: number; stdout?: number; stderr?: number }, now: number): Promise<void> {
  const dir = join(root, taskId);
  await mkdir(dir, { recursive: true });
  for (const file of ['stdout', 'stderr'] as const) {
    const age = ages[file];
    if (age === undefined) continue;
    await writeFile(join(dir, file), `${file} of ${taskId}\n`);
    await utimes(join(dir, file), new Date(now - age), new Date(now - age));
  }
  // Last, since creating the files touches the directory.
  await utimes(dir, new Date(now - ages.dir), new Date(now - ages.dir));
}

test('collectSandboxes: removes old inactive sandboxes on disk and reports them', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'corral-gc-'));
  try {
    const root = join(tmp, 'sandboxes');
    const now = Date.now();
    await makeSandbox(root, 'old.1', { dir: 48 * HOUR, stdout: 48 * HOUR, stderr: 48 * HOUR }, now);
    await makeSandbox(root, 'old-no-logs.1', { dir: 48 * HOUR }, now);
    await makeSandbox(root, 'running.1', { dir: 48 * HOUR, stdout: 48 * HOUR, stderr: 48 * HOUR }, now);
    // An old directory whose task still wrote to stderr recently: not quiet, kept.
    await makeSandbox(root, 'chatty.1', { dir: 48 * HOUR, stdout: 48 * HOUR, stderr: HOUR }, now);
    await makeSandbox(root, 'fresh.1', { dir: HOUR, stdout: HOUR, stderr: HOUR }, now);
    // Removal is recursive.
    await mkdir(join(root, 'old.1', 'nested'), { recursive: true });
    await utimes(join(root, 'old.1'), new Date(now - 48 * HOUR), new Date(now - 48 * HOUR));
    // Not sandboxes: a stray file and a symlink to a directory outside, neither touched.
    const outside = join(tmp, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep-me'), 'x');
    await writeFile(join(root, 'stray-file'), 'x');
    await symlink(outside, join(root, 'link.1'));

    const removed = await collectSandboxes({ root, maxAgeMs: 24 * HOUR, isActive: (id) => id === 'running.1', now });
    assert.deepEqual(removed.sort(), ['old-no-logs.1', 'old.1']);
    assert.deepEqual((await readdir(root)).sort(), ['chatty.1', 'fresh.1', 'link.1', 'running.1', 'stray-file']);
    assert.deepEqual(await readdir(outside), ['keep-me']);

    assert.deepEqual(await collectSandboxes({ root, maxAgeMs: 24 * HOUR, isActive: () => false, now: now + 47 * HOUR }), ['chatty.1', 'fresh.1', 'running.1']);
    assert.deepEqual(await collectSandboxes({ root: join(tmp, 'missing'), maxAgeMs: 0, isActive: () => false, now }), []);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test('startSandboxGc: collects on its interval, never at once, and stops cleanly', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'corral-gc-'));
  try {
    const root = join(tmp, 'sandboxes');
    const now = Date.now();
    await makeSandbox(root, 'old.1', { dir: 48 * HOUR, stdout: 48 * HOUR }, now);
    const logs: unknown[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    const gc = startSandboxGc({ root, maxAgeMs: 24 * HOUR, isActive: () => false, intervalMs: 100, logger });
    try {
      // The first pass waits one interval: a restarted agent must adopt its tasks first.
      assert.deepEqual(await readdir(root), ['old.1']);
      const deadline = Date.now() + 5000;
      while ((await readdir(root)).length > 0) {
        assert.ok(Date.now() < deadline, 'the sandbox was never collected');
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await gc.stop();
    }
    assert.ok(logs.some((l) => (l as { msg?: string }).msg === 'removed old sandboxes'));
    // Stopped: a new old sandbox stays.
    await makeSandbox(root, 'old.2', { dir: 48 * HOUR }, now);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await readdir(root), ['old.2']);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
