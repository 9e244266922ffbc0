import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpAdmission } from '../../src/dns/core/tcp-admission.ts';

type Step = { admit: string; from: string; closes: string[] } | { touch: string } | { remove: string };

test('TcpAdmission: new connections always get in; the least recently active one over a cap goes (table-driven)', () => {
  const cases: { name: string; total: number; perClient: number; steps: Step[]; open: number }[] = [
    {
      name: 'under both caps nothing closes',
      total: 3, perClient: 3,
      steps: [{ admit: 'a1', from: 'A', closes: [] }, { admit: 'b1', from: 'B', closes: [] }],
      open: 2,
    },
    {
      name: 'per-client cap: that client\'s oldest goes, not another client\'s',
      total: 10, perClient: 2,
      steps: [
        { admit: 'a1', from: 'A', closes: [] },
        { admit: 'b1', from: 'B', closes: [] },
        { admit: 'a2', from: 'A', closes: [] },
        { admit: 'a3', from: 'A', closes: ['a1'] },
      ],
      open: 3,
    },
    {
      name: 'a complete query moves a connection to the back of the line',
      total: 10, perClient: 2,
      steps: [
        { admit: 'a1', from: 'A', closes: [] },
        { admit: 'a2', from: 'A', closes: [] },
        { touch: 'a1' },
        { admit: 'a3', from: 'A', closes: ['a2'] },
      ],
      open: 2,
    },
    {
      name: 'total cap: the least recently active of anyone goes',
      total: 2, perClient: 5,
      steps: [
        { admit: 'a1', from: 'A', closes: [] },
        { admit: 'b1', from: 'B', closes: [] },
        { touch: 'a1' },
        { admit: 'c1', from: 'C', closes: ['b1'] },
      ],
      open: 2,
    },
    {
      name: 'a closed connection frees its slot',
      total: 2, perClient: 1,
      steps: [
        { admit: 'a1', from: 'A', closes: [] },
        { remove: 'a1' },
        { admit: 'a2', from: 'A', closes: [] },
        { admit: 'b1', from: 'B', closes: [] },
      ],
      open: 2,
    },
    {
      name: 'both caps at once close one connection each',
      total: 2, perClient: 1,
      steps: [
        { admit: 'a1', from: 'A', closes: [] },
        { admit: 'b1', from: 'B', closes: [] },
        { admit: 'a2', from: 'A', closes: ['a1'] },
        { admit: 'c1', from: 'C', closes: ['b1'] },
      ],
      open: 2,
    },
  ];
  for (const c of cases) {
    const admission = new TcpAdmission<string>({ total: c.total, perClient: c.perClient });
    for (const step of c.steps) {
      if ('admit' in step) assert.deepEqual(admission.admit(step.admit, step.from), step.closes, `${c.name}: admit ${step.admit}`);
      else if ('touch' in step) admission.touch(step.touch);
      else admission.remove(step.remove);
    }
    assert.equal(admission.size, c.open, c.name);
  }
});

test('TcpAdmission refuses caps below one', () => {
  assert.throws(() => new TcpAdmission({ total: 0, perClient: 1 }), RangeError);
  assert.throws(() => new TcpAdmission({ total: 1, perClient: 0 }), RangeError);
});
