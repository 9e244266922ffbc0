import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../src/scheduler/core/app-definition.ts';
import { checkConstraint, checkConstraints, violations, type Constraint } from '../../src/scheduler/core/constraints.ts';
import { indexInstances, place, type LaunchRequest } from '../../src/scheduler/core/placement.ts';
import type { AgentRecord, Instance } from '../../src/scheduler/types.ts';
import { NOW, agent, app, instance } from '../support/scheduler-fixtures.ts';

/** An agent with attributes; its hostname is its id unless given. */
const on = (id: string, attributes: AgentRecord['attributes'], hostname = id, resources?: string): AgentRecord =>
  ({ ...agent(id, resources), hostname, attributes });

const AGENTS = [
  on('a1', { rack: 'r1', zone: 1 }),
  on('a2', { rack: 'r1', zone: 2 }),
  on('b1', { rack: 'r2', zone: 1.5 }),
  on('c1', { rack: 'r3' }),
  on('n1', {}),
  // A hostname that makes a backtracking engine take minutes on `(.?){10}(.?){10}(.?){10}x`.
  on('long', {}, 'a'.repeat(40)),
  on('aaay', {}, 'aaay'),
];
const BY_ID = new Map(AGENTS.map((a) => [a.id, a]));
const get = (id: string): AgentRecord => BY_ID.get(id) as AgentRecord;

