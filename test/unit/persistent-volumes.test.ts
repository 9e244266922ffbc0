import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../src/scheduler/core/app-definition.ts';
import { writeApp } from '../../src/scheduler/core/app-changes.ts';
import { emptyState } from '../../src/scheduler/core/state-ops.ts';
import { appDefinitionJson } from '../../src/scheduler/core/marathon-json.ts';
import { assertRefusals, NOW, type RefusalCase } from '../support/scheduler-fixtures.ts';

const build = (fields: Record<string, unknown>) => buildApp({ id: '/db', cmd: 'sleep 100', ...fields }, { now: NOW, apps: new Map() });
const volume = (fields: Record<string, unknown> = {}) => ({ containerPath: 'data', mode: 'RW', persistent: { size: 64, type: 'root' }, ...fields });

test('persistent volumes: accepted for process and image apps, with Marathon\'s resident defaults', async (t) => {
  const cases: Array<{ name: string; fields: Record<string, unknown>; image: boolean }> = [
    { name: 'a process app (MESOS container, no image)', fields: { container: { type: 'MESOS', volumes: [volume()] } }, image: false },
    { name: 'an image app beside a host path', fields: { container: { type: 'DOCKER', docker: { image: 'busybox' }, volumes: [{ containerPath: '/etc/x', hostPath: '/srv/x', mode: 'RO' }, volume()] } }, image: true },
    { name: 'mode and type defaulted', fields: { container: { type: 'MESOS', volumes: [{ containerPath: 'data', persistent: { size: 64 } }] } }, image: false },
    { name: 'strategies given as Marathon requires', fields: { unreachableStrategy: 'disabled', upgradeStrategy: { minimumHealthCapacity: 0, maximumOverCapacity: 0 }, container: { type: 'MESOS', volumes: [volume()] } }, image: false },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = build(c.fields);
      assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.details));
      assert.deepEqual(result.app.persistentVolumes, [{ containerPath: 'data', mode: 'RW', size: 64 }]);
      assert.equal(result.app.unreachableStrategy, 'disabled');
      assert.equal(result.app.upgradeStrategy.maximumOverCapacity, 0);
      assert.equal(result.app.container !== undefined, c.image);
      const json = appDefinitionJson(result.app);
      const volumes = (json.container as { volumes: unknown[] }).volumes;
      assert.deepEqual(volumes.at(-1), { containerPath: 'data', mode: 'RW', persistent: { type: 'root', size: 64, constraints: [] } });
      assert.deepEqual(json.residency, { relaunchEscalationTimeoutSeconds: 3600, taskLostBehavior: 'WAIT_FOREVER' });
      assert.equal('persistentVolumes' in json, false);
      // What GET shows can be PUT back as it is.
      const { ports: _legacy, ...written } = JSON.parse(JSON.stringify(json)) as Record<string, unknown>;
      const again = buildApp(written, { now: NOW, apps: new Map([['/db', result.app]]) });
      assert.ok(again.ok, JSON.stringify(again.ok ? '' : again.details));
      assert.deepEqual(again.app.persistentVolumes, result.app.persistentVolumes);
      assert.equal(again.app.versionInfo.lastConfigChangeAt, result.app.versionInfo.lastConfigChangeAt);
    });
  }
  await t.test('upgradeStrategy not given: {0.5, 0}', () => {
    const result = build({ container: { type: 'MESOS', volumes: [volume()] } });
    assert.ok(result.ok);
    assert.deepEqual(result.app.upgradeStrategy, { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 });
  });
});

