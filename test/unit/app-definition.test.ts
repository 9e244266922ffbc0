import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../src/scheduler/core/app-definition.ts';
import { writeApp } from '../../src/scheduler/core/app-changes.ts';
import { NOW, app, state } from '../support/scheduler-fixtures.ts';
import { httpError } from '../../src/scheduler/api/http-errors.ts';

const build = (body: unknown, apps = new Map()) => buildApp(body, { now: NOW, apps });

test('app validation: Marathon error details', async (t) => {
  const cases: Array<{ name: string; body: unknown; path: string; error: RegExp }> = [
    { name: 'negative cpus', body: { id: 'a', cmd: 'x', cpus: -1 }, path: '/cpus', error: />= 0/ },
    { name: 'unknown field', body: { id: 'a', cmd: 'x', cpu: 1 }, path: '/cpu', error: /unknown field/ },
    { name: 'bad id', body: { id: 'Bad_ID', cmd: 'x' }, path: '/id', error: /regular expression/ },
    { name: 'no cmd nor args', body: { id: 'a' }, path: '/', error: /cmd.*args/ },
    { name: 'string instances', body: { id: 'a', cmd: 'x', instances: 'two' }, path: '/instances', error: /integer/ },
    { name: 'constraint with an unknown operator', body: { id: 'a', cmd: 'x', constraints: [['hostname', 'UNIQUE'], ['rack', 'NEAR', 'a']] }, path: '/constraints/1', error: /operator must be one of the following UNIQUE, CLUSTER/ },
    { name: 'constraint that is not an array of strings', body: { id: 'a', cmd: 'x', constraints: [['rack', 'MAX_PER', 2]] }, path: '/constraints/0/2', error: /string/ },
    { name: 'COMMAND check without a command', body: { id: 'a', cmd: 'x', healthChecks: [{ protocol: 'COMMAND' }] }, path: '/healthChecks/0/command', error: /need a command/ },
    { name: 'health check on a port the app lacks', body: { id: 'a', cmd: 'x', healthChecks: [{ protocol: 'HTTP', portIndex: 1 }] }, path: '/healthChecks/0/portIndex', error: /portIndex 1 does not exist/ },
    { name: 'unknown health check protocol', body: { id: 'a', cmd: 'x', healthChecks: [{ protocol: 'GOPHER' }] }, path: '/healthChecks/0/protocol', error: /allowed values/ },
    { name: 'fetch outside the sandbox', body: { id: 'a', cmd: 'x', fetch: [{ uri: 'http://h/a.tgz', destPath: '../a' }] }, path: '/fetch/0/destPath', error: /inside the sandbox/ },
    { name: 'fetch of an unsupported scheme', body: { id: 'a', cmd: 'x', uris: ['ftp://h/a.tgz'] }, path: '/uris/0', error: /only http/ },
    { name: 'expunge before inactive', body: { id: 'a', cmd: 'x', unreachableStrategy: { inactiveAfterSeconds: 10, expungeAfterSeconds: 5 } }, path: '/unreachableStrategy/expungeAfterSeconds', error: /greater than or equal/ },
    { name: 'bad port protocol', body: { id: 'a', cmd: 'x', portDefinitions: [{ port: 0, protocol: 'sctp' }] }, path: '/portDefinitions/0/protocol', error: /allowed values/ },
    { name: 'non-string label', body: { id: 'a', cmd: 'x', labels: { A: 1 } }, path: '/labels/A', error: /string/ },
    { name: 'not an object', body: [1], path: '/', error: /object/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = build(c.body);
      assert.equal(result.ok, false);
      if (result.ok) return;
      const detail = result.details.find((d) => d.path === c.path);
      assert.ok(detail, `no detail for ${c.path}: ${JSON.stringify(result.details)}`);
      assert.match(detail.errors.join(' '), c.error);
    });
  }
});

test('app defaults are Marathon\'s and ids become absolute', () => {
  const result = build({ id: 'shop/web', cmd: 'x' });
  assert.ok(result.ok);
  const { app: a } = result;
  assert.equal(a.id, '/shop/web');
  assert.deepEqual([a.instances, a.cpus, a.mem, a.disk], [1, 1, 128, 0]);
  assert.deepEqual(a.portDefinitions, [{ port: 10000, protocol: 'tcp' }]);
  assert.deepEqual(a.upgradeStrategy, { minimumHealthCapacity: 1, maximumOverCapacity: 1 });
  assert.deepEqual(a.unreachableStrategy, { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 });
});

