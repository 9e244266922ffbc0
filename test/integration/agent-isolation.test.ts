import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { createLogger } from '../../src/shared/log.ts';
import { detectIsolator, ENTER_CGROUP_FAILED_EXIT, enterCgroupScript, type Isolator, type TaskCgroup } from '../../src/agent/isolation/index.ts';
import { waitFor } from '../support/wait.ts';

// Real cgroups on this machine, under a parent of this run's own; nothing else is touched.
const PARENT = `corral-test-${randomUUID().slice(0, 8)}`;
const AGENT_ID = 'it-agent-S0';
const logger = createLogger('isolation-test', 'silent');
const children = new Set<ChildProcess>();
let isolator: Isolator;

before(async () => {
  isolator = await detectIsolator({ parent: PARENT, logger });
  isolator.useAgent(AGENT_ID);
});

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (isolator === undefined || isolator.kind === 'none') return;
  for (const cgroup of (await isolator.existing()).values()) await cgroup.destroy();
  const agentDirs = isolator.parentDirs;
  await isolator.release();
  for (const dir of agentDirs) assert.equal(existsSync(dir), false, `${dir} is removed`);
  for (const dir of new Set(agentDirs.map(dirname))) rmdirSync(dir);
});

/** Skips (saying why) where no cgroup is writable: the one allowed skip. */
function skipped(t: TestContext): boolean {
  if (isolator.kind !== 'none') return false;
  t.skip(`no writable cgroups here: ${isolator.reason}`);
  return true;
}

interface Exit { code: number | null; signal: NodeJS.Signals | null; stdout: string }

/** Runs a program as a task leader would: `sh -c` joins the cgroup, then execs the program. */
function runIn(cgroup: TaskCgroup, program: string[]): { child: ChildProcess; exited: Promise<Exit> } {
  const child = spawn('/bin/sh', ['-c', `${enterCgroupScript(cgroup.procsFiles)}exec "$@"`, 'sh', ...program], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.add(child);
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<Exit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout })));
  return { child, exited };
}

/** Exited: no longer in /proc, or a zombie waiting for whoever reaps orphans here. */
function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** The pids in the task cgroup once `count` of them have entered it. */
function entered(cgroup: TaskCgroup, count: number): Promise<number[]> {
  return waitFor(`${count} process(es) in the cgroup`, () => {
    const listed = readFileSync(cgroup.procsFiles[0] ?? '', 'utf8').trim().split('\n').filter(Boolean).map(Number);
    return listed.length === count ? listed : undefined;
  });
}

const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8').trim();

test('a task allocating beyond its memory limit is OOM-killed, and only it', { timeout: 60_000 }, async (t) => {
  if (skipped(t)) return;
  const cgroup = await isolator.prepare(`oom.${randomUUID()}`, { cpus: 1, mem: 64 });
  assert.ok(cgroup);
  // Bounded (1 GiB), so a limit that did not hold could not starve the machine.
  const { exited } = runIn(cgroup, [process.execPath, '-e', 'const kept = []; for (let i = 0; i < 1024; i++) kept.push(Buffer.alloc(1 << 20, 1)); console.log("survived")']);
  const exit = await exited;
  assert.deepEqual([exit.signal, exit.stdout], ['SIGKILL', '']);
  assert.equal(cgroup.oomKilled(), true);
  assert.ok(!readFileSync('/proc/self/cgroup', 'utf8').includes(PARENT), 'the test process is not in the cgroup');
  await cgroup.destroy();
  assert.equal(cgroup.oomKilled(), true, 'the verdict outlives the directories');
});

test('a task within its limits runs inside its cgroup and is not OOM-killed', { timeout: 60_000 }, async (t) => {
  if (skipped(t)) return;
  const cgroup = await isolator.prepare(`fits.${randomUUID()}`, { cpus: 1, mem: 128 });
  assert.ok(cgroup);
  const { exited } = runIn(cgroup, [process.execPath, '-e', 'Buffer.alloc(16 << 20, 1); process.stdout.write(require("fs").readFileSync("/proc/self/cgroup", "utf8"))']);
  const exit = await exited;
  assert.deepEqual([exit.code, exit.signal], [0, null]);
  const name = cgroup.dirs[0]?.split('/').pop() ?? '';
  const lines = exit.stdout.split('\n').filter((line) => line.includes(`/${PARENT}/agent-${AGENT_ID}/${name}`));
  assert.equal(lines.length, isolator.kind === 'cgroup-v1' ? 2 : 1, `in the task cgroup of every hierarchy:\n${exit.stdout}`);
  if (isolator.kind === 'cgroup-v1') assert.ok(lines.some((l) => /:memory:/.test(l)) && lines.some((l) => /:cpu[,:]/.test(l)));
  assert.equal(cgroup.oomKilled(), false);
  await cgroup.destroy();
  assert.equal(cgroup.oomKilled(), false);
});

