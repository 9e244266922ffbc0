import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QuotaLimits } from '../../src/auth/types.ts';
import { reconcile, type ReconcileContext } from '../../src/scheduler/core/reconcile.ts';
import { upgradeStep } from '../../src/scheduler/core/rolling-upgrade.ts';
import { applyOps } from '../../src/scheduler/core/state-ops.ts';
import type { AppDefinition, ClusterState, Instance, StateOp } from '../../src/scheduler/types.ts';
import { NOW, agent, app, instance, state } from '../support/scheduler-fixtures.ts';

let counter = 0;
const context: ReconcileContext = {
  now: NOW, nowMs: Date.parse(NOW), connectedAgents: new Set(['a']), launchDelays: new Map(), maxLaunches: 1000, newTaskId: (id) => `${id.slice(1)}.${++counter}`, newRunId: () => `run${++counter}`,
};
const withQuotas = (s: ClusterState, quotas: Record<string, QuotaLimits>): ClusterState => ({ ...s, quotas: new Map(Object.entries(quotas)) });

// Marathon's default strategy (minimumHealthCapacity 1, maximumOverCapacity 1): two new instances would start first.
const WEB = app({ id: '/team-a/web', instances: 2, cpus: 0.5, mem: 32, portDefinitions: [] });
const old = (id: string, fields: Partial<Instance> = {}): Instance => instance(id, WEB, 'a', { configVersion: 'old', ...fields });
const fresh = (id: string, fields: Partial<Instance> = {}): Instance => instance(id, WEB, 'a', fields);
const BIG = 'cpus:16;mem:16384;ports:[31000-31099]';

test('a rolling upgrade under a quota starts only what fits, and waits with the reason', async (t) => {
  const cases: Array<{ name: string; quota?: QuotaLimits; instances: Instance[]; apps?: AppDefinition[]; launch: number; stop: string[]; wait?: RegExp }> = [
    { name: 'no quota: the surge starts', instances: [old('o1'), old('o2')], launch: 2, stop: [] },
    { name: 'room for the whole surge', quota: { instances: 4 }, instances: [old('o1'), old('o2')], launch: 2, stop: [] },
    { name: 'room for one more', quota: { instances: 3 }, instances: [old('o1'), old('o2')], launch: 1, stop: [], wait: /^waiting for quota before starting one more instance of \/team-a\/web: quota of \/team-a: instances 3 used \+ 1 requested = 4, over the limit of 3$/ },
    // No room above N: as Marathon without over-capacity, one old instance goes first.
    { name: 'at the edge: one old goes first, nothing starts yet', quota: { instances: 2 }, instances: [old('o1'), old('o2')], launch: 0, stop: ['o2'], wait: /instances 2 used \+ 1 requested = 3, over the limit of 2/ },
    { name: 'the stopped one still holds its share until it has ended', quota: { instances: 2 }, instances: [old('o1', { goal: 'stopped', state: 'TASK_KILLING' }), old('o2')], launch: 0, stop: [], wait: /instances 2 used/ },
    { name: 'once it has ended, its replacement starts', quota: { instances: 2 }, instances: [old('o1', { goal: 'stopped', state: 'TASK_KILLED' }), old('o2')], launch: 1, stop: [], wait: /instances 2 used/ },
    { name: 'the cpus quota binds the same way', quota: { cpus: 1.25 }, instances: [old('o1'), old('o2')], launch: 0, stop: ['o2'], wait: /cpus 1 used \+ 0.5 requested = 1.5, over the limit of 1.25/ },
    { name: 'new ready: the last old goes, no launch above the quota', quota: { instances: 2 }, instances: [old('o2'), fresh('n1')], launch: 0, stop: ['o2'], wait: /instances 2 used \+ 1 requested/ },
    {
      name: 'room declared by another app of the group is not taken',
      quota: { instances: 3 },
      apps: [app({ id: '/team-a/api', instances: 1, portDefinitions: [] })],
      instances: [old('o1'), old('o2')],
      launch: 0,
      stop: ['o2'],
      wait: /instances 3 used \+ 1 requested = 4/,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const base = state({ apps: [WEB, ...(c.apps ?? [])], agents: [agent('a', BIG)], instances: c.instances });
      const s = c.quota === undefined ? base : withQuotas(base, { '/team-a': c.quota });
      const e = reconcile(s, { ...context, apps: new Set(['/team-a/web']) });
      assert.equal(e.launch.length, c.launch);
      assert.deepEqual(e.stop.map((i) => i.taskId), c.stop);
      const waits = e.unplaced.filter((u) => u.reason.startsWith('waiting for quota'));
      if (c.wait === undefined) assert.deepEqual(waits, []);
      else {
        assert.equal(waits.length, 1, JSON.stringify(e.unplaced));
        assert.match(waits[0]?.reason ?? '', c.wait);
        assert.ok(e.waiting.includes('/team-a/web'));
      }
    });
  }
});

test('two apps of one group cannot both take the last room in one evaluation', () => {
  const api = app({ id: '/team-a/api', instances: 1, portDefinitions: [] });
  const s = withQuotas(state({ apps: [WEB, api], agents: [agent('a', BIG)], instances: [old('o1'), old('o2'), instance('x1', api, 'a', { configVersion: 'old' })] }), { '/team-a': { instances: 4 } });
  const e = reconcile(s, context);
  assert.equal(e.launch.length, 1);
});

