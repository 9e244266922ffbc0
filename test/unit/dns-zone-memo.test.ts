import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FragmentBuilder, type AppFragment, type ClusterFragment, type Fragment } from '../../src/dns/core/fragment.ts';
import type { NameRecords, RecordOptions } from '../../src/dns/core/record-types.ts';
import { ZoneMemo } from '../../src/dns/core/zone-memo.ts';
import { DOMAIN, TTL, app, task, viewOf } from '../support/dns-fixtures.ts';

const OPTIONS: RecordOptions = { domain: DOMAIN, ttl: TTL, serial: 1 };
const ZERO_DIGEST = '0'.repeat(40);

/** An app fragment: `name → A addresses`, and the ids of instances that got no records. */
interface Spec {
  readonly a: Readonly<Record<string, readonly string[]>>;
  readonly skipped?: readonly string[];
}

function fragment(key: string, records: Spec['a']): Fragment {
  const builder = new FragmentBuilder(DOMAIN);
  for (const [name, addresses] of Object.entries(records)) for (const address of addresses) builder.add({ type: 'A', name, ttl: TTL, address });
  return builder.finish(key);
}

function appFragment(key: string, spec: Spec): AppFragment {
  return { ...fragment(key, spec.a), app: app(key), tasks: [], sources: [], skipped: (spec.skipped ?? []).map((taskId) => ({ taskId, reason: 'test' })) };
}

const CLUSTER: ClusterFragment = { schedulers: '[]', agents: undefined, fragment: fragment('\0cluster', { [`leader.${DOMAIN}`]: ['127.0.0.1'] }) };

/** What the index holds at a name: its A addresses, `empty` for an empty non-terminal, `absent`. */
function at(records: NameRecords | undefined): string {
  if (records === undefined) return 'absent';
  const addresses = (records.A ?? []).map((record) => record.address);
  return addresses.length === 0 ? 'empty' : addresses.join(' ');
}

/** Applies each step as the whole set of app fragments after it; a fragment whose spec is unchanged is the same object. */
function run(memo: ZoneMemo, steps: readonly Readonly<Record<string, Spec>>[]): void {
  let current = new Map<string, AppFragment>();
  const specs = new Map<string, string>();
  for (const step of steps) {
    const next = new Map<string, AppFragment>();
    for (const [key, spec] of Object.entries(step)) {
      const same = specs.get(key) === JSON.stringify(spec) ? current.get(key) : undefined;
      next.set(key, same ?? appFragment(key, spec));
      specs.set(key, JSON.stringify(spec));
    }
    for (const key of current.keys()) if (!next.has(key)) specs.delete(key);
    memo.apply(next, new Set([...current.keys(), ...next.keys()]), CLUSTER);
    current = next;
  }
}

const web = (address: string): Spec => ({ a: { [`web.marathon.${DOMAIN}`]: [address] } });

const cases: readonly {
  name: string;
  steps: readonly Readonly<Record<string, Spec>>[];
  /** name → what `at` gives there after the last step. */
  expect: Readonly<Record<string, string>>;
  skipped?: readonly string[];
}[] = [
  {
    name: 'a fragment fills its names and marks the names up to the apex as empty non-terminals',
    steps: [{ '/web': web('127.0.0.11') }],
    expect: { [`web.marathon.${DOMAIN}`]: '127.0.0.11', [`marathon.${DOMAIN}`]: 'empty', [`leader.${DOMAIN}`]: '127.0.0.1', [DOMAIN]: 'absent' },
  },
  {
    name: 'fragments sharing a name are merged (union, sorted, without duplicates)',
    steps: [{ '/web': web('127.0.0.12'), '/web-b': { a: { [`web.marathon.${DOMAIN}`]: ['127.0.0.11', '127.0.0.12'] } } }],
    expect: { [`web.marathon.${DOMAIN}`]: '127.0.0.11 127.0.0.12' },
  },
  {
    name: 'a removed fragment takes its names with it; the other contributor keeps the shared one',
    steps: [{ '/web': web('127.0.0.11'), '/web-b': web('127.0.0.12') }, { '/web-b': web('127.0.0.12') }],
    expect: { [`web.marathon.${DOMAIN}`]: '127.0.0.12', [`marathon.${DOMAIN}`]: 'empty' },
  },
  {
    name: 'removing every app leaves only the cluster fragment',
    steps: [{ '/web': web('127.0.0.11') }, {}],
    expect: { [`web.marathon.${DOMAIN}`]: 'absent', [`marathon.${DOMAIN}`]: 'absent', [`leader.${DOMAIN}`]: '127.0.0.1' },
  },
  {
    name: 'a name filled by one fragment and an empty non-terminal of another stays, empty, when the filler goes',
    steps: [
      { '/a': { a: { [`marathon.${DOMAIN}`]: ['127.0.0.9'] } }, '/web': web('127.0.0.11') },
      { '/web': web('127.0.0.11') },
    ],
    expect: { [`marathon.${DOMAIN}`]: 'empty', [`web.marathon.${DOMAIN}`]: '127.0.0.11' },
  },
  {
    name: 'a changed fragment replaces the old records, it does not add to them',
    steps: [{ '/web': web('127.0.0.11') }, { '/web': web('127.0.0.12') }],
    expect: { [`web.marathon.${DOMAIN}`]: '127.0.0.12' },
  },
  {
    name: 'skipped instances are gathered across fragments and leave with theirs',
    steps: [
      { '/a': { a: {}, skipped: ['a.1'] }, '/b': { a: {}, skipped: ['b.1', 'b.2'] } },
      { '/b': { a: {}, skipped: ['b.1', 'b.2'] } },
    ],
    expect: {},
    skipped: ['b.1', 'b.2'],
  },
];

