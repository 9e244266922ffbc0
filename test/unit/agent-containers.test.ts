import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { containerProcess, manifestDigestOf, parseImageConfig, resolveContainerUser, type ImageConfig } from '../../src/agent/containers/core/image-config.ts';
import { parseImageRef, plainHttpAllowed, pullSource, storeNameOf } from '../../src/agent/containers/core/image-ref.ts';
import { hostVolumeMounts } from '../../src/agent/containers/core/host-volumes.ts';
import { parseRegistryMirrors, registriesConf } from '../../src/agent/containers/core/registry-mirrors.ts';
import { capabilitiesOf, CONTAINER_SANDBOX, containerIdOf, ociRuntimeSpec, runtimeArgv, taskIdOfContainer } from '../../src/agent/containers/core/oci-spec.ts';

const DIGEST = `sha256:${'0f'.repeat(32)}`;

test('image references: parsed as Docker reads them, pulled from where skopeo expects', async (t) => {
  const cases: Array<[image: string, source: string | RegExp]> = [
    ['busybox', 'docker://docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker://docker.io/library/busybox:1.36'],
    ['team/web', 'docker://docker.io/team/web:latest'],
    ['localhost/web:v1', 'docker://localhost/web:v1'],
    ['127.0.0.1:5000/corral/busybox:v1', 'docker://127.0.0.1:5000/corral/busybox:v1'],
    ['registry.example.com/a/b/c:1.0-rc_1', 'docker://registry.example.com/a/b/c:1.0-rc_1'],
    [`busybox@${DIGEST}`, `docker://docker.io/library/busybox@${DIGEST}`],
    [`127.0.0.1:5000/web:v1@${DIGEST}`, `docker://127.0.0.1:5000/web@${DIGEST}`],
    ['Busybox', /not an image reference: the name/],
    ['busybox@sha256:abc', /a digest is sha256/],
    ['busybox:-bad', /is not a tag/],
    ['', /not an image reference/],
    ['reg.example.com:port/web', /not a registry/],
  ];
  for (const [image, expected] of cases) {
    await t.test(image || '(empty)', () => {
      const parsed = parseImageRef(image);
      if (typeof expected === 'string') {
        assert.ok(parsed.ok, parsed.ok ? '' : parsed.reason);
        assert.equal(pullSource(parsed.ref), expected);
      } else {
        assert.equal(parsed.ok, false);
        if (!parsed.ok) assert.match(parsed.reason, expected);
      }
    });
  }
});

test('plain HTTP only for loopback registries and those listed', async (t) => {
  const cases: Array<[registry: string, insecure: string[], allowed: boolean]> = [
    ['127.0.0.1:5000', [], true],
    ['127.3.4.5', [], true],
    ['localhost:5000', [], true],
    ['[::1]:5000', [], true],
    ['docker.io', [], false],
    ['10.0.0.5:5000', [], false],
    ['10.0.0.5:5000', ['10.0.0.5:5000'], true],
    ['10.0.0.5:5000', ['10.0.0.5'], true],
    ['10.0.0.5:5000', ['10.0.0.6'], false],
    ['127.0.0.1.example.com', [], false],
  ];
  for (const [registry, insecure, allowed] of cases) {
    await t.test(`${registry} ${JSON.stringify(insecure)}`, () => assert.equal(plainHttpAllowed(registry, insecure), allowed));
  }
});

test('store names: distinct references never share one, and hold only safe characters', () => {
  const images = ['busybox', 'busybox:latest', 'a/b:c', 'a_2fb:c', `a@${DIGEST}`, '127.0.0.1:5000/x:1'];
  const names = images.map(storeNameOf);
  assert.equal(new Set(names).size, images.length);
  for (const name of names) assert.match(name, /^[A-Za-z0-9._-]+$/);
});

const image = (fields: Partial<ImageConfig> = {}): ImageConfig => ({ entrypoint: [], cmd: [], env: [], workingDir: '', user: '', ...fields });