test('the memory limit and cpu shares are written; the CFS quota only with enableCfs', async (t) => {
  if (skipped(t)) return;
  const withCfs = await detectIsolator({ parent: PARENT, enableCfs: true, logger });
  withCfs.useAgent(AGENT_ID);
  const cases = [
    { isolation: isolator, quotaV1: '-1', maxV2: 'max 100000' },
    { isolation: withCfs, quotaV1: '25000', maxV2: '25000 100000' },
  ];
  for (const c of cases) {
    const cgroup = await c.isolation.prepare(`limits.${randomUUID()}`, { cpus: 0.25, mem: 48 });
    assert.ok(cgroup);
    const memory = cgroup.dirs[0] ?? '';
    const cpu = cgroup.dirs.at(-1) ?? '';
    const bytes = String(48 * 1024 * 1024);
    if (isolator.kind === 'cgroup-v1') {
      assert.equal(read(memory, 'memory.limit_in_bytes'), bytes);
      if (existsSync(join(memory, 'memory.memsw.limit_in_bytes'))) assert.equal(read(memory, 'memory.memsw.limit_in_bytes'), bytes);
      assert.deepEqual([read(cpu, 'cpu.cfs_period_us'), read(cpu, 'cpu.cfs_quota_us'), read(cpu, 'cpu.shares')], ['100000', c.quotaV1, '256']);
    } else {
      assert.equal(read(memory, 'memory.max'), bytes);
      if (existsSync(join(memory, 'memory.swap.max'))) assert.equal(read(memory, 'memory.swap.max'), '0');
      assert.deepEqual([read(cpu, 'cpu.max'), read(cpu, 'cpu.weight')], [c.maxV2, '25']);
    }
    await cgroup.destroy();
  }
});

test('destroy kills what is left inside, children of children too, and removes the directories', { timeout: 30_000 }, async (t) => {
  if (skipped(t)) return;
  const cgroup = await isolator.prepare(`busy.${randomUUID()}`, { cpus: 0.1, mem: 32 });
  assert.ok(cgroup);
  const { exited } = runIn(cgroup, ['/bin/sh', '-c', 'sleep 1000 & exec sleep 1000']);
  const pids = await entered(cgroup, 2);
  await cgroup.destroy();
  for (const dir of cgroup.dirs) assert.equal(existsSync(dir), false, `${dir} is removed`);
  assert.equal((await exited).signal, 'SIGKILL');
  await waitFor('the orphaned sleep to be gone', () => (pids.every(isGone) ? true : undefined));
});

test('existing() finds the cgroups an earlier run left, and only those', { timeout: 30_000 }, async (t) => {
  if (skipped(t)) return;
  const taskId = `left/behind ${randomUUID()}`;
  const earlier = await isolator.prepare(taskId, { cpus: 0.5, mem: 32 });
  assert.ok(earlier);
  const { exited } = runIn(earlier, ['sleep', '1000']);
  await entered(earlier, 1);
  const later = await detectIsolator({ parent: PARENT, logger });
  assert.deepEqual([...(await later.existing()).keys()], [], 'nothing is found before the agent id is known');
  later.useAgent(AGENT_ID);
  const found = await later.existing();
  assert.deepEqual([...found.keys()], [taskId]);
  const cgroup = found.get(taskId);
  assert.deepEqual(cgroup?.procsFiles, earlier.procsFiles);
  assert.equal(cgroup?.oomKilled(), false);
  await cgroup?.destroy();
  assert.equal((await exited).signal, 'SIGKILL');
  assert.deepEqual([...(await later.existing()).keys()], []);
});

test('a leader that cannot enter its cgroup exits 125 instead of running unlimited', async (t) => {
  if (skipped(t)) return;
  const cgroup = await isolator.prepare(`gone.${randomUUID()}`, { cpus: 1, mem: 32 });
  assert.ok(cgroup);
  await cgroup.destroy();
  const exit = await runIn(cgroup, ['echo', 'ran']).exited;
  assert.deepEqual([exit.code, exit.stdout], [ENTER_CGROUP_FAILED_EXIT, '']);
});

test('a task id used again gets a fresh cgroup', async (t) => {
  if (skipped(t)) return;
  const first = await isolator.prepare('again.1', { cpus: 1, mem: 32 });
  const second = await isolator.prepare('again.1', { cpus: 0.5, mem: 64 });
  assert.ok(first && second);
  assert.equal(read(second.dirs[0] ?? '', isolator.kind === 'cgroup-v1' ? 'memory.limit_in_bytes' : 'memory.max'), String(64 * 1024 * 1024));
  await second.destroy();
});

test('two agents under one parent have cgroups of their own and never find each other\'s', async (t) => {
  if (skipped(t)) return;
  const other = await detectIsolator({ parent: PARENT, logger });
  other.useAgent('it-other-S1');
  assert.equal(isolator.parentDirs.length, other.parentDirs.length);
  for (const [i, dir] of other.parentDirs.entries()) {
    assert.notEqual(dir, isolator.parentDirs[i]);
    assert.equal(dirname(dir), dirname(isolator.parentDirs[i] ?? ''), 'both under the one parent');
    assert.match(dir, /\/agent-it-other-S1$/);
  }
  const mine = await isolator.prepare(`mine.${randomUUID()}`, { cpus: 0.1, mem: 32 });
  const theirs = await other.prepare(`theirs.${randomUUID()}`, { cpus: 0.1, mem: 32 });
  assert.ok(mine && theirs);
  assert.deepEqual([...(await other.existing()).keys()], [theirs.taskId]);
  assert.ok(!(await isolator.existing()).has(theirs.taskId));
  await theirs.destroy();
  await other.release();
  for (const dir of other.parentDirs) assert.equal(existsSync(dir), false, `${dir} is removed`);
  await mine.destroy();
});