test('health checks and fetch get Marathon\'s defaults; legacy uris become fetch entries', () => {
  const result = build({ id: 'a', cmd: 'x', healthChecks: [{ protocol: 'HTTP' }, { protocol: 'COMMAND', command: { value: 'true' } }], uris: ['http://h/a.tgz'] });
  assert.ok(result.ok);
  assert.deepEqual(result.app.healthChecks[0], {
    protocol: 'HTTP', path: '/', portIndex: 0, gracePeriodSeconds: 300, intervalSeconds: 60, timeoutSeconds: 20, maxConsecutiveFailures: 3, delaySeconds: 15, ignoreHttp1xx: false,
  });
  assert.equal(result.app.healthChecks[1]?.portIndex, undefined);
  assert.deepEqual(result.app.fetch, [{ uri: 'http://h/a.tgz', extract: true, executable: false, cache: false }]);
});

test('service ports are unique across apps, kept across updates, and fixed ports clash with 422', () => {
  const first = app({ id: '/a', portDefinitions: [{ port: 0 }, { port: 0 }] });
  const apps = new Map([[first.id, first]]);
  const second = build({ id: '/b', cmd: 'x', portDefinitions: [{ port: 0 }] }, apps);
  assert.ok(second.ok);
  assert.deepEqual(second.app.portDefinitions.map((p) => p.port), [10002]);
  const updated = build({ id: '/a', cmd: 'y', portDefinitions: [{ port: 0 }, { port: 0 }] }, apps);
  assert.ok(updated.ok);
  assert.deepEqual(updated.app.portDefinitions.map((p) => p.port), [10000, 10001]);
  const clash = build({ id: '/c', cmd: 'x', portDefinitions: [{ port: 10001 }] }, apps);
  assert.equal(clash.ok, false);
});

test('a scale keeps lastConfigChangeAt; a new cmd changes it', () => {
  const web = app({ id: '/web', instances: 1 });
  const s = state({ apps: [web] });
  const ctx = { now: '2026-03-01T00:00:00.000Z', deploymentId: 'd1', force: false, clientIp: '127.0.0.1', uri: '/v2/apps/web' };
  const scaled = writeApp(s, { instances: 3 }, 'partial', ctx, 'web');
  assert.ok(scaled.ok && scaled.app);
  assert.equal(scaled.app.instances, 3);
  assert.equal(scaled.app.versionInfo.lastConfigChangeAt, web.versionInfo.lastConfigChangeAt);
  assert.equal(scaled.deployment.plan.steps[0]?.actions[0]?.action, 'ScaleApplication');
  const changed = writeApp(s, { cmd: 'sleep 2' }, 'partial', ctx, 'web');
  assert.ok(changed.ok && changed.app);
  assert.equal(changed.app.versionInfo.lastConfigChangeAt, ctx.now);
  assert.equal(changed.deployment.plan.steps[0]?.actions[0]?.action, 'RestartApplication');
});

test('one deployment per app: 409 unless forced, and forcing cancels the holder', () => {
  const web = app({ id: '/web' });
  const holder = { id: 'd0', plan: { id: 'd0', version: NOW, steps: [] }, affectedApps: ['/web'], currentStep: 0, targets: { '/web': 1 }, original: {}, startedAt: NOW };
  const s = { ...state({ apps: [web] }), deployments: new Map([['d0', holder]]) };
  const ctx = { now: NOW, deploymentId: 'd1', force: false, clientIp: '', uri: '' };
  const refused = writeApp(s, { instances: 2 }, 'partial', ctx, 'web');
  assert.ok(!refused.ok);
  assert.equal(httpError(refused.error).statusCode, 409);
  assert.deepEqual(httpError(refused.error).body.deployments, [{ id: 'd0' }]);
  const forced = writeApp(s, { instances: 2 }, 'partial', { ...ctx, force: true }, 'web');
  assert.ok(forced.ok);
  assert.deepEqual(forced.events.map((e) => e.eventType), ['deployment_failed', 'api_post_event', 'group_change_success', 'deployment_info']);
});
