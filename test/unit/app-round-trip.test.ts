import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeApp, type ChangeContext, type WriteMode } from '../../src/scheduler/core/app-changes.ts';
import { appInstances, appJson } from '../../src/scheduler/core/marathon-json.ts';
import { applyOps } from '../../src/scheduler/core/state-ops.ts';
import type { AppDefinition, ClusterState } from '../../src/scheduler/types.ts';
import { agent, instance, state } from '../support/scheduler-fixtures.ts';

const CREATED = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-03T00:00:00.000Z';
const ctx = (now: string, deploymentId: string): ChangeContext => ({ now, deploymentId, force: false, clientIp: '127.0.0.1', uri: '/v2/apps' });

/** The app created by POST, with one running instance, as the scheduler's state holds it. */
function created(fields: Record<string, unknown>): { s: ClusterState; app: AppDefinition } {
  const change = writeApp(state({ agents: [agent('a')] }), { id: '/rt', ...fields }, 'create', ctx(CREATED, 'd-create'));
  if (!change.ok) throw new Error(JSON.stringify(change.error));
  const app = change.app as AppDefinition;
  const s = applyOps(state({ apps: [app], agents: [agent('a')], instances: [instance('rt.1', app, 'a')] }), []);
  return { s, app };
}

/** `GET /v2/apps/{id}?embed=app.tasks&embed=app.lastTaskFailure&embed=app.taskStats&embed=app.readiness`, through JSON. */
function getJson(s: ClusterState, app: AppDefinition): Record<string, unknown> {
  const json = appJson(app, appInstances(s, app), [...s.deployments.values()], {
    embedTasks: true, embedReadiness: true, taskStatsAt: Date.parse(LATER), embedLastTaskFailure: true,
    lastTaskFailure: { appId: app.id, taskId: 'rt.0', state: 'TASK_FAILED', message: 'exit 1', host: 'a', timestamp: CREATED, version: app.version, slaveId: 'a' },
  });
  return JSON.parse(JSON.stringify(json)) as Record<string, unknown>;
}

const IMAGE = { type: 'DOCKER', docker: { image: 'busybox' } };
const apps: Array<{ name: string; fields: Record<string, unknown> }> = [
  { name: 'host app with a random port', fields: { cmd: 'sleep 1000' } },
  { name: 'host app with fixed, named ports and a health check', fields: { cmd: 'sleep 1000', portDefinitions: [{ port: 10555, name: 'http' }, { port: 0, protocol: 'udp' }], healthChecks: [{ protocol: 'TCP' }] } },
  { name: 'host app written with legacy ports', fields: { cmd: 'sleep 1000', ports: [0, 0] } },
  { name: 'app with an image', fields: { container: IMAGE } },
  { name: 'bridge app', fields: { networks: [{ mode: 'container/bridge' }], container: { ...IMAGE, portMappings: [{ containerPort: 80, name: 'web' }] } } },
  { name: 'resident app', fields: { cmd: 'sleep 1000', container: { type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { size: 64 } }] } } },
];
const modes: WriteMode[] = ['partial', 'replace'];

test('GET -> PUT round trip: the app JSON as read is accepted back and changes nothing', async (t) => {
  for (const { name, fields } of apps) {
    for (const mode of modes) {
      await t.test(`${name} (${mode})`, () => {
        const { s, app } = created(fields);
        const change = writeApp(s, getJson(s, app), mode, ctx(LATER, 'd-put'), '/rt');
        assert.equal(change.ok, true, JSON.stringify(change.ok ? '' : change.error));
        if (!change.ok) return;
        assert.deepEqual(change.app, app, 'the stored definition, version included, is the same');
        assert.deepEqual(change.deployment.plan.steps, [], 'nothing to deploy');
        assert.deepEqual(change.ops, [], 'nothing written: no new version, no deployment, no lock');
        assert.deepEqual(change.events, []);
      });
    }
  }
});

test('GET -> PUT round trip: a change made to the JSON as read is still a change', async (t) => {
  const cases: Array<{ name: string; edit: (json: Record<string, unknown>) => void; action: string; check: (app: AppDefinition) => void }> = [
    { name: 'instances: a scale', edit: (json) => { json.instances = 3; }, action: 'ScaleApplication', check: (app) => assert.equal(app.instances, 3) },
    { name: 'cmd: a restart', edit: (json) => { json.cmd = 'sleep 2000'; }, action: 'RestartApplication', check: (app) => assert.equal(app.cmd, 'sleep 2000') },
    {
      name: 'portDefinitions changed, ports removed',
      edit: (json) => { json.portDefinitions = [{ port: 10777, protocol: 'tcp' }]; delete json.ports; },
      action: 'RestartApplication',
      check: (app) => assert.deepEqual(app.portDefinitions.map((p) => p.port), [10777]),
    },
    {
      name: 'ports changed, portDefinitions removed: the legacy ports',
      edit: (json) => { json.ports = [10778]; delete json.portDefinitions; },
      action: 'RestartApplication',
      check: (app) => assert.deepEqual(app.portDefinitions.map((p) => p.port), [10778]),
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const { s, app } = created({ cmd: 'sleep 1000' });
      const json = getJson(s, app);
      c.edit(json);
      const change = writeApp(s, json, 'partial', ctx(LATER, 'd-put'), '/rt');
      assert.equal(change.ok, true, JSON.stringify(change.ok ? '' : change.error));
      if (!change.ok) return;
      assert.deepEqual(change.deployment.plan.steps, [{ actions: [{ action: c.action, app: '/rt' }] }]);
      assert.equal(change.app?.version, LATER);
      c.check(change.app as AppDefinition);
    });
  }
});

test('ports and portDefinitions together: accepted when they say the same ports (as Marathon), else a 422 at /ports', () => {
  const { s } = created({ cmd: 'sleep 1000' });
  const cases: Array<{ body: Record<string, unknown>; ok: boolean }> = [
    { body: { cmd: 'x', ports: [10901], portDefinitions: [{ port: 10901, name: 'http' }] }, ok: true },
    { body: { cmd: 'x', ports: [], portDefinitions: [{ port: 10902 }] }, ok: true },
    { body: { cmd: 'x', ports: [10903], portDefinitions: [] }, ok: true },
    { body: { cmd: 'x', ports: [1], portDefinitions: [{ port: 2 }] }, ok: false },
  ];
  for (const c of cases) {
    const change = writeApp(s, { id: '/other', ...c.body }, 'create', ctx(LATER, 'd-x'));
    assert.equal(change.ok, c.ok, JSON.stringify(c.body));
    if (!change.ok) assert.deepEqual(change.error, { code: 'ERR_SCHED_INVALID', details: [{ path: '/ports', errors: ["'ports' and 'portDefinitions' cannot both be given unless they list the same ports"] }] });
  }
});
