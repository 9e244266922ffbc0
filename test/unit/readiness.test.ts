import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../src/scheduler/core/app-definition.ts';
import { planDeployment } from '../../src/scheduler/core/deployments.ts';
import { isReady } from '../../src/scheduler/core/health.ts';
import { deploymentJson } from '../../src/scheduler/core/marathon-json.ts';
import { pendingReadiness, withReadinessResult } from '../../src/scheduler/core/readiness.ts';
import { NOW, agent, app, instance, state } from '../support/scheduler-fixtures.ts';

const web = app({
  id: '/web',
  portDefinitions: [{ port: 0, name: 'admin' }, { port: 0, name: 'http-api' }],
  readinessChecks: [{ path: '/ready' }],
});

test('readiness checks get Marathon\'s defaults and must name a port', () => {
  assert.deepEqual(web.readinessChecks, [{
    name: 'readinessCheck', protocol: 'HTTP', path: '/ready', portName: 'http-api', intervalSeconds: 30, timeoutSeconds: 10, httpStatusCodesForReady: [200], preserveLastResponse: false,
  }]);
  const bad = buildApp({ id: '/x', cmd: 'x', readinessChecks: [{ portName: 'nope' }, { protocol: 'TCP' }] }, { now: NOW, apps: new Map() });
  assert.equal(bad.ok, false);
  assert.deepEqual(!bad.ok && bad.details.map((d) => d.path), ['/readinessChecks/1/protocol']);
  const unnamed = buildApp({ id: '/x', cmd: 'x', readinessChecks: [{ portName: 'nope' }] }, { now: NOW, apps: new Map() });
  assert.deepEqual(!unnamed.ok && unnamed.details, [{ path: '/readinessChecks/0/portName', errors: ['no port definition is named nope'] }]);
});

test('pendingReadiness: which instances are asked, and where', async (t) => {
  const base = { ports: [31000, 31001], host: '10.0.0.1' };
  const cases = [
    { name: 'a running instance of the current config, on its named port', instance: instance('w1', web, 'a', base), urls: ['http://10.0.0.1:31001/ready'] },
    { name: 'not yet running: not asked', instance: instance('w1', web, 'a', { ...base, state: 'TASK_STAGING' as const }), urls: [] },
    { name: 'being stopped: not asked', instance: instance('w1', web, 'a', { ...base, goal: 'stopped' as const }), urls: [] },
    { name: 'of an older configuration: not asked', instance: instance('w1', web, 'a', { ...base, configVersion: 'old' }), urls: [] },
    { name: 'passed once: never asked again', instance: instance('w1', web, 'a', { ...base, readinessResults: [{ name: 'readinessCheck', ready: true }] }), urls: [] },
    { name: 'failed so far: asked again', instance: instance('w1', web, 'a', { ...base, readinessResults: [{ name: 'readinessCheck', ready: false }] }), urls: ['http://10.0.0.1:31001/ready'] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const probes = pendingReadiness(state({ apps: [web], agents: [agent('a')], instances: [c.instance] }));
      assert.deepEqual(probes.map((p) => p.url), c.urls);
    });
  }
});

test('an instance is ready for deployments only once its readiness checks passed', () => {
  const running = instance('w1', web, 'a');
  assert.equal(isReady(running, web), false);
  const notYet = withReadinessResult(running, web, 0, { name: 'readinessCheck', ready: false, lastResponse: { status: 503, contentType: 'text/plain', body: 'warming up' } });
  assert.equal(isReady(notYet, web), false);
  assert.equal(withReadinessResult(notYet, web, 0, { name: 'readinessCheck', ready: false, lastResponse: { status: 503, contentType: 'text/plain', body: 'warming up' } }), notYet, 'the same answer is not stored again');
  const passed = withReadinessResult(notYet, web, 0, { name: 'readinessCheck', ready: true });
  assert.equal(isReady(passed, web), true);
  assert.equal(withReadinessResult(passed, web, 0, { name: 'readinessCheck', ready: false }), passed, 'a pass is final');
});

test('a first failed probe is stored even without preserveLastResponse (Marathon shows ready: false at once)', () => {
  const running = instance('w1', web, 'a');
  const first = withReadinessResult(running, web, 0, { name: 'readinessCheck', ready: false });
  assert.deepEqual(first.readinessResults, [{ name: 'readinessCheck', ready: false }]);
  assert.equal(withReadinessResult(first, web, 0, { name: 'readinessCheck', ready: false }), first, 'nothing new: no write');
});

test('/v2/deployments: currentActions carry the readiness results of the app\'s new instances', () => {
  const results = [{ name: 'readinessCheck', ready: false, lastResponse: { status: 503, contentType: 'text/plain', body: 'warming up' } }];
  const old = { ...web, versionInfo: { ...web.versionInfo, lastConfigChangeAt: '2025-01-01T00:00:00.000Z' } };
  const s = state({
    apps: [web],
    agents: [agent('a')],
    instances: [
      instance('web.new', web, 'a', { readinessResults: results }),
      instance('web.waiting', web, 'a'),
      instance('web.old', old, 'a', { readinessResults: [{ name: 'readinessCheck', ready: true }] }),
    ],
  });
  const deployment = planDeployment('d1', old, web, NOW);
  const json = deploymentJson(deployment, s);
  assert.deepEqual(json.currentActions, [{ action: 'RestartApplication', app: '/web', readinessCheckResults: [{ ...results[0], taskId: 'web.new' }] }]);
  const stopping = deploymentJson(planDeployment('d2', web, undefined, NOW), state({}));
  assert.deepEqual(stopping.currentActions, [{ action: 'StopApplication', app: '/web', readinessCheckResults: [] }]);
});