test('checkConstraint: each operator, as Marathon decides it', async (t) => {
  const cases: Array<[name: string, constraint: Constraint, candidate: string, placed: string[], expected: true | string]> = [
    ['UNIQUE hostname: a host already used', ['hostname', 'UNIQUE'], 'a1', ['a1'], 'UNIQUE hostname'],
    ['UNIQUE hostname: another host', ['hostname', 'UNIQUE'], 'a1', ['a2'], true],
    ['UNIQUE @hostname alias', ['@hostname', 'UNIQUE'], 'a1', ['a1'], 'UNIQUE @hostname'],
    ['UNIQUE rack: same rack on another host', ['rack', 'UNIQUE'], 'a2', ['a1'], 'UNIQUE rack'],
    ['UNIQUE rack: a new rack', ['rack', 'UNIQUE'], 'b1', ['a1'], true],
    ['UNIQUE rack: an agent without the attribute', ['rack', 'UNIQUE'], 'n1', [], 'UNIQUE rack'],
    ['UNIQUE hostname: instances on unknown agents do not count', ['hostname', 'UNIQUE'], 'a1', ['gone'], true],
    ['CLUSTER rack r2: matching', ['rack', 'CLUSTER', 'r2'], 'b1', [], true],
    ['CLUSTER rack r2: other rack', ['rack', 'CLUSTER', 'r2'], 'a1', [], 'CLUSTER rack:r2'],
    ['CLUSTER rack: the first placement picks', ['rack', 'CLUSTER'], 'a1', [], true],
    ['CLUSTER rack: then the same rack', ['rack', 'CLUSTER'], 'a2', ['a1'], true],
    ['CLUSTER rack: not another one', ['rack', 'CLUSTER'], 'b1', ['a1'], 'CLUSTER rack'],
    ['CLUSTER hostname: pinned to one host', ['hostname', 'CLUSTER'], 'a2', ['a1'], 'CLUSTER hostname'],
    ['CLUSTER rack: the value most instances share wins', ['rack', 'CLUSTER'], 'b1', ['a1', 'b1', 'b1'], true],
    ['GROUP_BY rack: a value not used yet', ['rack', 'GROUP_BY'], 'b1', ['a1', 'a2'], true],
    ['GROUP_BY rack: one of the smallest groups', ['rack', 'GROUP_BY'], 'a2', ['a1', 'b1'], true],
    ['GROUP_BY rack: a larger group', ['rack', 'GROUP_BY'], 'a1', ['a1', 'a2', 'b1'], 'GROUP_BY rack'],
    ['GROUP_BY rack: the smaller group', ['rack', 'GROUP_BY'], 'b1', ['a1', 'a2', 'b1'], true],
    ['GROUP_BY rack 3: used values wait for a third group', ['rack', 'GROUP_BY', '3'], 'a2', ['a1', 'b1'], 'GROUP_BY rack:3'],
    ['GROUP_BY rack 3: a third value is welcome', ['rack', 'GROUP_BY', '3'], 'c1', ['a1', 'b1'], true],
    ['GROUP_BY rack: an agent without the attribute', ['rack', 'GROUP_BY'], 'n1', [], 'GROUP_BY rack'],
    ['MAX_PER rack 2: full', ['rack', 'MAX_PER', '2'], 'a1', ['a1', 'a2'], 'MAX_PER rack:2'],
    ['MAX_PER rack 2: room', ['rack', 'MAX_PER', '2'], 'b1', ['a1', 'a2', 'b1'], true],
    ['MAX_PER hostname 1', ['hostname', 'MAX_PER', '1'], 'a1', ['a1'], 'MAX_PER hostname:1'],
    ['LIKE rack r[12]: matching', ['rack', 'LIKE', 'r[12]'], 'a1', [], true],
    ['LIKE rack r[12]: not matching', ['rack', 'LIKE', 'r[12]'], 'c1', [], 'LIKE rack:r[12]'],
    ['LIKE matches the whole value, as Java does', ['rack', 'LIKE', 'r'], 'a1', [], 'LIKE rack:r'],
    ['LIKE alternatives stay inside the anchors', ['rack', 'LIKE', 'r1|r2'], 'b1', [], true],
    ['LIKE hostname', ['hostname', 'LIKE', 'a.*'], 'b1', [], 'LIKE hostname:a.*'],
    ['LIKE: an agent without the attribute', ['rack', 'LIKE', '.*'], 'n1', [], 'LIKE rack:.*'],
    ['UNLIKE rack r1: matching', ['rack', 'UNLIKE', 'r1'], 'a1', [], 'UNLIKE rack:r1'],
    ['UNLIKE rack r1: other rack', ['rack', 'UNLIKE', 'r1'], 'b1', [], true],
    ['UNLIKE: an agent without the attribute meets it', ['rack', 'UNLIKE', 'r1'], 'n1', [], true],
    ['IS rack r2', ['rack', 'IS', 'r2'], 'b1', [], true],
    ['IS rack r2: other rack', ['rack', 'IS', 'r2'], 'a1', [], 'IS rack:r2'],
    ['IS on a scalar attribute compares its text', ['zone', 'IS', '1'], 'a1', [], true],
    ['IS on a fractional scalar', ['zone', 'IS', '1.5'], 'b1', [], true],
    ['IS 1.0 is not the text of scalar 1', ['zone', 'IS', '1.0'], 'a1', [], 'IS zone:1.0'],
    ['LIKE hostname with a nested quantifier: linear, no match', ['hostname', 'LIKE', '(.?){10}(.?){10}(.?){10}x'], 'long', [], 'LIKE hostname:(.?){10}(.?){10}(.?){10}x'],
    ['LIKE with a nested quantifier that matches', ['hostname', 'LIKE', '(a|aa)*y'], 'aaay', [], true],
    ['LIKE with a case-insensitive flag', ['rack', 'LIKE', '(?i)R1'], 'a1', [], true],
    ['attributes are not inherited object keys', ['constructor', 'LIKE', '.*'], 'a1', [], 'LIKE constructor:.*'],
  ];
  for (const [name, constraint, candidate, placed, expected] of cases) {
    await t.test(name, () => {
      assert.equal(checkConstraint(constraint, get(candidate), placed.map((agentId) => ({ agentId })), BY_ID), expected);
    });
  }
});

