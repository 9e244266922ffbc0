import assert from 'node:assert/strict';
import { test } from 'node:test';
import { debugView } from '../../src/ui/core/debug.ts';
import type { App, QueueEntry, TaskFailure } from '../../src/ui/core/marathon.ts';

const NOW = Date.parse('2026-01-01T12:00:00.000Z');
const app: App = { id: '/a', instances: 3, cpus: 1, mem: 32, version: 'v2', backoffSeconds: 2, backoffFactor: 2, maxLaunchDelaySeconds: 60 };
const queued = (over: Partial<QueueEntry> = {}): QueueEntry => ({
  app: { id: '/a' }, count: 2, delay: { timeLeftSeconds: 0, overdue: true }, since: '2026-01-01T11:55:00.000Z', reason: 'UNIQUE hostname on 3 of 4 agents, insufficient mem on 1 of 4 agents',
  processedOffersSummary: { processedOffersCount: 4 },
  refusals: [{ reason: 'UNIQUE hostname', agents: 3, constraint: ['hostname', 'UNIQUE'] }, { reason: 'insufficient mem', agents: 1 }],
  ...over,
});

test('debugView: what waits, per constraint and resource, in words (table-driven)', () => {
  const cases: [name: string, q: QueueEntry | undefined, expected: unknown][] = [
    ['nothing queued', undefined, undefined],
    ['an empty entry', queued({ count: 0 }), undefined],
    ['constraint and resources', queued(), {
      count: 2, reason: 'UNIQUE hostname on 3 of 4 agents, insufficient mem on 1 of 4 agents', since: '5m ago',
      refusals: [{ kind: 'constraint', what: 'Constraint hostname:UNIQUE', agents: 3, of: 4 }, { kind: 'resources', what: 'Not enough mem', agents: 1, of: 4 }],
    }],
    ['an agent reason, no reason words', queued({ reason: '', since: undefined, refusals: [{ reason: 'agent draining', agents: 1 }] }), {
      count: 2, reason: 'not placed yet', refusals: [{ kind: 'agent', what: 'Agent draining', agents: 1, of: 4 }],
    }],
  ];
  for (const [name, q, expected] of cases) assert.deepEqual(debugView(app, q, undefined, NOW).waiting, expected, name);
});

test('debugView: the launch delay with the app\'s backoff, and the last failure in words', () => {
  const cases: [QueueEntry | undefined, { inForce: boolean; text: string }][] = [
    [undefined, { inForce: false, text: 'None: instances launch as soon as an agent fits (each failure multiplies the delay by 2 from 2s, up to 60s).' }],
    [queued({ delay: { timeLeftSeconds: 12, overdue: false } }), { inForce: true, text: '12s left before the next launch (each failure multiplies the delay by 2 from 2s, up to 60s).' }],
  ];
  for (const [q, expected] of cases) assert.deepEqual(debugView(app, q, undefined, NOW).delay, expected);
  const failure: TaskFailure = { taskId: 'a.1', state: 'TASK_FAILED', message: 'exited with status 1', host: '127.0.0.11', timestamp: '2026-01-01T11:59:30.000Z', version: 'v1' };
  assert.deepEqual(debugView(app, undefined, failure, NOW).failure, {
    headline: 'failed 30s ago on 127.0.0.11', message: 'exited with status 1', task: 'a.1', version: 'v1 (an older version)', when: '2026-01-01T11:59:30.000Z',
  });
  assert.equal(debugView(app, undefined, { ...failure, message: '', version: 'v2' }, NOW).failure?.message, '(no message)');
  assert.equal(debugView(app, undefined, { ...failure, version: 'v2' }, NOW).failure?.version, 'v2 (the current version)');
});
