import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkWrite, describeRefusal, heldAfterLaunch, heldByGroup, launchRoom, quotaEffect, surgeAllowed, usageByGroup, validateQuotas, type HeldApp } from '../../src/auth/core/quota.ts';
import { QuotaExceeded } from '../../src/auth/errors.ts';
import type { AppFootprint, Quotas, Usage } from '../../src/auth/types.ts';

const app = (id: string, instances: number, cpus: number, mem = 128, disk = 0, gpus?: number): AppFootprint => ({ id, instances, cpus, mem, disk, ...(gpus === undefined ? {} : { gpus }) });

const APPS: AppFootprint[] = [
  app('/team-a/web', 2, 1, 256),
  app('/team-a/sub/worker', 3, 0.1, 64, 100),
  app('/team-ab/web', 5, 2, 512),
  app('/team-b/ml', 1, 4, 4096, 0, 2),
];

const QUOTAS: Quotas = {
  '/': { cpus: 20 },
  '/team-a': { cpus: 4, mem: 1024, instances: 6 },
  '/team-a/sub': { cpus: 0.5, disk: 400 },
  '/team-b': { gpus: 2 },
};

test('usageByGroup counts everything under each group by whole segments', () => {
  assert.deepEqual(usageByGroup(APPS, ['/', '/team-a', '/team-a/sub', '/team-ab', '/team-c']), {
    '/': { cpus: 16.3, mem: 7360, disk: 300, gpus: 2, instances: 11 },
    '/team-a': { cpus: 2.3, mem: 704, disk: 300, gpus: 0, instances: 5 },
    '/team-a/sub': { cpus: 0.3, mem: 192, disk: 300, gpus: 0, instances: 3 },
    '/team-ab': { cpus: 10, mem: 2560, disk: 0, gpus: 0, instances: 5 },
    '/team-c': { cpus: 0, mem: 0, disk: 0, gpus: 0, instances: 0 },
  });
  // Three decimals, as Mesos counts: ten instances of 0.1 cpus are exactly 1.
  assert.equal(usageByGroup([app('/x', 10, 0.1)], ['/'])['/']?.cpus, 1);
});

test('checkWrite lets in what fits every quota on the path and refuses the rest with the numbers', async (t) => {
  const replace = (changed: AppFootprint): AppFootprint[] => [...APPS.filter((a) => a.id !== changed.id), changed];
  const cases: Array<{ name: string; next: AppFootprint[]; refusals: Array<[group: string, resource: string, used: number, requested: number, limit: number]> }> = [
    { name: 'nothing changes', next: APPS, refusals: [] },
    { name: 'scale within every quota', next: replace(app('/team-a/web', 3, 1, 256)), refusals: [] },
    { name: 'exactly up to the limit', next: replace(app('/team-a/sub/worker', 4, 0.1, 64, 100)), refusals: [] },
    { name: 'over /team-a cpus', next: replace(app('/team-a/web', 2, 2, 128)), refusals: [['/team-a', 'cpus', 2.3, 2, 4]] },
    {
      name: 'over the nested /team-a/sub and /team-a at once',
      next: replace(app('/team-a/sub/worker', 6, 0.1, 64, 100)),
      refusals: [['/team-a', 'instances', 5, 3, 6], ['/team-a/sub', 'cpus', 0.3, 0.3, 0.5], ['/team-a/sub', 'disk', 300, 300, 400]],
    },
    { name: 'a new app counts under its groups', next: [...APPS, app('/team-a/sub/new', 1, 0.5)], refusals: [['/team-a/sub', 'cpus', 0.3, 0.5, 0.5]] },
    { name: 'over / from anywhere', next: [...APPS, app('/team-c/big', 1, 4)], refusals: [['/', 'cpus', 16.3, 4, 20]] },
    { name: 'gpus counted where present', next: replace(app('/team-b/ml', 2, 4, 4096, 0, 2)), refusals: [['/', 'cpus', 16.3, 4, 20], ['/team-b', 'gpus', 2, 2, 2]] },
    // /team-ab is not under /team-a: its growth is limited only by /.
    { name: '/team-ab is not /team-a', next: replace(app('/team-ab/web', 6, 0.5, 512)), refusals: [] },
    // A group already over a lowered limit may still shrink or change other resources.
    { name: 'shrinking while over a lowered limit', next: replace(app('/team-ab/web', 4, 2, 512)), refusals: [] },
  ];
  for (const { name, next, refusals } of cases) {
    await t.test(name, () => {
      const result = checkWrite(QUOTAS, APPS, next);
      if (refusals.length === 0) return assert.deepEqual(result, { ok: true });
      assert.ok(!result.ok);
      assert.deepEqual(result.refusals, refusals.map(([group, resource, used, requested, limit]) => ({ group, resource, used, requested, limit })));
      assert.equal(result.message, result.refusals.map(describeRefusal).join('; '));
    });
  }
  await t.test('still over a lowered limit: growing is refused', () => {
    const lowered: Quotas = { '/team-ab': { cpus: 8 } };
    assert.deepEqual(checkWrite(lowered, APPS, APPS), { ok: true });
    const result = checkWrite(lowered, APPS, [...APPS, app('/team-ab/api', 1, 0.5)]);
    assert.ok(!result.ok && result.refusals[0]?.requested === 0.5);
  });
});

