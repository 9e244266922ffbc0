import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { detectIsolator } from '../../src/agent/isolation/index.ts';

// Detection against fake cgroup trees in a temp dir: plain directories and files stand in for
// cgroupfs (the real thing is exercised in test/integration/agent-isolation.test.ts).
const dir = mkdtempSync(join(tmpdir(), 'corral-isolation-detect-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function capturingLogger(): { logger: pino.Logger; lines: Array<{ level: number; msg: string; isolation?: string }> } {
  const lines: Array<{ level: number; msg: string; isolation?: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

function tree(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  mkdirSync(root, { recursive: true });
  return root;
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('no cgroups at all: none, said once as a warning with the reason', async () => {
  const { logger, lines } = capturingLogger();
  const isolator = await detectIsolator({ root: join(dir, 'missing'), logger });
  assert.equal(isolator.kind, 'none');
  assert.match(isolator.reason ?? '', /no cgroup v1 memory and cpu hierarchies \(missing .*memory\.limit_in_bytes, .*cpu\.cfs_quota_us\)/);
  assert.equal(await isolator.prepare('web.1', { cpus: 1, mem: 64 }), undefined);
  assert.deepEqual(await isolator.existing(), new Map());
  assert.deepEqual(isolator.parentDirs, []);
  await flush();
  assert.equal(lines.length, 1);
  assert.equal(lines[0]?.level, 40);
  assert.match(lines[0]?.msg ?? '', /task isolation: none, tasks run without memory or CPU limits: /);
});

test('cgroup v2 without the memory controller: none, naming what is there', async () => {
  const root = tree('v2-no-memory', { 'cgroup.controllers': 'cpuset cpu io pids\n', 'cgroup.subtree_control': '' });
  const isolator = await detectIsolator({ root, logger: capturingLogger().logger });
  assert.equal(isolator.kind, 'none');
  assert.match(isolator.reason ?? '', /cgroup v2 at .* lacks the memory controller \(it has: cpuset cpu io pids\)/);
});

test('cgroup v2 where the controllers cannot be handed down: none, with the file that refused', async () => {
  // The parent made by detection has no cgroup.subtree_control: the write fails as a refusal would.
  const root = tree('v2-refused', { 'cgroup.controllers': 'cpu memory pids\n', 'cgroup.subtree_control': 'cpu memory\n' });
  const isolator = await detectIsolator({ root, parent: 'corral', logger: capturingLogger().logger });
  assert.equal(isolator.kind, 'none');
  assert.match(isolator.reason ?? '', /cannot hand the memory and cpu controllers down to .*\/corral: .*corral\/cgroup\.subtree_control/);
});

test('cgroup v2: enables the controllers down to the parent and finds the task cgroups in it', async () => {
  const root = tree('v2', {
    'cgroup.controllers': 'cpuset cpu io memory pids\n',
    'cgroup.subtree_control': 'memory\n',
    'corral/agent/cgroup.subtree_control': '',
    'corral/cgroup.subtree_control': 'cpu memory\n',
    // Each agent's tasks sit under <parent>/agent-<agent id>.
    'corral/agent/agent-S1/task-web.1/memory.events': 'low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n',
    'corral/agent/agent-S1/task-api%2Fv2.3/memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n',
    'corral/agent/agent-S1/not-a-task/memory.events': '',
    'corral/agent/agent-S2/task-other.1/memory.events': '',
  });
  const { logger, lines } = capturingLogger();
  const isolator = await detectIsolator({ root, parent: 'corral/agent', logger });
  assert.equal(isolator.kind, 'cgroup-v2');
  assert.deepEqual(isolator.parentDirs, [join(root, 'corral/agent')]);
  // Only what was missing is enabled, level by level. (The write goes over a plain file's start
  // here; cgroupfs takes the whole write as the command.)
  assert.match(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), /^\+cpu/);
  assert.equal(readFileSync(join(root, 'corral/cgroup.subtree_control'), 'utf8'), 'cpu memory\n');
  assert.equal(readFileSync(join(root, 'corral/agent/cgroup.subtree_control'), 'utf8'), '+memory +cpu');

  assert.equal((await isolator.existing()).size, 0, 'no agent id yet: no tasks of its own');
  isolator.useAgent('S1');
  const existing = await isolator.existing();
  assert.deepEqual([...existing.keys()].sort(), ['api/v2.3', 'web.1']);
  const web = existing.get('web.1');
  assert.deepEqual(web?.procsFiles, [join(root, 'corral/agent/agent-S1/task-web.1/cgroup.procs')]);
  assert.equal(web?.oomKilled(), true);
  assert.equal(existing.get('api/v2.3')?.oomKilled(), false);
  await flush();
  assert.deepEqual(lines.map((l) => [l.level, l.isolation]), [[30, 'cgroup-v2']]);
});

test('cgroup v1: separate memory and cpu parents, a cpu link to cpu,cpuacct followed', async () => {
  const root = tree('v1', { 'memory/memory.limit_in_bytes': '9223372036854771712\n', 'cpu,cpuacct/cpu.cfs_quota_us': '-1\n' });
  symlinkSync('cpu,cpuacct', join(root, 'cpu'));
  const isolator = await detectIsolator({ root, parent: 'corral-x', logger: capturingLogger().logger });
  assert.equal(isolator.kind, 'cgroup-v1');
  assert.deepEqual(isolator.parentDirs, [join(root, 'memory/corral-x'), join(root, 'cpu,cpuacct/corral-x')]);
  mkdirSync(join(root, 'memory/corral-x/agent-S1/task-a.1'), { recursive: true });
  writeFileSync(join(root, 'memory/corral-x/agent-S1/task-a.1/memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
  mkdirSync(join(root, 'cpu,cpuacct/corral-x/agent-S1/task-a.1'), { recursive: true });
  mkdirSync(join(root, 'cpu,cpuacct/corral-x/agent-S1/task-b.1'));
  isolator.useAgent('S1');
  const existing = await isolator.existing();
  assert.deepEqual([...existing.keys()].sort(), ['a.1', 'b.1']);
  assert.deepEqual(existing.get('a.1')?.procsFiles, [join(root, 'memory/corral-x/agent-S1/task-a.1/cgroup.procs'), join(root, 'cpu,cpuacct/corral-x/agent-S1/task-a.1/cgroup.procs')]);
  assert.equal(existing.get('a.1')?.oomKilled(), false);
  assert.equal(existing.get('b.1')?.oomKilled(), false, 'gone from the memory hierarchy: nothing to say');
});

test('a parent that escapes the root is refused', async () => {
  await assert.rejects(detectIsolator({ root: dir, parent: '../x', logger: capturingLogger().logger }), { code: 'ERR_ISOLATION_BAD_NAME' });
});
