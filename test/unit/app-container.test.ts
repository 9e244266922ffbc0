import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerLaunch } from '../../src/scheduler/core/app-container.ts';
import { buildApp } from '../../src/scheduler/core/app-definition.ts';
import { appDefinitionJson } from '../../src/scheduler/core/marathon-json.ts';
import { NOW } from '../support/scheduler-fixtures.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const build = (fields: Record<string, unknown>) => buildApp({ id: '/c', ...fields }, { now: NOW, apps: new Map() });

test('app container: images on the host network are accepted and stored as Marathon shows them', async (t) => {
  const cases: Array<{ name: string; fields: Record<string, unknown>; image: string; type: string; forcePull: boolean }> = [
    { name: 'DOCKER with an image and no command (the image has one)', fields: { container: { type: 'DOCKER', docker: { image: 'busybox:1.36' } } }, image: 'busybox:1.36', type: 'DOCKER', forcePull: false },
    { name: 'MESOS with a docker image (unified containerizer)', fields: { cmd: 'echo hi', container: { type: 'MESOS', docker: { image: 'library/busybox' } } }, image: 'library/busybox', type: 'MESOS', forcePull: false },
    { name: 'no type: DOCKER (Marathon default)', fields: { args: ['x'], container: { docker: { image: 'busybox' } } }, image: 'busybox', type: 'DOCKER', forcePull: false },
    { name: 'a registry with a port and forcePullImage', fields: { container: { type: 'DOCKER', docker: { image: '127.0.0.1:5000/team/web:v2', forcePullImage: true } } }, image: '127.0.0.1:5000/team/web:v2', type: 'DOCKER', forcePull: true },
    { name: 'a digest', fields: { container: { type: 'DOCKER', docker: { image: `busybox@${DIGEST}` } } }, image: `busybox@${DIGEST}`, type: 'DOCKER', forcePull: false },
    {
      name: 'Marathon export defaults: HOST network, privileged false, empty lists',
      fields: { container: { type: 'DOCKER', volumes: [], portMappings: [], docker: { image: 'busybox', network: 'HOST', privileged: false, parameters: [], forcePullImage: false } } },
      image: 'busybox', type: 'DOCKER', forcePull: false,
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = build(c.fields);
      assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.details));
      assert.deepEqual(result.app.container, { type: c.type, docker: { image: c.image, forcePullImage: c.forcePull, privileged: false, parameters: [] }, volumes: [] });
      assert.deepEqual(appDefinitionJson(result.app).container, result.app.container);
    });
  }
});

test('app container: host-path volumes are kept, mode RW by default', () => {
  const result = build({ container: { type: 'DOCKER', docker: { image: 'busybox' }, volumes: [{ containerPath: '/data', hostPath: '/srv/data', mode: 'RO' }, { containerPath: '/scratch', hostPath: '/srv/scratch' }] } });
  assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.details));
  assert.deepEqual(result.app.container?.volumes, [{ containerPath: '/data', hostPath: '/srv/data', mode: 'RO' }, { containerPath: '/scratch', hostPath: '/srv/scratch', mode: 'RW' }]);
});

test('app container: docker parameters that map become the launch hostname and env (last hostname wins, env over env)', () => {
  const parameters = [{ key: 'env', value: 'A=1=2' }, { key: 'hostname', value: 'first' }, { key: 'label', value: 'team=web' }, { key: 'env', value: 'B=' }, { key: 'hostname', value: 'web.internal' }, { key: 'env', value: 'A=3' }];
  const result = build({ container: { type: 'DOCKER', docker: { image: 'busybox', parameters } } });
  assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.details));
  assert.deepEqual(result.app.container?.docker.parameters, parameters);
  assert.deepEqual(containerLaunch(result.app.container as NonNullable<typeof result.app.container>), { image: 'busybox', forcePull: false, volumes: [], hostname: 'web.internal', env: { A: '3', B: '' } });
  const plain = build({ container: { type: 'DOCKER', docker: { image: 'busybox' } } });
  assert.ok(plain.ok);
  assert.deepEqual(containerLaunch(plain.app.container as NonNullable<typeof plain.app.container>), { image: 'busybox', forcePull: false, volumes: [] });
});

