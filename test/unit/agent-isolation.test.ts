import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controlWritesFor, limitValues } from '../../src/agent/isolation/core/limits.ts';
import { agentCgroupNameOf, cgroupNameOf, enterCgroupScript, parentSegments, taskIdOfCgroup } from '../../src/agent/isolation/core/names.ts';
import { oomKilledFrom, parseFlatKeyed } from '../../src/agent/isolation/core/oom.ts';

const MIB = 1024 * 1024;

test('isolation limits: Mesos floors and conversions', async (t) => {
  const cases = [
    { in: { cpus: 1, mem: 128 }, out: { memBytes: 128 * MIB, cfsQuotaUs: 100_000, shares: 1024, weight: 100 } },
    { in: { cpus: 0.25, mem: 64 }, out: { memBytes: 64 * MIB, cfsQuotaUs: 25_000, shares: 256, weight: 25 } },
    { in: { cpus: 2.5, mem: 1024.5 }, out: { memBytes: 1024.5 * MIB, cfsQuotaUs: 250_000, shares: 2560, weight: 250 } },
    // Below Mesos' floors: 32 MiB, 0.01 cpus, 1 ms of quota, 2 shares.
    { in: { cpus: 0, mem: 0 }, out: { memBytes: 32 * MIB, cfsQuotaUs: 1000, shares: 10, weight: 1 } },
    { in: { cpus: 0.001, mem: 16 }, out: { memBytes: 32 * MIB, cfsQuotaUs: 1000, shares: 10, weight: 1 } },
    { in: { cpus: 0.015, mem: 32 }, out: { memBytes: 32 * MIB, cfsQuotaUs: 1500, shares: 15, weight: 2 } },
    { in: { cpus: 200, mem: 32 }, out: { memBytes: 32 * MIB, cfsQuotaUs: 20_000_000, shares: 204_800, weight: 10_000 } },
  ];
  for (const c of cases) await t.test(JSON.stringify(c.in), () => assert.deepEqual(limitValues(c.in), c.out));
});

test('isolation limits: bad numbers are a broken invariant', () => {
  for (const limits of [{ cpus: -1, mem: 64 }, { cpus: 1, mem: Number.NaN }, { cpus: Infinity, mem: 64 }]) {
    assert.throws(() => limitValues(limits), { code: 'ERR_ISOLATION_BAD_LIMITS' });
  }
});

test('isolation limits: the files each cgroup version gets, in order; the CFS quota only when enabled', async (t) => {
  const limits = { cpus: 0.5, mem: 64 };
  const mem = String(64 * MIB);
  const cases = [
    {
      version: 'v1', enableCfs: false, out: [
        ['memory', 'memory.limit_in_bytes', mem, 'required'],
        ['memory', 'memory.memsw.limit_in_bytes', mem, 'if-present'],
        ['memory', 'memory.swappiness', '0', 'best-effort'],
        ['cpu', 'cpu.shares', '512', 'required'],
      ],
    },
    {
      version: 'v1', enableCfs: true, out: [
        ['memory', 'memory.limit_in_bytes', mem, 'required'],
        ['memory', 'memory.memsw.limit_in_bytes', mem, 'if-present'],
        ['memory', 'memory.swappiness', '0', 'best-effort'],
        ['cpu', 'cpu.cfs_period_us', '100000', 'required'],
        ['cpu', 'cpu.cfs_quota_us', '50000', 'required'],
        ['cpu', 'cpu.shares', '512', 'required'],
      ],
    },
    {
      version: 'v2', enableCfs: false, out: [
        ['memory', 'memory.max', mem, 'required'],
        ['memory', 'memory.swap.max', '0', 'if-present'],
        ['memory', 'memory.oom.group', '1', 'if-present'],
        ['cpu', 'cpu.weight', '50', 'required'],
      ],
    },
    {
      version: 'v2', enableCfs: true, out: [
        ['memory', 'memory.max', mem, 'required'],
        ['memory', 'memory.swap.max', '0', 'if-present'],
        ['memory', 'memory.oom.group', '1', 'if-present'],
        ['cpu', 'cpu.max', '50000 100000', 'required'],
        ['cpu', 'cpu.weight', '50', 'required'],
      ],
    },
  ] as const;
  for (const c of cases) {
    await t.test(`${c.version}, enableCfs ${String(c.enableCfs)}`, () => {
      assert.deepEqual(controlWritesFor(c.version, limits, { enableCfs: c.enableCfs }).map((w) => [w.controller, w.file, w.value, w.rule]), c.out);
    });
  }
});

test('isolation oom: flat keyed files', () => {
  assert.deepEqual(parseFlatKeyed('low 0\nhigh 3\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n'),
    new Map([['low', 0], ['high', 3], ['max', 12], ['oom', 1], ['oom_kill', 1], ['oom_group_kill', 0]]));
  assert.deepEqual(parseFlatKeyed('  a 1  \n\nb x\nc 1 2\nd\n'), new Map([['a', 1]]));
});

