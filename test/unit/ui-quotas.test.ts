import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NEW_QUOTA_FORM, quotaBars, quotaFormOf, quotaLimitsOf, type QuotaForm, type QuotaRow } from '../../src/ui/core/quotas.ts';

const zero = { cpus: 0, mem: 0, disk: 0, gpus: 0, instances: 0 };
const row = (over: Partial<QuotaRow>): QuotaRow => ({ group: '/team-a', limit: {}, used: zero, held: zero, ...over });

test('quotaBars: limited resources and used unlimited ones, with their state (table-driven)', () => {
  const cases: [name: string, row: QuotaRow, expected: Array<Partial<ReturnType<typeof quotaBars>[number]>>][] = [
    ['nothing limited or used', row({}), []],
    ['a limit, half used', row({ limit: { cpus: 2 }, used: { ...zero, cpus: 1 }, held: { ...zero, cpus: 1 } }), [
      { resource: 'cpus', used: 1, held: 1, limit: 2, usedFraction: 0.5, heldFraction: 0, state: 'ok', words: 'cpus: 1 declared, 1 held, limit 2' },
    ]],
    ['a surge held beyond what is declared, near the limit', row({ limit: { instances: 10 }, used: { ...zero, instances: 8 }, held: { ...zero, instances: 9 } }), [
      { resource: 'instances', usedFraction: 0.8, heldFraction: 0.1, state: 'near' },
    ]],
    ['over a lowered limit: the bar scales to what is used', row({ limit: { mem: 100 }, used: { ...zero, mem: 200 }, held: { ...zero, mem: 200 } }), [
      { resource: 'mem', usedFraction: 1, heldFraction: 0, state: 'over', words: 'mem: 200 MiB declared, 200 MiB held, limit 100 MiB' },
    ]],
    ['unlimited but used', row({ used: { ...zero, disk: 5 }, held: { ...zero, disk: 5 } }), [
      { resource: 'disk', usedFraction: 1, state: 'ok', words: 'disk: 5 MiB declared, 5 MiB held, no limit' },
    ]],
  ];
  for (const [name, r, expected] of cases) {
    const bars = quotaBars(r);
    assert.equal(bars.length, expected.length, name);
    expected.forEach((e, i) => assert.deepEqual(Object.fromEntries(Object.keys(e).map((k) => [k, (bars[i] as unknown as Record<string, unknown>)[k]])), e, `${name} #${i}`));
  }
});

test('quotaLimitsOf and quotaFormOf: limits as typed, empty ones left out (table-driven)', () => {
  const cases: [Partial<QuotaForm>, Record<string, unknown>][] = [
    [{}, {}],
    [{ cpus: '2', instances: ' 10 ' }, { cpus: 2, instances: 10 }],
    [{ mem: 'lots', disk: '-1' }, { mem: 'lots', disk: -1 }],
  ];
  for (const [over, expected] of cases) assert.deepEqual(quotaLimitsOf({ ...NEW_QUOTA_FORM, group: '/a', ...over }), expected);
  assert.deepEqual(quotaFormOf({ group: '/a', limit: { cpus: 1.5, instances: 3 } }), { group: '/a', cpus: '1.5', mem: '', disk: '', gpus: '', instances: '3' });
});