test('a refusal message names the group, the resource, used, requested and the limit', () => {
  const result = checkWrite(QUOTAS, APPS, [...APPS, app('/team-a/api', 1, 2)]);
  assert.ok(!result.ok);
  assert.equal(result.message, 'quota of /team-a: cpus 2.3 used + 2 requested = 4.3, over the limit of 4');
  const error = new QuotaExceeded(result.refusals);
  assert.equal(error.code, 'ERR_AUTH_QUOTA_EXCEEDED');
  assert.equal(error.message, result.message);
});

test('surgeAllowed lets one more instance start only within every quota on its path', async (t) => {
  const usage = usageByGroup(APPS, Object.keys(QUOTAS));
  const cases: Array<{ appId: string; extra: Omit<AppFootprint, 'id' | 'instances'>; wait?: RegExp }> = [
    { appId: '/team-a/web', extra: { cpus: 1, mem: 256, disk: 0 } },
    { appId: '/team-a/web', extra: { cpus: 1, mem: 400, disk: 0 }, wait: /^waiting for quota before starting one more instance of \/team-a\/web: quota of \/team-a: mem 704 used \+ 400 requested = 1104, over the limit of 1024$/ },
    { appId: '/team-a/sub/worker', extra: { cpus: 0.1, mem: 64, disk: 100 } },
    { appId: '/team-a/sub/worker', extra: { cpus: 0.3, mem: 64, disk: 100 }, wait: /quota of \/team-a\/sub: cpus 0.3 used \+ 0.3 requested = 0.6, over the limit of 0.5/ },
    { appId: '/team-b/ml', extra: { cpus: 1, mem: 1, disk: 0, gpus: 1 }, wait: /quota of \/team-b: gpus 2 used \+ 1 requested/ },
    { appId: '/team-b/ml', extra: { cpus: 1, mem: 1, disk: 0 } },
    { appId: '/team-ab/web', extra: { cpus: 3.7, mem: 1, disk: 0 } },
    { appId: '/team-ab/web', extra: { cpus: 4.5, mem: 1, disk: 0 }, wait: /quota of \/: cpus 16.3 used \+ 4.5 requested = 20.8, over the limit of 20/ },
  ];
  for (const { appId, extra, wait } of cases) {
    await t.test(`${appId} +${JSON.stringify(extra)}`, () => {
      const result = surgeAllowed(QUOTAS, usage, appId, extra);
      if (wait === undefined) assert.deepEqual(result, { ok: true });
      else assert.ok(!result.ok && wait.test(result.reason), JSON.stringify(result));
    });
  }
  await t.test('a full instance quota waits too', () => {
    const result = surgeAllowed({ '/team-a': { instances: 5 } }, usage, '/team-a/web', { cpus: 0, mem: 0, disk: 0 });
    assert.ok(!result.ok);
    assert.deepEqual(result.refusals, [{ group: '/team-a', resource: 'instances', used: 5, requested: 1, limit: 5 }]);
  });
});

test('validateQuotas refuses what it could not enforce', () => {
  assert.deepEqual(validateQuotas(QUOTAS), []);
  const bad = {
    '/team-a/': { cpus: 1 },
    '/a/../b': { cpus: 1 },
    '/c': { cpus: -1, mem: Number.POSITIVE_INFINITY, instances: 1.5, ports: 3 },
  } as unknown as Quotas;
  assert.deepEqual(validateQuotas(bad), [
    'quota "/team-a/": write the group as /team-a',
    'quota "/a/../b": the path "/a/../b" holds a \'..\' segment',
    'quota /c: cpus must be a finite number ≥ 0',
    'quota /c: mem must be a finite number ≥ 0',
    'quota /c: instances must be a whole number',
    'quota /c: unknown resource ports (known: cpus, mem, disk, gpus, instances)',
  ]);
});

test('quotaEffect answers, per quota on the path of the touched apps, use before and after and whether it fits', async (t) => {
  const cases: Array<{ name: string; next: AppFootprint[]; touched: string[]; expected: Array<[group: string, usedCpus: number, afterCpus: number, fits: boolean, refused: string[]]> }> = [
    { name: 'no quota on the path', next: [...APPS, app('/team-c/x', 1, 1)], touched: ['/team-c/x'], expected: [['/', 16.3, 17.3, true, []]] },
    { name: 'fits /team-a and /', next: [...APPS, app('/team-a/x', 1, 1)], touched: ['/team-a/x'], expected: [['/', 16.3, 17.3, true, []], ['/team-a', 2.3, 3.3, true, []]] },
    {
      name: 'over /team-a/sub only',
      next: [...APPS, app('/team-a/sub/x', 1, 0.3)],
      touched: ['/team-a/sub/x'],
      expected: [['/', 16.3, 16.6, true, []], ['/team-a', 2.3, 2.6, true, []], ['/team-a/sub', 0.3, 0.6, false, ['cpus']]],
    },
    { name: 'a removal frees', next: APPS.filter((a) => a.id !== '/team-a/web'), touched: ['/team-a/web'], expected: [['/', 16.3, 14.3, true, []], ['/team-a', 2.3, 0.3, true, []]] },
  ];
  for (const { name, next, touched, expected } of cases) {
    await t.test(name, () => {
      const effect = quotaEffect(QUOTAS, APPS, next, touched);
      assert.deepEqual(effect.map((e) => [e.group, e.used.cpus, e.after.cpus, e.fits, e.refusals.map((r) => r.resource)]), expected);
      for (const e of effect) assert.deepEqual(e.limit, QUOTAS[e.group]);
    });
  }
});