for (const { name, steps, expect, skipped } of cases) {
  test(`ZoneMemo.apply: ${name}`, () => {
    const memo = new ZoneMemo();
    memo.reset(OPTIONS);
    run(memo, steps);
    for (const [owner, want] of Object.entries(expect)) assert.equal(at(memo.index.get(owner)), want, owner);
    assert.deepEqual(
      memo.skipped.map((entry) => entry.taskId),
      skipped ?? [],
    );
    // Incremental equals one-shot: the same index and digest as applying the last step to a fresh memo.
    const fresh = new ZoneMemo();
    fresh.reset(OPTIONS);
    run(fresh, steps.slice(-1));
    assert.equal(memo.digest, fresh.digest);
    assert.deepEqual(new Map([...memo.index].sort()), new Map([...fresh.index].sort()));
  });
}

test('ZoneMemo: the digest depends on the fragments held, not on the order they came in', () => {
  const orders: readonly (readonly Readonly<Record<string, Spec>>[])[] = [
    [{ '/a': web('127.0.0.11') }, { '/a': web('127.0.0.11'), '/b': web('127.0.0.12') }],
    [{ '/b': web('127.0.0.12') }, { '/a': web('127.0.0.11'), '/b': web('127.0.0.12') }],
    [{ '/a': web('127.0.0.11'), '/b': web('127.0.0.12'), '/c': web('127.0.0.13') }, { '/a': web('127.0.0.11'), '/b': web('127.0.0.12') }],
  ];
  const digests = orders.map((steps) => {
    const memo = new ZoneMemo();
    memo.reset(OPTIONS);
    run(memo, steps);
    return memo.digest;
  });
  assert.notEqual(digests[0], ZERO_DIGEST);
  assert.deepEqual(new Set(digests).size, 1, digests.join(' '));
});

test('ZoneMemo.reset: the same options keep the memo, other options start it over', () => {
  const cases: readonly { name: string; options: RecordOptions; kept: boolean }[] = [
    { name: 'same options', options: OPTIONS, kept: true },
    { name: 'another serial only', options: { ...OPTIONS, serial: 99 }, kept: true },
    { name: 'another ttl', options: { ...OPTIONS, ttl: TTL + 1 }, kept: false },
    { name: 'another domain', options: { ...OPTIONS, domain: 'corral' }, kept: false },
    { name: 'rfc952', options: { ...OPTIONS, rfc952: true }, kept: false },
    { name: 'a nameserver address', options: { ...OPTIONS, nameserverAddress: '127.0.0.53' }, kept: false },
    { name: 'masters', options: { ...OPTIONS, masters: ['127.0.0.1:8080'] }, kept: false },
  ];
  for (const { name, options, kept } of cases) {
    const memo = new ZoneMemo();
    memo.reset(OPTIONS);
    run(memo, [{ '/web': web('127.0.0.11') }]);
    const digest = memo.digest;
    memo.reset(options);
    assert.equal(memo.apps.size, kept ? 1 : 0, name);
    assert.equal(memo.digest, kept ? digest : ZERO_DIGEST, name);
    assert.equal(at(memo.index.get(`web.marathon.${DOMAIN}`)), kept ? '127.0.0.11' : 'absent', name);
  }
});

test('ZoneMemo.cluster: rebuilt only when the schedulers, the agents or the task hosts changed', () => {
  const web1 = task('web.1', '/web', { host: '127.0.0.21' });
  const base = { ...viewOf([app('/web')], [web1]), leader: '127.0.0.1:8080', agents: [{ id: 'a1', hostname: 'a1', ip: '127.0.0.31' }] };
  const cases: readonly { name: string; view: typeof base; hostsChanged: boolean; rebuilt: boolean }[] = [
    { name: 'nothing changed', view: base, hostsChanged: false, rebuilt: false },
    { name: 'a new event id only', view: { ...base, eventId: 8 }, hostsChanged: false, rebuilt: false },
    { name: 'task hosts changed', view: base, hostsChanged: true, rebuilt: true },
    { name: 'another leader', view: { ...base, leader: '127.0.0.2:8080' }, hostsChanged: false, rebuilt: true },
    { name: 'other agents', view: { ...base, agents: [...base.agents] }, hostsChanged: false, rebuilt: true },
  ];
  for (const { name, view, hostsChanged, rebuilt } of cases) {
    const memo = new ZoneMemo();
    memo.reset(OPTIONS);
    memo.tasks.sync(base);
    const seen: string[][] = [];
    const build = (agentIps: ReadonlySet<string>): Fragment => {
      seen.push([...agentIps].sort());
      return fragment('\0cluster', {});
    };
    const first = memo.cluster(base, true, build);
    memo.apply(new Map(), [], first);
    const second = memo.cluster(view, hostsChanged, build);
    assert.equal(second === first, !rebuilt, name);
    // The agents behind `slave.D`: the view's (the hosts of tasks only when it names none).
    assert.deepEqual(seen, (rebuilt ? [1, 2] : [1]).map(() => ['127.0.0.31']), name);
  }
});