test('isolation oom: which evidence counts', async (t) => {
  const cases = [
    { name: 'v2 oom_kill 1', version: 'v2', evidence: { counters: 'low 0\nhigh 0\nmax 40\noom 1\noom_kill 1\n' }, out: true },
    // "oom" alone counts reaching the limit, which reclaim may have survived.
    { name: 'v2 oom without a kill', version: 'v2', evidence: { counters: 'max 40\noom 1\noom_kill 0\n' }, out: false },
    { name: 'v2 unreadable', version: 'v2', evidence: { counters: undefined }, out: false },
    { name: 'v1 oom_kill 1 (Linux 4.13+)', version: 'v1', evidence: { counters: 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n', failcnt: '0\n' }, out: true },
    // With the counter there, failcnt is not asked (on Linux 6.18 it even stays 0 across an OOM kill).
    { name: 'v1 oom_kill 0 with failcnt', version: 'v1', evidence: { counters: 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n', failcnt: '3\n' }, out: false },
    { name: 'v1 old kernel, failcnt', version: 'v1', evidence: { counters: 'oom_kill_disable 0\nunder_oom 0\n', failcnt: '7\n' }, out: true },
    { name: 'v1 old kernel, under_oom', version: 'v1', evidence: { counters: 'oom_kill_disable 0\nunder_oom 1\n', failcnt: '0\n' }, out: true },
    { name: 'v1 old kernel, nothing', version: 'v1', evidence: { counters: 'oom_kill_disable 0\nunder_oom 0\n', failcnt: '0\n' }, out: false },
    { name: 'v1 unreadable', version: 'v1', evidence: { counters: undefined, failcnt: undefined }, out: false },
  ] as const;
  for (const c of cases) await t.test(c.name, () => assert.equal(oomKilledFrom(c.version, c.evidence), c.out));
});

test('isolation names: task ids to cgroup names and back', async (t) => {
  const cases = [
    ['web.1', 'task-web.1'],
    ['prod_web.6d1c6b3e-2f1a-11ef-9a4b-0242ac120002', 'task-prod_web.6d1c6b3e-2f1a-11ef-9a4b-0242ac120002'],
    ['a/b c', 'task-a%2Fb%20c'],
    ['..', 'task-..'],
    ['memory.max', 'task-memory.max'],
    ['100%!', 'task-100%25%21'],
    ['ü', 'task-%C3%BC'],
  ];
  for (const [taskId, name] of cases) {
    await t.test(taskId!, () => {
      assert.equal(cgroupNameOf(taskId!), name);
      assert.equal(taskIdOfCgroup(name!), taskId);
    });
  }
  assert.throws(() => cgroupNameOf(''), { code: 'ERR_ISOLATION_BAD_NAME' });
  assert.throws(() => cgroupNameOf('x'.repeat(251)), { code: 'ERR_ISOLATION_BAD_NAME' });
  assert.equal(cgroupNameOf('x'.repeat(250)).length, 255);
});

test('isolation names: only our own directories are task cgroups', () => {
  for (const name of ['cgroup.procs', 'memory.max', 'task-', 'other', 'task-%zz', 'task-%2e', 'task-a%2fb', 'task-a b']) {
    assert.equal(taskIdOfCgroup(name), undefined, name);
  }
});

test('isolation names: each agent has a directory of its own under the parent', () => {
  const cases = [
    ['6d1c6b3e-2f1a-11ef-9a4b-0242ac120002-S0', 'agent-6d1c6b3e-2f1a-11ef-9a4b-0242ac120002-S0'],
    ['..', 'agent-..'],
    ['a/b', 'agent-a%2Fb'],
  ];
  for (const [agentId, name] of cases) assert.equal(agentCgroupNameOf(agentId!), name);
  assert.throws(() => agentCgroupNameOf(''), { code: 'ERR_ISOLATION_BAD_NAME' });
  assert.throws(() => agentCgroupNameOf('x'.repeat(250)), { code: 'ERR_ISOLATION_BAD_NAME' });
});

test('isolation names: parent paths', () => {
  assert.deepEqual(parentSegments('corral'), ['corral']);
  assert.deepEqual(parentSegments('/corral/agent-1/'), ['corral', 'agent-1']);
  for (const bad of ['', '/', '..', 'corral/../x', './corral']) assert.throws(() => parentSegments(bad), { code: 'ERR_ISOLATION_BAD_NAME' }, bad);
});

test('isolation names: the script that enters the cgroups', () => {
  assert.equal(enterCgroupScript([]), '');
  assert.equal(
    enterCgroupScript(["/sys/fs/cgroup/memory/corral/task-a/cgroup.procs", "/x/it's/cgroup.procs"]),
    `echo $$ > '/sys/fs/cgroup/memory/corral/task-a/cgroup.procs' || exit 125; echo $$ > '/x/it'\\''s/cgroup.procs' || exit 125; `,
  );
});