test('the container process: Docker and Mesos rules for cmd, args, entrypoint, env, working dir', async (t) => {
  const cases: Array<{ name: string; image: ImageConfig; task: { cmd?: string; args?: string[] }; env?: Record<string, string>; args?: string[]; envOut?: string[]; cwd?: string; error?: RegExp }> = [
    { name: 'cmd runs through /bin/sh -c, ignoring entrypoint and Cmd', image: image({ entrypoint: ['/entry'], cmd: ['x'] }), task: { cmd: 'echo $HOME' }, args: ['/bin/sh', '-c', 'echo $HOME'] },
    { name: 'args replace Cmd after the Entrypoint', image: image({ entrypoint: ['/bin/busybox'], cmd: ['sleep', '1'] }), task: { args: ['httpd', '-f'] }, args: ['/bin/busybox', 'httpd', '-f'] },
    { name: 'args without an Entrypoint are the command', image: image({ cmd: ['sleep', '1'] }), task: { args: ['/bin/echo', 'hi'] }, args: ['/bin/echo', 'hi'] },
    { name: 'neither: Entrypoint + Cmd', image: image({ entrypoint: ['/bin/busybox'], cmd: ['sleep', '1'] }), task: {}, args: ['/bin/busybox', 'sleep', '1'] },
    { name: 'neither, Cmd only', image: image({ cmd: ['/serve'] }), task: {}, args: ['/serve'] },
    { name: 'empty args count as none', image: image({ cmd: ['/serve'] }), task: { args: [] }, args: ['/serve'] },
    { name: 'nothing to run', image: image(), task: {}, error: /no Entrypoint or Cmd/ },
    { name: 'image env under the task env, order kept', image: image({ cmd: ['/x'], env: ['PATH=/bin', 'A=image', 'B=image', 'bad'] }), task: {}, env: { A: 'task', C: 'c=d' }, envOut: ['PATH=/bin', 'A=task', 'B=image', 'C=c=d'] },
    { name: 'the image working dir', image: image({ cmd: ['/x'], workingDir: '/srv' }), task: {}, cwd: '/srv' },
    { name: 'no working dir: the sandbox', image: image({ cmd: ['/x'] }), task: {}, cwd: CONTAINER_SANDBOX },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = containerProcess(c.image, c.task, c.env ?? {}, CONTAINER_SANDBOX);
      if (c.error !== undefined) {
        assert.equal(result.ok, false);
        if (!result.ok) assert.match(result.reason, c.error);
        return;
      }
      assert.ok(result.ok);
      if (c.args !== undefined) assert.deepEqual(result.process.args, c.args);
      if (c.envOut !== undefined) assert.deepEqual(result.process.env, c.envOut);
      if (c.cwd !== undefined) assert.equal(result.process.cwd, c.cwd);
    });
  }
});

test('the container user: Docker User against the image passwd and group', async (t) => {
  const passwd = 'root:x:0:0::/root:/bin/sh\nweb:x:1000:1001::/srv:/bin/sh\n';
  const group = 'root:x:0:\nweb:x:1001:\nstaff:x:50:\n';
  const cases: Array<[user: string, passwd: string | undefined, expected: { uid: number; gid: number } | RegExp]> = [
    ['', passwd, { uid: 0, gid: 0 }],
    ['web', passwd, { uid: 1000, gid: 1001 }],
    ['1000', passwd, { uid: 1000, gid: 1001 }],
    ['4242', passwd, { uid: 4242, gid: 0 }],
    ['4242:7', undefined, { uid: 4242, gid: 7 }],
    ['web:staff', passwd, { uid: 1000, gid: 50 }],
    ['nobody', passwd, /"nobody" is not in its \/etc\/passwd/],
    ['web:wheel', passwd, /"wheel" is not in its \/etc\/group/],
  ];
  for (const [user, pw, expected] of cases) {
    await t.test(user || '(none)', () => {
      const result = resolveContainerUser(user, pw, group);
      if (expected instanceof RegExp) {
        assert.equal(result.ok, false);
        if (!result.ok) assert.match(result.reason, expected);
      } else {
        assert.deepEqual(result.ok ? result.user : result.reason, expected);
      }
    });
  }
});