test('persistent volumes: what Marathon refuses is a 422 at the field that says why', async (t) => {
  const mesos = (v: unknown) => ({ container: { type: 'MESOS', volumes: [v] } });
  const cases: RefusalCase[] = [
    { name: 'an absolute containerPath', fields: mesos(volume({ containerPath: '/data' })), path: '/container/volumes/0/containerPath', error: /relative path in the sandbox/ },
    { name: 'a containerPath with /', fields: mesos(volume({ containerPath: 'a/b' })), path: '/container/volumes/0/containerPath', error: /without \// },
    { name: 'a containerPath ..', fields: mesos(volume({ containerPath: '..' })), path: '/container/volumes/0/containerPath', error: /relative path/ },
    { name: 'mode RO', fields: mesos(volume({ mode: 'RO' })), path: '/container/volumes/0/mode', error: /must be RW/ },
    { name: 'size 0', fields: mesos(volume({ persistent: { size: 0 } })), path: '/container/volumes/0/persistent/size', error: /greater than 0/ },
    { name: 'no size', fields: mesos(volume({ persistent: { type: 'root' } })), path: '/container/volumes/0/persistent/size', error: /MiB/ },
    { name: 'a path disk', fields: mesos(volume({ persistent: { size: 1, type: 'path' } })), path: '/container/volumes/0/persistent/type', error: /"path" disks is not supported yet/ },
    { name: 'maxSize', fields: mesos(volume({ persistent: { size: 1, maxSize: 2 } })), path: '/container/volumes/0/persistent/maxSize', error: /not supported yet/ },
    { name: 'a hostPath', fields: mesos(volume({ hostPath: '/srv' })), path: '/container/volumes/0/hostPath', error: /no hostPath/ },
    { name: 'two at one path', fields: { container: { type: 'MESOS', volumes: [volume(), volume()] } }, path: '/container/volumes/1/containerPath', error: /another persistent volume/ },
    { name: 'an unreachableStrategy other than disabled', fields: { ...mesos(volume()), unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 0 } }, path: '/unreachableStrategy', error: /must be "disabled"/ },
    { name: 'maximumOverCapacity above 0', fields: { ...mesos(volume()), upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.1 } }, path: '/upgradeStrategy/maximumOverCapacity', error: /got 0.1, expected 0/ },
    { name: 'minimumHealthCapacity above 0.5 (the default 1)', fields: { ...mesos(volume()), upgradeStrategy: { maximumOverCapacity: 0 } }, path: '/upgradeStrategy/minimumHealthCapacity', error: /got 1, expected 0.5 or less/ },
  ];
  await assertRefusals(t, cases, build);
});

test('persistent volumes: cannot be changed on an existing app', () => {
  const first = build({ container: { type: 'MESOS', volumes: [volume()] } });
  assert.ok(first.ok);
  const apps = new Map([['/db', first.app]]);
  for (const volumes of [[volume({ persistent: { size: 128 } })], [], [volume(), volume({ containerPath: 'logs' })]]) {
    const next = buildApp({ id: '/db', cmd: 'sleep 100', container: { type: 'MESOS', volumes } }, { now: NOW, apps });
    assert.equal(next.ok, false, JSON.stringify(volumes));
    if (!next.ok) assert.match(next.details[0]?.errors[0] ?? '', /cannot be changed/);
  }
});

test('persistent volumes: a partial update (PUT, PATCH) keeps them; a scale of a resident app is no new configuration', async (t) => {
  const first = build({ container: { type: 'MESOS', volumes: [volume()] } });
  assert.ok(first.ok);
  const s = { ...emptyState(), apps: new Map([['/db', first.app]]) };
  const context = { now: '2030-01-01T00:00:00.000Z', deploymentId: 'd', force: false, clientIp: '', uri: '' };
  for (const mode of ['partial', 'patch'] as const) {
    await t.test(mode, () => {
      const change = writeApp(s, { instances: 0 }, mode, context, '/db');
      assert.ok(change.ok, JSON.stringify(change.ok ? '' : change.error));
      assert.deepEqual(change.app?.persistentVolumes, first.app.persistentVolumes);
      assert.equal(change.app?.versionInfo.lastConfigChangeAt, first.app.versionInfo.lastConfigChangeAt);
      assert.equal(change.app?.instances, 0);
    });
  }
});