test('violations: the instances to kill first when scaling down', async (t) => {
  const web = app({ id: '/web' });
  const at = (n: number): string => new Date(Date.parse(NOW) + n * 1000).toISOString();
  const task = (id: string, agentId: string, n: number): Instance => instance(id, web, agentId, { stagedAt: at(n) });
  const cases: Array<[name: string, constraints: Constraint[], instances: Instance[], expected: string[]]> = [
    ['no constraints, no violations', [], [task('t1', 'a1', 1), task('t2', 'a1', 2)], []],
    ['UNIQUE hostname: the youngest on a shared host', [['hostname', 'UNIQUE']], [task('t2', 'a1', 2), task('t1', 'a1', 1), task('t3', 'b1', 3)], ['t2']],
    ['UNIQUE hostname: same stagedAt, the larger task id', [['hostname', 'UNIQUE']], [task('y', 'a1', 1), task('x', 'a1', 1)], ['y']],
    ['MAX_PER rack 2: the youngest beyond two', [['rack', 'MAX_PER', '2']], [task('t1', 'a1', 1), task('t2', 'a2', 2), task('t3', 'a1', 3), task('t4', 'b1', 4)], ['t3']],
    ['GROUP_BY rack: beyond one more than the smallest group', [['rack', 'GROUP_BY']], [task('t1', 'a1', 1), task('t2', 'a2', 2), task('t3', 'a1', 3), task('t4', 'b1', 4)], ['t3']],
    ['GROUP_BY rack: within one is even enough', [['rack', 'GROUP_BY']], [task('t1', 'a1', 1), task('t2', 'a2', 2), task('t4', 'b1', 4)], []],
    ['CLUSTER rack: instances off the majority rack', [['rack', 'CLUSTER']], [task('t1', 'a1', 1), task('t2', 'b1', 2), task('t3', 'b1', 3)], ['t1']],
    ['CLUSTER rack: a tie keeps the oldest instance\'s rack', [['rack', 'CLUSTER']], [task('t2', 'b1', 2), task('t1', 'a1', 1)], ['t2']],
    ['CLUSTER rack r2', [['rack', 'CLUSTER', 'r2']], [task('t1', 'a1', 1), task('t2', 'b1', 2)], ['t1']],
    ['LIKE rack r[23]', [['rack', 'LIKE', 'r[23]']], [task('t1', 'a1', 1), task('t2', 'b1', 2), task('t3', 'c1', 3)], ['t1']],
    ['UNLIKE rack r1: without the attribute is fine', [['rack', 'UNLIKE', 'r1']], [task('t1', 'a1', 1), task('t2', 'n1', 2)], ['t1']],
    ['IS rack r3', [['rack', 'IS', 'r3']], [task('t1', 'a1', 1), task('t3', 'c1', 3)], ['t1']],
    ['an agent without the attribute breaks UNIQUE', [['rack', 'UNIQUE']], [task('t1', 'n1', 1), task('t2', 'a1', 2)], ['t1']],
    ['an unknown agent breaks the constraint', [['hostname', 'UNIQUE']], [task('t1', 'gone', 1), task('t2', 'a1', 2)], ['t1']],
    ['several constraints: the union', [['hostname', 'UNIQUE'], ['rack', 'IS', 'r1']], [task('t1', 'a1', 1), task('t2', 'a1', 2), task('t3', 'b1', 3)], ['t2', 't3']],
  ];
  for (const [name, constraints, instances, expected] of cases) {
    await t.test(name, () => {
      assert.deepEqual([...violations({ constraints }, instances, BY_ID)].sort(), expected);
    });
  }
});