test('image config and layout index: the fields a task uses, the newest manifest of a name', () => {
  assert.deepEqual(parseImageConfig({ config: { Entrypoint: ['/e'], Cmd: null, Env: ['A=1', 3], WorkingDir: '/w', User: 'web' } }), { entrypoint: ['/e'], cmd: [], env: ['A=1'], workingDir: '/w', user: 'web' });
  assert.deepEqual(parseImageConfig({}), image());
  const index = { manifests: [
    { digest: 'sha256:old', annotations: { 'org.opencontainers.image.ref.name': 'web' } },
    { digest: 'sha256:other', annotations: { 'org.opencontainers.image.ref.name': 'db' } },
    { digest: 'sha256:new', annotations: { 'org.opencontainers.image.ref.name': 'web' } },
  ] };
  assert.equal(manifestDigestOf(index, 'web'), 'sha256:new');
  assert.equal(manifestDigestOf(index, 'nope'), undefined);
  assert.equal(manifestDigestOf({}, 'web'), undefined);
});

test('the OCI runtime spec: own pid/mount/uts/ipc namespaces, the host network, the sandbox mounted, no cgroup of its own', () => {
  const spec = ociRuntimeSpec({ process: { args: ['/bin/sh'], env: ['A=1'], cwd: '/w' }, user: { uid: 1000, gid: 1001 }, rootfs: 'rootfs', sandbox: '/srv/agent/sandboxes/t1', hostname: 't1', agentCapabilities: capabilitiesOf('1ffffffffff') }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.deepEqual(spec.linux.namespaces.map((n: { type: string }) => n.type).sort(), ['ipc', 'mount', 'pid', 'uts']);
  assert.equal(spec.linux.cgroupsPath, undefined);
  assert.equal(spec.linux.resources, undefined);
  assert.deepEqual(spec.process.user, { uid: 1000, gid: 1001 });
  assert.deepEqual([spec.process.args, spec.process.env, spec.process.cwd, spec.process.terminal, spec.process.noNewPrivileges], [['/bin/sh'], ['A=1'], '/w', false, true]);
  assert.ok(!spec.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  const sandbox = spec.mounts.find((m: { destination: string }) => m.destination === CONTAINER_SANDBOX);
  assert.deepEqual(sandbox, { destination: '/mnt/mesos/sandbox', type: 'bind', source: '/srv/agent/sandboxes/t1', options: ['rbind', 'rw'] });
  assert.deepEqual(spec.root, { path: 'rootfs', readonly: false });
});

test('the OCI runtime spec of a privileged container: every capability, /sys writable, nothing masked, privileges may be gained', () => {
  const input = { process: { args: ['/x'], env: [], cwd: '/' }, user: { uid: 0, gid: 0 }, rootfs: 'rootfs', sandbox: '/s', hostname: 'h', agentCapabilities: capabilitiesOf('1ffffffffff') };
  const plain = ociRuntimeSpec(input) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const privileged = ociRuntimeSpec({ ...input, privileged: true }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(privileged.process.capabilities.bounding.length, 41);
  assert.ok(privileged.process.capabilities.effective.includes('CAP_SYS_ADMIN'));
  assert.equal(privileged.process.noNewPrivileges, false);
  assert.equal(privileged.linux.maskedPaths, undefined);
  assert.equal(privileged.linux.readonlyPaths, undefined);
  assert.ok(privileged.mounts.find((m: { destination: string }) => m.destination === '/sys').options.includes('rw'));
  assert.ok(plain.mounts.find((m: { destination: string }) => m.destination === '/sys').options.includes('ro'));
  assert.equal(plain.process.capabilities.bounding.length, 14);
  assert.ok(plain.linux.maskedPaths.includes('/proc/kcore'));
});

test('capabilities: a /proc mask decoded by bit; never more than the agent holds, privileged or not', () => {
  assert.deepEqual(capabilitiesOf('0'), []);
  assert.deepEqual(capabilitiesOf('3'), ['CAP_CHOWN', 'CAP_DAC_OVERRIDE']);
  assert.equal(capabilitiesOf('1ffffffffff').length, 41);
  assert.equal(capabilitiesOf('1ffffffffff').at(21), 'CAP_SYS_ADMIN');
  assert.deepEqual(capabilitiesOf('zz'), []);
  // This machine's agent: CAP_SYS_RESOURCE (bit 24) dropped by whatever runs it.
  const held = capabilitiesOf('1fffeffffff');
  const input = { process: { args: ['/x'], env: [], cwd: '/' }, user: { uid: 0, gid: 0 }, rootfs: 'rootfs', sandbox: '/s', hostname: 'h', agentCapabilities: held };
  const privileged = ociRuntimeSpec({ ...input, privileged: true }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(privileged.process.capabilities.bounding.length, 40);
  assert.ok(!privileged.process.capabilities.bounding.includes('CAP_SYS_RESOURCE'));
  const plain = ociRuntimeSpec({ ...input, agentCapabilities: ['CAP_CHOWN', 'CAP_SYS_ADMIN'] }) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.deepEqual(plain.process.capabilities.bounding, ['CAP_CHOWN']);
});

test('container ids: crun-safe, one name in a directory (bundles, CNI state, netns), and the task id comes back from them', async (t) => {
  for (const taskId of ['web.1b2c', 'team_a_web.uuid-1', 'odd/id with space', 'a+b', '.', '..', '../..']) {
    await t.test(taskId, () => {
      const id = containerIdOf(taskId);
      assert.match(id, /^[A-Za-z0-9_.+-]+$/);
      assert.equal(dirname(join('/w/containers', id)), '/w/containers');
      assert.equal(taskIdOfContainer(id), taskId);
    });
  }
  assert.equal(taskIdOfContainer('../x'), undefined);
});

test('crun argv: its own state root, no cgroup manager, and a private mount namespace on hybrid hosts', () => {
  assert.deepEqual(runtimeArgv({ crun: '/usr/bin/crun', stateRoot: '/w/crun' }, ['kill', 't', 'TERM']), ['/usr/bin/crun', '--root', '/w/crun', '--cgroup-manager=disabled', 'kill', 't', 'TERM']);
  const hidden = runtimeArgv({ crun: '/usr/bin/crun', stateRoot: '/w/crun', hideUnified: { unshare: '/usr/bin/unshare', mount: '/sys/fs/cgroup/unified' } }, ['list']);
  assert.deepEqual(hidden.slice(0, 4), ['/usr/bin/unshare', '--mount', '--propagation', 'private']);
  assert.match(hidden[6] ?? '', /umount -l '\/sys\/fs\/cgroup\/unified' && exec "\$@"/);
  assert.deepEqual(hidden.slice(8), ['/usr/bin/crun', '--root', '/w/crun', '--cgroup-manager=disabled', 'list']);
});

test('--registry-mirror: Docker forms accepted, plain HTTP only where allowed', async (t) => {
  const cases: Array<[values: string[], insecure: string[], expected: string[] | RegExp]> = [
    [[], [], []],
    [['https://mirror.example.com'], [], ['mirror.example.com']],
    [['https://mirror.example.com:5000/', 'mirror2.example.com'], [], ['mirror.example.com:5000', 'mirror2.example.com']],
    [['http://127.0.0.1:5000'], [], ['127.0.0.1:5000']],
    [['http://10.0.0.5:5000'], ['10.0.0.5'], ['10.0.0.5:5000']],
    [['http://10.0.0.5:5000'], [], /plain HTTP only for loopback/],
    [['https://mirror.example.com/path'], [], /expected https:\/\/host/],
    [['ftp://x'], [], /expected https:\/\/host/],
  ];
  for (const [values, insecure, expected] of cases) {
    await t.test(JSON.stringify(values), () => {
      const result = parseRegistryMirrors(values, insecure);
      if (expected instanceof RegExp) {
        assert.equal(result.ok, false);
        if (!result.ok) assert.match(result.reason, expected);
      } else {
        assert.deepEqual(result.ok ? result.hosts : result.reason, expected);
      }
    });
  }
});

test('registries.conf: Docker Hub mirrors in order, insecure only where plain HTTP is allowed, nothing without mirrors', () => {
  assert.equal(registriesConf([], []), '');
  assert.equal(registriesConf(['127.0.0.1:5000', 'mirror.example.com'], []), [
    '[[registry]]', 'prefix = "docker.io"', 'location = "docker.io"', '',
    '[[registry.mirror]]', 'location = "127.0.0.1:5000"', 'insecure = true', '',
    '[[registry.mirror]]', 'location = "mirror.example.com"', 'insecure = false', '',
  ].join('\n'));
});

test('host volumes: only existing paths under --host-volume-paths, links resolved', async (t) => {
  const volume = (hostPath: string, realHostPath: string | undefined, mode: 'RO' | 'RW' = 'RO') => ({ containerPath: '/data', hostPath, realHostPath, mode });
  const cases: Array<{ name: string; volumes: ReturnType<typeof volume>[]; allowed: string[]; expected: Array<{ source: string; destination: string; readonly: boolean }> | RegExp }> = [
    { name: 'none asked', volumes: [], allowed: [], expected: [] },
    { name: 'under an allowed dir', volumes: [volume('/srv/vols/a', '/srv/vols/a')], allowed: ['/srv/vols'], expected: [{ source: '/srv/vols/a', destination: '/data', readonly: true }] },
    { name: 'the allowed dir itself, RW', volumes: [volume('/srv/vols', '/srv/vols', 'RW')], allowed: ['/srv/vols'], expected: [{ source: '/srv/vols', destination: '/data', readonly: false }] },
    { name: 'no allow-list', volumes: [volume('/srv/vols/a', '/srv/vols/a')], allowed: [], expected: /allows no host volumes/ },
    { name: 'missing on the agent', volumes: [volume('/srv/vols/gone', undefined)], allowed: ['/srv/vols'], expected: /does not exist/ },
    { name: 'a sibling with the same prefix', volumes: [volume('/srv/vols-other', '/srv/vols-other')], allowed: ['/srv/vols'], expected: /not under this agent's --host-volume-paths/ },
    { name: 'a link out of the allowed dir', volumes: [volume('/srv/vols/etc', '/etc')], allowed: ['/srv/vols'], expected: /\/srv\/vols\/etc \(\/etc\) is not under/ },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = hostVolumeMounts(c.volumes, c.allowed);
      if (c.expected instanceof RegExp) {
        assert.equal(result.ok, false);
        if (!result.ok) assert.match(result.reason, c.expected);
      } else {
        assert.deepEqual(result.ok ? result.mounts : result.reason, c.expected);
      }
    });
  }
  const spec = ociRuntimeSpec({ process: { args: ['/x'], env: [], cwd: '/' }, user: { uid: 0, gid: 0 }, rootfs: 'rootfs', sandbox: '/s', hostname: 'h', agentCapabilities: [], volumes: [{ source: '/srv/vols/a', destination: '/data', readonly: true }] }) as { mounts: Array<{ destination: string; options?: string[] }> };
  assert.deepEqual(spec.mounts.at(-1), { destination: '/data', type: 'bind', source: '/srv/vols/a', options: ['rbind', 'ro', 'nosuid', 'nodev'] });
});