test('app container: privileged is kept and passed to the agent (placement sends it only to agents that allow it)', () => {
  const result = build({ container: { type: 'DOCKER', docker: { image: 'busybox', privileged: true } } });
  assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.details));
  assert.equal(result.app.container?.docker.privileged, true);
  assert.deepEqual(containerLaunch(result.app.container as NonNullable<typeof result.app.container>), { image: 'busybox', forcePull: false, volumes: [], privileged: true });
});

test('app container: the no-op forms mean no container', async (t) => {
  for (const container of [null, { type: 'MESOS' }, { type: 'MESOS', volumes: [], portMappings: [] }]) {
    await t.test(JSON.stringify(container), () => {
      const result = build({ cmd: 'sleep 1', container });
      assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.details));
      assert.equal(result.app.container, undefined);
      assert.equal(appDefinitionJson(result.app).container, null);
    });
  }
});

test('app container: what this slice does not run is refused at its path, by name', async (t) => {
  const cases: Array<{ name: string; container: unknown; cmd?: string; path: string; error: RegExp }> = [
    { name: 'an external volume', container: { type: 'DOCKER', docker: { image: 'busybox' }, volumes: [{ hostPath: '/srv', containerPath: '/d' }, { containerPath: '/e', external: { name: 'x' }, mode: 'RW' }] }, path: '/container/volumes/1/external', error: /external volumes is not supported yet/ },
    { name: 'a volume in the sandbox (relative containerPath)', container: { type: 'DOCKER', docker: { image: 'busybox' }, volumes: [{ containerPath: 'data', hostPath: '/srv', mode: 'RO' }] }, path: '/container/volumes/0/containerPath', error: /paths in the sandbox is not supported yet/ },
    { name: 'a relative hostPath', container: { type: 'DOCKER', docker: { image: 'busybox' }, volumes: [{ containerPath: '/data', hostPath: 'srv', mode: 'RO' }] }, path: '/container/volumes/0/hostPath', error: /absolute path on the agent/ },
    { name: 'a hostPath with ..', container: { type: 'DOCKER', docker: { image: 'busybox' }, volumes: [{ containerPath: '/data', hostPath: '/srv/../etc', mode: 'RO' }] }, path: '/container/volumes/0/hostPath', error: /without \.\./ },
    { name: 'a bad mode', container: { type: 'DOCKER', docker: { image: 'busybox' }, volumes: [{ containerPath: '/data', hostPath: '/srv', mode: 'RX' }] }, path: '/container/volumes/0/mode', error: /RO or RW/ },
    { name: 'a Mesos container with host-path volumes and no image', container: { type: 'MESOS', volumes: [{ containerPath: '/data', hostPath: '/srv' }] }, cmd: 'sleep 1', path: '/container/volumes', error: /host-path volumes without an image is not supported yet/ },
    { name: 'privileged not a boolean', container: { type: 'DOCKER', docker: { image: 'busybox', privileged: 'yes' } }, path: '/container/docker/privileged', error: /boolean/ },
    { name: 'a docker parameter that does not map', container: { type: 'DOCKER', docker: { image: 'busybox', parameters: [{ key: 'env', value: 'A=1' }, { key: 'cap-add', value: 'SYS_ADMIN' }] } }, path: '/container/docker/parameters/1/key', error: /docker parameter cap-add is not supported yet \(env, hostname and label are\)/ },
    { name: 'an env parameter without =', container: { type: 'DOCKER', docker: { image: 'busybox', parameters: [{ key: 'env', value: 'A' }] } }, path: '/container/docker/parameters/0/value', error: /NAME=value/ },
    { name: 'a bad hostname parameter', container: { type: 'DOCKER', docker: { image: 'busybox', parameters: [{ key: 'hostname', value: 'a_b' }] } }, path: '/container/docker/parameters/0/value', error: /host name/ },
    { name: 'a label parameter without =', container: { type: 'DOCKER', docker: { image: 'busybox', parameters: [{ key: 'label', value: 'x' }] } }, path: '/container/docker/parameters/0/value', error: /key=value/ },
    { name: 'a parameter that is not {key, value}', container: { type: 'DOCKER', docker: { image: 'busybox', parameters: [{ key: 'env' }] } }, path: '/container/docker/parameters/0', error: /\{key, value\}/ },
    { name: 'an unknown type', container: { type: 'RKT', docker: { image: 'busybox' } }, path: '/container/type', error: /DOCKER or MESOS/ },
    { name: 'DOCKER without docker', container: { type: 'DOCKER' }, cmd: 'sleep 1', path: '/container/docker', error: /needs docker.image/ },
    { name: 'no container type and nothing', container: {}, cmd: 'sleep 1', path: '/container/docker', error: /needs docker.image/ },
    { name: 'an empty image', container: { type: 'DOCKER', docker: { image: '' } }, cmd: 'sleep 1', path: '/container/docker/image', error: /must be an image name/ },
    { name: 'an image with upper case', container: { type: 'DOCKER', docker: { image: 'BusyBox' } }, cmd: 'sleep 1', path: '/container/docker/image', error: /not an image reference/ },
    { name: 'a short digest', container: { type: 'DOCKER', docker: { image: 'busybox@sha256:abc' } }, cmd: 'sleep 1', path: '/container/docker/image', error: /not an image reference/ },
    { name: 'forcePullImage not a boolean', container: { type: 'DOCKER', docker: { image: 'busybox', forcePullImage: 'yes' } }, path: '/container/docker/forcePullImage', error: /boolean/ },
    { name: 'an unknown docker field', container: { type: 'DOCKER', docker: { image: 'busybox', pullPolicy: 'always' } }, path: '/container/docker/pullPolicy', error: /unknown docker field/ },
    { name: "Mesos' inline credential (a secret in the app)", container: { type: 'DOCKER', docker: { image: 'busybox', credential: { principal: 'u', secret: 'p' } } }, path: '/container/docker/credential', error: /no secret store: give the agents --registry-auth-file/ },
    { name: "Marathon's pullConfig (a secret store's name)", container: { type: 'DOCKER', docker: { image: 'busybox', pullConfig: { secret: 'pull' } } }, path: '/container/docker/pullConfig', error: /no secret store: give the agents --registry-auth-file/ },
    { name: 'an unknown container field', container: { type: 'DOCKER', docker: { image: 'busybox' }, appc: {} }, path: '/container/appc', error: /unknown container field/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = build({ ...(c.cmd !== undefined ? { cmd: c.cmd } : {}), container: c.container });
      assert.equal(result.ok, false, 'accepted');
      if (result.ok) return;
      const detail = result.details.find((d) => d.path === c.path);
      assert.ok(detail, `no detail for ${c.path}: ${JSON.stringify(result.details)}`);
      assert.match(detail.errors.join(' '), c.error);
    });
  }
});

test('app container: a command app without an image still needs cmd or args', () => {
  const result = build({ container: { type: 'MESOS' } });
  assert.equal(result.ok, false);
  if (!result.ok) assert.match(result.details[0]?.errors[0] ?? '', /must either contain one of 'cmd' or 'args'/);
});

test('app container: a new image is a new configuration (instances replaced)', () => {
  const first = build({ container: { type: 'DOCKER', docker: { image: 'web:1' } } });
  assert.ok(first.ok);
  const second = buildApp({ id: '/c', container: { type: 'DOCKER', docker: { image: 'web:2' } } }, { now: '2030-01-01T00:00:00.000Z', apps: new Map([['/c', first.app]]) });
  assert.ok(second.ok);
  assert.equal(second.app.versionInfo.lastConfigChangeAt, '2030-01-01T00:00:00.000Z');
});