test('constraint validation: Marathon\'s messages', async (t) => {
  const cases: Array<[raw: string[], error: RegExp]> = [
    [['hostname'], /^Each constraint must have either 2 or 3 fields$/],
    [['hostname', 'CLUSTER', 'a', 'b'], /^Each constraint must have either 2 or 3 fields$/],
    [['', 'UNIQUE'], /^illegal constraint specification$/],
    [['hostname', 'NEAR'], /^operator must be one of the following UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER or IS$/],
    [['hostname', 'UNIQUE', 'x'], /^UNIQUE does not accept a value$/],
    [['rack', 'GROUP_BY', 'two'], /^GROUP BY must define an integer value or else no value at all$/],
    [['rack', 'GROUP_BY', '99999999999'], /GROUP BY must define an integer/],
    [['rack', 'MAX_PER'], /^MAX_PER requires an integer value$/],
    [['rack', 'MAX_PER', '1.5'], /^MAX_PER requires an integer value$/],
    [['rack', 'LIKE'], /^LIKE and UNLIKE require a non-empty, regular expression value$/],
    [['rack', 'UNLIKE', ''], /^LIKE and UNLIKE require a non-empty, regular expression value$/],
    [['rack', 'LIKE', '('], /^'\(' is not a valid regular expression: .*missing closing \)/],
    [['rack', 'LIKE', 'a)|(b'], /is not a valid regular expression/],
    // RE2 semantics: what needs backtracking is refused rather than run.
    [['rack', 'LIKE', '(a)\\1'], /is not a valid regular expression: .*invalid escape sequence/],
    [['rack', 'UNLIKE', '(?=r)r1'], /is not a valid regular expression/],
    [['rack', 'LIKE', 'r(?!2)'], /is not a valid regular expression/],
    [['rack', 'IS', 'a b'], /^IS only supports Mesos text and float values/],
    [['rack', 'IS'], /^IS requires a value$/],
  ];
  for (const [raw, error] of cases) {
    await t.test(JSON.stringify(raw), () => {
      const { constraints, details } = checkConstraints([['hostname', 'UNIQUE'], raw]);
      assert.deepEqual(constraints, [['hostname', 'UNIQUE']]);
      assert.equal(details.length, 1);
      assert.equal(details[0]?.path, '/constraints/1');
      assert.match(details[0]?.errors.join(' ') ?? '', error);
    });
  }
  await t.test('stored form: operators upper-cased, CLUSTER\'s empty value dropped', () => {
    const { constraints, details } = checkConstraints([
      ['hostname', 'unique'], ['rack', 'CLUSTER', ''], ['rack', 'group_by', '3'], ['rack', 'MAX_PER', '+2'], ['rack', 'LIKE', 'r[0-9]+'], ['zone', 'IS', '1.5'],
    ]);
    assert.deepEqual(details, []);
    assert.deepEqual(constraints, [['hostname', 'UNIQUE'], ['rack', 'CLUSTER'], ['rack', 'GROUP_BY', '3'], ['rack', 'MAX_PER', '+2'], ['rack', 'LIKE', 'r[0-9]+'], ['zone', 'IS', '1.5']]);
  });
});

test('apps store validated constraints; a change of constraints is a new configuration', () => {
  const first = buildApp({ id: '/web', cmd: 'x', constraints: [['hostname', 'unique']] }, { now: NOW, apps: new Map() });
  assert.ok(first.ok);
  if (!first.ok) return;
  assert.deepEqual(first.app.constraints, [['hostname', 'UNIQUE']]);
  assert.deepEqual(app({ id: '/plain' }).constraints, []);
  const later = '2026-01-02T00:00:00.000Z';
  const apps = new Map([['/web', first.app]]);
  const scaled = buildApp({ id: '/web', cmd: 'x', instances: 3, constraints: [['hostname', 'UNIQUE']] }, { now: later, apps });
  assert.ok(scaled.ok && scaled.app.versionInfo.lastConfigChangeAt === NOW, 'the same constraints: a scale');
  const moved = buildApp({ id: '/web', cmd: 'x', constraints: [['rack', 'GROUP_BY']] }, { now: later, apps });
  assert.ok(moved.ok && moved.app.versionInfo.lastConfigChangeAt === later, 'new constraints: instances are replaced');
  const bad = buildApp({ id: '/web', cmd: 'x', constraints: [['hostname', 'UNIQUE'], ['rack', 'MAX_PER', 'x']] }, { now: NOW, apps: new Map() });
  assert.ok(!bad.ok && bad.details.some((d) => d.path === '/constraints/1'));
});

/** mulberry32: a tiny seeded RNG, so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}
const int = (random: () => number, lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));

/** Random agents: hostnames and racks from small pools (so they repeat), some agents without a rack. */
function cluster(random: () => number, opts: { ample?: boolean; everyRack?: boolean } = {}): AgentRecord[] {
  return Array.from({ length: int(random, 1, 12) }, (_, n) => {
    const cpus = opts.ample === true ? 64 : int(random, 0, 4);
    const rack: AgentRecord['attributes'] = opts.everyRack === true || random() < 0.85 ? { rack: `r${int(random, 1, 4)}` } : {};
    return on(`ag${n}`, rack, `h${int(random, 1, 8)}`, `cpus:${cpus};mem:65536;ports:[31000-31999]`);
  });
}

const launch = (constraints: Constraint[], count: number): LaunchRequest =>
  ({ appId: '/web', count, cpus: 1, mem: 16, disk: 0, portCount: 1, roles: ['*'], constraints });

function valuesOf(agents: AgentRecord[], placements: Array<{ agentId: string }>, field: 'hostname' | 'rack'): string[] {
  const byId = new Map(agents.map((a) => [a.id, a]));
  return placements.map((p) => {
    const a = byId.get(p.agentId) as AgentRecord;
    return field === 'hostname' ? a.hostname : String(a.attributes.rack);
  });
}

