import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyHealthResults, instanceHealthy } from '../../src/scheduler/core/health.ts';
import type { HealthResult } from '../../src/shared/agent-protocol.ts';
import { NOW, app, instance } from '../support/scheduler-fixtures.ts';

const result = (alive: boolean, consecutiveFailures = alive ? 0 : 1): HealthResult => ({
  alive, consecutiveFailures, firstSuccess: null, lastSuccess: null, lastFailure: null, lastFailureCause: alive ? null : 'HTTP 500',
});

const web = app({ id: '/web', healthChecks: [{ protocol: 'HTTP', maxConsecutiveFailures: 3 }, { protocol: 'TCP' }] });

test('health results: events and kills, table', async (t) => {
  const cases: Array<{ name: string; before?: HealthResult[]; after: HealthResult[]; events: string[]; kill: boolean }> = [
    { name: 'first results, all alive', after: [result(true), result(true)], events: ['health_status_changed_event', 'health_status_changed_event', 'instance_health_changed_event'], kill: false },
    { name: 'one check starts failing', before: [result(true), result(true)], after: [result(false), result(true)], events: ['health_status_changed_event', 'failed_health_check_event', 'instance_health_changed_event'], kill: false },
    { name: 'still failing, count grows', before: [result(false, 1), result(true)], after: [result(false, 2), result(true)], events: ['failed_health_check_event'], kill: false },
    { name: 'reaches maxConsecutiveFailures', before: [result(false, 2), result(true)], after: [result(false, 3), result(true)], events: ['failed_health_check_event'], kill: true },
    { name: 'recovers', before: [result(false, 2), result(true)], after: [result(true), result(true)], events: ['health_status_changed_event', 'instance_health_changed_event'], kill: false },
    { name: 'unchanged', before: [result(true), result(true)], after: [result(true), result(true)], events: [], kill: false },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const start = instance('w1', web, 'a', c.before !== undefined ? { healthResults: c.before } : {});
      const change = applyHealthResults(start, web, c.after, NOW);
      assert.deepEqual(change.events.map((e) => e.eventType), c.events);
      assert.equal(change.killReason !== undefined, c.kill);
      assert.deepEqual(change.instance.healthResults, c.after);
    });
  }
});

test('failed_health_check_event: Marathon\'s payload, the check that failed and the task\'s version', () => {
  const start = instance('web.1', web, 'a', { healthResults: [result(false, 1), result(true)] });
  const [event] = applyHealthResults(start, web, [result(false, 2), result(true)], NOW).events;
  assert.deepEqual(event, {
    eventType: 'failed_health_check_event', timestamp: NOW, appId: '/web', taskId: 'web.1', instanceId: 'web.1', version: web.version, healthCheck: web.healthChecks[0],
  });
});

test('overall health: undefined without checks, false until every check reported alive', () => {
  const plain = app({ id: '/plain' });
  assert.equal(instanceHealthy(instance('p', plain, 'a'), plain), undefined);
  assert.equal(instanceHealthy(instance('w', web, 'a'), web), false);
  assert.equal(instanceHealthy(instance('w', web, 'a', { healthResults: [result(true)] }), web), false);
  assert.equal(instanceHealthy(instance('w', web, 'a', { healthResults: [result(true), result(true)] }), web), true);
});
