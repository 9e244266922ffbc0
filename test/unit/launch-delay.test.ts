import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backOff, type LaunchDelay } from '../../src/scheduler/core/launch-delay.ts';
import { app } from '../support/scheduler-fixtures.ts';

const web = app({ id: '/web', backoffSeconds: 2, backoffFactor: 3, maxLaunchDelaySeconds: 10 });
const api = app({ id: '/api', backoffSeconds: 1 });
const apps = new Map([[web.id, web], [api.id, api]]);
const NOW_MS = 1_000_000;
const running = (delayMs: number): LaunchDelay => ({ configVersion: web.versionInfo.lastConfigChangeAt, delayMs, until: NOW_MS - 1 });

test('backOff: delays to set, delays to drop, and when to look at each app again', async (t) => {
  const cases: Array<{ name: string; failed: string[]; delays: Map<string, LaunchDelay>; set: Record<string, number>; drop: string[]; wakeUps: Record<string, number> }> = [
    { name: 'no failure, nothing kept: nothing', failed: [], delays: new Map(), set: {}, drop: [], wakeUps: {} },
    { name: 'a first failure waits backoffSeconds', failed: ['/web'], delays: new Map(), set: { '/web': 2000 }, drop: [], wakeUps: { '/web': NOW_MS + 2000 } },
    { name: 'many failures of one app in one batch count once', failed: ['/web', '/web', '/web'], delays: new Map(), set: { '/web': 2000 }, drop: [], wakeUps: { '/web': NOW_MS + 2000 } },
    { name: 'a further failure waits backoffFactor times longer', failed: ['/web'], delays: new Map([['/web', running(2000)]]), set: { '/web': 6000 }, drop: [], wakeUps: { '/web': NOW_MS + 6000 } },
    { name: 'up to maxLaunchDelaySeconds', failed: ['/web'], delays: new Map([['/web', running(6000)]]), set: { '/web': 10000 }, drop: [], wakeUps: { '/web': NOW_MS + 10000 } },
    { name: 'a delay of an older configuration starts afresh', failed: ['/web'], delays: new Map([['/web', { ...running(6000), configVersion: 'older' }]]), set: { '/web': 2000 }, drop: [], wakeUps: { '/web': NOW_MS + 2000 } },
    { name: 'two apps failing: one delay and one timer each', failed: ['/web', '/api'], delays: new Map(), set: { '/web': 2000, '/api': 1000 }, drop: [], wakeUps: { '/web': NOW_MS + 2000, '/api': NOW_MS + 1000 } },
    { name: 'a failed app that is gone: no delay, no timer', failed: ['/gone'], delays: new Map(), set: {}, drop: [], wakeUps: {} },
    { name: 'the delay of an app that is gone is dropped', failed: ['/web'], delays: new Map([['/gone', running(2000)]]), set: { '/web': 2000 }, drop: ['/gone'], wakeUps: { '/web': NOW_MS + 2000 } },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const before = new Map(c.delays);
      const result = backOff(c.failed, apps, c.delays, NOW_MS);
      assert.deepEqual(Object.fromEntries([...result.set].map(([id, d]) => [id, d.delayMs])), c.set);
      for (const delay of result.set.values()) assert.equal(delay.until, NOW_MS + delay.delayMs);
      assert.deepEqual(result.drop, c.drop);
      assert.deepEqual(Object.fromEntries(result.wakeUps.map((w) => [w.appId, w.atMs])), c.wakeUps);
      assert.deepEqual(c.delays, before, 'the delays given are left as they were');
    });
  }
});
