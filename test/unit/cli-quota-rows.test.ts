import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quotaBody, quotaCells } from '../../src/cli/client/core/quota-rows.ts';

test('quotaCells: used/limit per resource, - where not limited', async (t) => {
  const cases: Array<[name: string, row: Record<string, unknown>, cells: string[]]> = [
    ['all limited', { group: '/a', limit: { cpus: 4, mem: 1024, disk: 0, gpus: 1, instances: 10 }, used: { cpus: 1.5, mem: 256, disk: 0, gpus: 0, instances: 3 } }, ['/a', '1.5/4', '256/1024', '0/0', '0/1', '3/10']],
    ['some limited', { group: '/', limit: { cpus: 2 }, used: { cpus: 0.1, mem: 32, disk: 0, gpus: 0, instances: 1 } }, ['/', '0.1/2', '32/-', '0/-', '0/-', '1/-']],
    ['nothing used yet', { group: '/b', limit: { instances: 2 } }, ['/b', '0/-', '0/-', '0/-', '0/-', '0/2']],
    ['held as used: nothing more shown', { group: '/c', limit: { instances: 3 }, used: { cpus: 0.2, instances: 2 }, held: { cpus: 0.2, instances: 2 } }, ['/c', '0.2/-', '0/-', '0/-', '0/-', '2/3']],
    ['a surge holds more than declared', { group: '/c', limit: { instances: 3 }, used: { cpus: 0.2, instances: 2 }, held: { cpus: 0.3, instances: 3 } }, ['/c', '0.2 (held 0.3)/-', '0/-', '0/-', '0/-', '2 (held 3)/3']],
  ];
  for (const [name, row, cells] of cases) await t.test(name, () => assert.deepEqual(quotaCells(row), cells));
});

test('quotaBody: flags to a PUT body, refusing what is not a number ≥ 0', async (t) => {
  const cases: Array<[name: string, flags: Record<string, string>, expected: ReturnType<typeof quotaBody>]> = [
    ['numbers', { cpus: '4', mem: '1024.5', instances: '0' }, { ok: true, body: { cpus: 4, mem: 1024.5, instances: 0 } }],
    ['negative', { cpus: '-1' }, { ok: false, error: "--cpus must be a number ≥ 0, not '-1'" }],
    ['not a number', { mem: '1g' }, { ok: false, error: "--mem must be a number ≥ 0, not '1g'" }],
    ['empty', { disk: '' }, { ok: false, error: "--disk must be a number ≥ 0, not ''" }],
    ['none given', {}, { ok: false, error: 'give at least one limit: --cpus, --mem, --disk, --gpus, --instances' }],
  ];
  for (const [name, flags, expected] of cases) await t.test(name, () => assert.deepEqual(quotaBody(flags), expected));
});