const tally = (values: string[]): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
};

const SEEDS = Array.from({ length: 200 }, (_, n) => n + 1);

test('property: UNIQUE hostname never puts two instances on one host, and fills every free host', () => {
  const web = app({ id: '/web' });
  for (const seed of SEEDS) {
    const random = rng(seed);
    const agents = cluster(random);
    // Some instances already run, at most one per host.
    const existing = agents.filter(() => random() < 0.3).filter((a, i, all) => all.findIndex((b) => b.hostname === a.hostname) === i)
      .map((a, i) => instance(`old${i}`, { ...web, cpus: 0 }, a.id));
    const count = int(random, 1, 15);
    const result = place([launch([['hostname', 'UNIQUE']], count)], agents, indexInstances(existing));
    const hosts = [...valuesOf(agents, existing, 'hostname'), ...valuesOf(agents, result.placements, 'hostname')];
    assert.equal(new Set(hosts).size, hosts.length, `seed ${seed}: a host got two instances`);
    const taken = new Set(valuesOf(agents, existing, 'hostname'));
    const free = new Set(agents.filter((a) => !taken.has(a.hostname) && (a.resources.find((r) => r.name === 'cpus')?.scalar ?? 0) >= 1).map((a) => a.hostname));
    assert.equal(result.placements.length, Math.min(count, free.size), `seed ${seed}: a free host was left empty`);
    const refused = result.unplaced[0];
    if (refused !== undefined) {
      assert.equal(Object.values(refused.refusals ?? {}).reduce((a, b) => a + b, 0), agents.length, `seed ${seed}: one reason per agent`);
    }
  }
});

test('property: MAX_PER rack k never exceeds k', () => {
  for (const seed of SEEDS) {
    const random = rng(seed);
    const agents = cluster(random);
    const k = int(random, 1, 3);
    const result = place([launch([['rack', 'MAX_PER', String(k)]], int(random, 1, 20))], agents, indexInstances([]));
    for (const [rack, n] of tally(valuesOf(agents, result.placements, 'rack'))) {
      assert.notEqual(rack, 'undefined', `seed ${seed}: placed on an agent without a rack`);
      assert.ok(n <= k, `seed ${seed}: ${n} instances on ${rack}, MAX_PER ${k}`);
    }
  }
});

test('property: GROUP_BY rack spreads within one of even', () => {
  for (const seed of SEEDS) {
    const random = rng(seed);
    // Room everywhere: every rack of the cluster takes its share.
    const roomy = cluster(random, { ample: true, everyRack: true });
    const count = int(random, 1, 30);
    const result = place([launch([['rack', 'GROUP_BY']], count)], roomy, indexInstances([]));
    assert.equal(result.placements.length, count);
    const racks = new Set(roomy.map((a) => String(a.attributes.rack)));
    const counts = [...racks].map((r) => tally(valuesOf(roomy, result.placements, 'rack')).get(r) ?? 0);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `seed ${seed}: uneven ${JSON.stringify(counts)}`);
    // Scarce room: the racks that got instances still stay within one of each other.
    const scarce = cluster(random);
    const some = place([launch([['rack', 'GROUP_BY']], int(random, 1, 20))], scarce, indexInstances([]));
    const used = [...tally(valuesOf(scarce, some.placements, 'rack')).values()];
    if (used.length > 0) assert.ok(Math.max(...used) - Math.min(...used) <= 1, `seed ${seed}: uneven ${JSON.stringify(used)}`);
  }
});

test('property: CLUSTER without a value keeps every instance on one rack; placement is deterministic', () => {
  for (const seed of SEEDS) {
    const random = rng(seed);
    const agents = cluster(random);
    const requests = [launch([['rack', 'CLUSTER'], ['hostname', 'MAX_PER', '2']], int(random, 1, 10))];
    const result = place(requests, agents, indexInstances([]));
    assert.ok(new Set(valuesOf(agents, result.placements, 'rack')).size <= 1, `seed ${seed}: more than one rack`);
    assert.deepEqual(place(requests, agents, indexInstances([])), result, `seed ${seed}: not deterministic`);
  }
});