/** Applies an evaluation; kills take one round to end (the instance holds its share meanwhile), launches run at once. */
function round(s: ClusterState): ClusterState {
  const ended: StateOp[] = [...s.instances.values()].filter((i) => i.goal === 'stopped').map((i) => ({ op: 'del', coll: 'instances', key: i.taskId }));
  const e = reconcile(s, context);
  return applyOps(s, [
    ...ended,
    ...e.launch.map((i): StateOp => ({ op: 'put', coll: 'instances', key: i.taskId, value: { ...i, state: 'TASK_RUNNING' } })),
    ...e.stop.map((i): StateOp => ({ op: 'put', coll: 'instances', key: i.taskId, value: { ...i, goal: 'stopped', state: 'TASK_KILLING' } })),
  ]);
}

test('an upgrade at the quota edge never deadlocks and never holds more than the quota', () => {
  for (const [n, limit, minH, maxO] of [[2, 2, 1, 1], [3, 3, 1, 0.5], [4, 5, 1, 1], [4, 4, 0.5, 0], [3, 3, 0, 1], [1, 1, 1, 1]] as const) {
    const declared = app({ id: '/team-a/web', instances: n, portDefinitions: [], upgradeStrategy: { minimumHealthCapacity: minH, maximumOverCapacity: maxO } });
    const olds = Array.from({ length: n }, (_, i) => instance(`o${i}`, declared, 'a', { configVersion: 'old' }));
    let s = withQuotas(state({ apps: [declared], agents: [agent('a', BIG)], instances: olds }), { '/team-a': { instances: limit } });
    let rounds = 0;
    const oldLeft = (): number => [...s.instances.values()].filter((i) => i.configVersion === 'old').length;
    for (; rounds < 30 && (oldLeft() > 0 || s.instances.size !== n); rounds += 1) {
      s = round(s);
      assert.ok(s.instances.size <= limit, `(n ${n}, limit ${limit}, ${minH}, ${maxO}) round ${rounds}: ${s.instances.size} instances hold resources`);
    }
    assert.ok(rounds < 30, `(n ${n}, limit ${limit}, ${minH}, ${maxO}) finishes`);
  }
});

test('upgradeStep: the quota room caps the launches, and its absence lets one old go first', async (t) => {
  const a = app({ id: '/web', instances: 2 });
  const olds = [instance('o1', a, 'a', { configVersion: 'old' }), instance('o2', a, 'a', { configVersion: 'old' })];
  const cases: Array<[name: string, room: number, expected: { maxLaunch: number; strategyLaunch: number; stop: number }]> = [
    ['unlimited', Number.POSITIVE_INFINITY, { maxLaunch: 2, strategyLaunch: 2, stop: 0 }],
    ['room for one', 1, { maxLaunch: 1, strategyLaunch: 2, stop: 0 }],
    ['no room', 0, { maxLaunch: 1, strategyLaunch: 3, stop: 1 }],
  ];
  for (const [name, room, expected] of cases) {
    await t.test(name, () => {
      const step = upgradeStep(a, [], olds, () => true, (list) => list, room);
      assert.deepEqual({ maxLaunch: step.maxLaunch, strategyLaunch: step.strategyLaunch, stop: step.stop.length }, expected);
    });
  }
});

test('job runs under a quota: they start while the limit leaves room beside what the apps declare, the rest wait with the reason', () => {
  const job = { id: 'team-a.batch', labels: {}, schedules: [], run: { cmd: 'true', cpus: 0.5, mem: 32, disk: 0, env: {}, artifacts: [], placement: { constraints: [] }, maxLaunchDelay: 600, restart: { policy: 'NEVER' as const } } };
  const run = (id: string): StateOp => ({ op: 'put', coll: 'jobRuns', key: `team-a.batch ${id}`, value: { id, jobId: 'team-a.batch', status: 'INITIAL', createdAt: NOW, tasks: [], failures: 0 } });
  const base = applyOps(state({ apps: [WEB], agents: [agent('a', BIG)], instances: [fresh('w1'), fresh('w2')] }), [{ op: 'put', coll: 'jobs', key: job.id, value: job }, run('r1'), run('r2'), run('r3')]);
  // WEB declares 1 cpu; 2 cpus leave room for two runs of 0.5.
  const evaluation = reconcile(withQuotas(base, { '/team-a': { cpus: 2 } }), context);
  assert.equal(evaluation.launch.filter((i) => i.run !== undefined).length, 2);
  const after = applyOps(base, evaluation.runs.ops);
  const waiting = [...after.jobRuns.values()].filter((r) => r.status === 'INITIAL');
  assert.equal(waiting.length, 1);
  assert.match(String(waiting[0]?.message), /quota of \/team-a: cpus 2 used \+ 0.5 requested = 2.5, over the limit of 2/);
  // Without a quota all three start.
  assert.equal(reconcile(base, context).launch.filter((i) => i.run !== undefined).length, 3);
});