const none: Usage = { cpus: 0, mem: 0, disk: 0, gpus: 0, instances: 0 };
const live = (instances: number, cpus: number, mem = 0): Usage => ({ ...none, instances, cpus: instances * cpus, mem: instances * mem });
const held = (id: string, declared: number, running: number, cpus = 1, mem = 0): HeldApp => ({ declared: app(id, declared, cpus, mem), live: live(running, cpus, mem) });

test('launchRoom: declared instances always start, instances above them only within the quota', async (t) => {
  const quotas: Quotas = { '/team-a': { instances: 4, cpus: 10 } };
  const cases: Array<{ name: string; apps: HeldApp[]; wanted: number; count: number; wait?: RegExp }> = [
    { name: 'no quota on the path', apps: [held('/team-b/x', 2, 2)], wanted: 3, count: 3 },
    { name: 'scale-up within what was declared', apps: [held('/team-a/web', 4, 1)], wanted: 3, count: 3 },
    { name: 'surge into free room', apps: [held('/team-a/web', 2, 2), held('/team-a/api', 1, 1)], wanted: 2, count: 1, wait: /instances 4 used \+ 1 requested = 5, over the limit of 4/ },
    { name: 'no room: surge waits', apps: [held('/team-a/web', 3, 3), held('/team-a/api', 1, 1)], wanted: 1, count: 0, wait: /^waiting for quota before starting one more instance of \/team-a\/web: quota of \/team-a: instances 4 used/ },
    // The instance being replaced still holds its share until it has ended.
    { name: 'a replacement waits for the stopping instance', apps: [held('/team-a/web', 4, 4)], wanted: 1, count: 0, wait: /instances 4 used \+ 1 requested/ },
    // Another app not yet running keeps what it declared: the surge cannot take it.
    { name: 'room declared by another app is kept', apps: [held('/team-a/web', 2, 2), held('/team-a/api', 2, 0)], wanted: 1, count: 0, wait: /instances 4 used/ },
    { name: 'the binding resource is cpus', apps: [held('/team-a/web', 2, 2, 4)], wanted: 2, count: 0, wait: /cpus 8 used \+ 4 requested = 12, over the limit of 10/ },
    // Over a lowered limit: what was declared still starts, nothing above it.
    { name: 'over a lowered limit', apps: [held('/team-a/web', 6, 3)], wanted: 4, count: 3, wait: /instances 6 used \+ 1 requested = 7, over the limit of 4/ },
  ];
  for (const { name, apps, wanted, count, wait } of cases) {
    await t.test(name, () => {
      const all = heldByGroup(quotas, apps);
      const room = launchRoom(quotas, all, apps[0] as HeldApp, wanted);
      assert.equal(room.count, count);
      if (wait === undefined) assert.equal(room.waiting, undefined);
      else assert.ok(room.waiting !== undefined && wait.test(room.waiting.reason), JSON.stringify(room));
    });
  }
});

test('heldByGroup counts the larger of declared and live; heldAfterLaunch adds what starts', async (t) => {
  const quotas: Quotas = { '/': {}, '/team-a': { instances: 4 } };
  const web = held('/team-a/web', 2, 3);
  const all = heldByGroup(quotas, [web, held('/team-a/api', 1, 0), held('/team-b/x', 1, 1, 0.1)]);
  await t.test('held', () => {
    assert.deepEqual(all['/team-a'], { ...none, instances: 4, cpus: 4 });
    assert.deepEqual(all['/'], { ...none, instances: 5, cpus: 4.1 });
  });
  await t.test('one more started, then room is gone', () => {
    const after = heldAfterLaunch(quotas, all, web, 1);
    assert.deepEqual(after.held['/team-a'], { ...none, instances: 5, cpus: 5 });
    assert.deepEqual(after.app.live, live(4, 1));
    assert.equal(launchRoom(quotas, after.held, after.app, 1).count, 0);
  });
  await t.test('starting within what was declared holds nothing more', () => {
    const api = held('/team-a/api', 1, 0);
    assert.deepEqual(heldAfterLaunch(quotas, all, api, 1).held['/team-a'], all['/team-a']);
  });
});
