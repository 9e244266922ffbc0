import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { storeNameOf } from '../../src/agent/containers/core/image-ref.ts';
import { ImageStore } from '../../src/agent/containers/image-store.ts';
import { LoopbackRegistry, writeBusyboxImage } from '../support/oci-image.ts';
import { tempDir } from '../support/parts.ts';

/** The agent's image store against a real registry, with skopeo behind a wrapper that counts its pulls. */
test('image store: concurrent pulls of one image are one pull, forcePull pulls again, failures say why', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('corral-image-store-');
  const registry = await LoopbackRegistry.start(join(dir, 'registry'));
  t.after(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  writeBusyboxImage(join(dir, 'image'), 'v1', { entrypoint: ['/bin/busybox'], cmd: ['true'], env: ['PATH=/bin', 'A=1'], workingDir: '/tmp', user: 'web' });
  await registry.push(join(dir, 'image', 'layout'), 'v1', 'corral/busybox:v1');
  const calls = join(dir, 'skopeo-calls');
  writeFileSync(calls, '');
  const skopeo = join(dir, 'skopeo');
  writeFileSync(skopeo, `#!/bin/sh\necho "$*" >> '${calls}'\nexec skopeo "$@"\n`);
  chmodSync(skopeo, 0o755);
  const store = new ImageStore({ dir: join(dir, 'store'), tools: { skopeo, umoci: 'umoci' }, insecureRegistries: [], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  const pulls = (): number => readFileSync(calls, 'utf8').split('\n').filter((line) => line.includes(' copy ')).length;
  const image = `${registry.host}/corral/busybox:v1`;

  await t.test('three launches at once: one pull', async () => {
    await Promise.all([store.pull(image, false), store.pull(image, false), store.pull(image, false)]);
    assert.equal(pulls(), 1);
    assert.match(String(await store.digest(image)), /^sha256:[a-f0-9]{64}$/);
    assert.deepEqual(await store.config(image), { entrypoint: ['/bin/busybox'], cmd: ['true'], env: ['PATH=/bin', 'A=1'], workingDir: '/tmp', user: 'web' });
  });

  await t.test('present: not pulled again; forcePull: pulled again', async () => {
    await store.pull(image, false);
    assert.equal(pulls(), 1);
    await store.pull(image, true);
    assert.equal(pulls(), 2);
  });

  await t.test('unpacked into a bundle: the rootfs of the image', async () => {
    const bundle = join(dir, 'bundle');
    await store.unpack(image, bundle);
    assert.match(readFileSync(join(bundle, 'rootfs', 'etc', 'passwd'), 'utf8'), /^web:x:1000:1000/m);
  });

  await t.test('with --registry-mirror, a Docker Hub image comes from the mirror', async () => {
    const mirrored = new ImageStore({ dir: join(dir, 'mirrored'), tools: { skopeo, umoci: 'umoci' }, insecureRegistries: [], registryMirrors: [registry.host], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    // docker.io/corral/busybox:v1 exists only on the loopback registry: found there, or not at all.
    await mirrored.pull('corral/busybox:v1', false);
    assert.equal(await mirrored.digest('corral/busybox:v1'), await store.digest(image));
  });

  await t.test('a missing tag, a bad reference: ERR_AGENT_IMAGE with the reason', async () => {
    await assert.rejects(store.pull(`${registry.host}/corral/busybox:nope`, false), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_AGENT_IMAGE');
      assert.match(err.message, new RegExp(`^Failed to pull image ${registry.host}/corral/busybox:nope: .*manifest unknown`));
      return true;
    });
    await assert.rejects(store.pull('Not/An:Image:', false), /is not an image reference/);
  });
});

/**
 * Basic auth (htpasswd) and Docker's token flow (a token server of the test's) on the loopback
 * registry: credentials only by file, never on skopeo's argv or in a reason.
 */
for (const mode of ['basic', 'token'] as const) test(`image store: registry credentials from a Docker config.json-form auth file (${mode} auth)`, { timeout: 120_000 }, async (t) => {
  const dir = tempDir('corral-image-auth-');
  const user = { name: 'puller', password: 'S3cret-pass-word' };
  const registry = await LoopbackRegistry.start(join(dir, 'registry'), user, { token: mode === 'token' });
  t.after(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  writeBusyboxImage(join(dir, 'image'), 'v1', { entrypoint: ['/bin/busybox'], cmd: ['true'], env: ['PATH=/bin'] });
  await registry.push(join(dir, 'image', 'layout'), 'v1', 'corral/busybox:v1');
  const image = `${registry.host}/corral/busybox:v1`;
  const calls = join(dir, 'skopeo-calls');
  writeFileSync(calls, '');
  const skopeo = join(dir, 'skopeo');
  writeFileSync(skopeo, `#!/bin/sh\necho "$*" >> '${calls}'\nexec skopeo "$@"\n`);
  chmodSync(skopeo, 0o755);
  const authFile = (name: string, password: string): string => {
    const file = join(dir, `${name}-${password.length}.json`);
    writeFileSync(file, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${name}:${password}`).toString('base64') } } }), { mode: 0o600 });
    return file;
  };
  const storeWith = (name: string, file?: string): ImageStore => new ImageStore({ dir: join(dir, name), tools: { skopeo, umoci: 'umoci' }, insecureRegistries: [], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, ...(file !== undefined ? { authFile: file } : {}) });
  const secrets = [user.password, Buffer.from(`${user.name}:${user.password}`).toString('base64'), 'wrong-password'];
  const refused = (err: Error & { code?: string }): boolean => {
    assert.equal(err.code, 'ERR_AGENT_IMAGE');
    assert.match(err.message, new RegExp(`^Failed to pull image ${image}: .*(unauthorized|authentication required|invalid username/password)`, 'i'));
    for (const secret of secrets) assert.ok(!err.message.includes(secret), `no secret in ${err.message}`);
    return true;
  };

  await t.test('the right credentials: pulled', async () => {
    const store = storeWith('right', authFile(user.name, user.password));
    const tokens = registry.tokensIssued;
    await store.pull(image, false);
    assert.match(String(await store.digest(image)), /^sha256:[a-f0-9]{64}$/);
    if (mode === 'token') assert.ok(registry.tokensIssued > tokens, 'a bearer token was fetched for the pull');
  });

  await t.test('wrong credentials: refused, the reason says so and holds no secret', async () => {
    await assert.rejects(storeWith('wrong', authFile(user.name, 'wrong-password')).pull(image, false), refused);
  });

  await t.test('none (the host\'s auth files are not read): refused', async () => {
    await assert.rejects(storeWith('none').pull(image, false), refused);
  });

  await t.test("skopeo's argv holds the auth file's path, never a credential", () => {
    const argv = readFileSync(calls, 'utf8');
    assert.match(argv, /--src-authfile \S+\/puller-16\.json/);
    for (const secret of secrets) assert.ok(!argv.includes(secret), 'no secret on argv');
    assert.ok(!argv.includes('--src-creds'));
  });
});

/** Garbage collection against a real layout: a clock of the test's, what tasks hold given by the test. */
test('image store: unused old images are collected over the size limit; held ones and shared layers stay', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('corral-image-gc-');
  const registry = await LoopbackRegistry.start(join(dir, 'registry'));
  t.after(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const name of ['a', 'b', 'c']) {
    writeBusyboxImage(join(dir, name), 'v1', { entrypoint: ['/bin/busybox'], cmd: ['true'], env: [`IMAGE=${name}`] });
    await registry.push(join(dir, name, 'layout'), 'v1', `corral/${name}:v1`);
  }
  // The three share no layer (each tar of the rootfs differs in its times): b's layer, pushed as a fourth tag, is shared.
  await registry.push(join(dir, 'b', 'layout'), 'v1', 'corral/b2:v1');
  let now = 0;
  const held = { names: [] as string[], manifests: [] as string[] };
  const collected: string[][] = [];
  const store = new ImageStore({
    dir: join(dir, 'store'), unpackedDir: join(dir, 'unpacked'), tools: { skopeo: 'skopeo', umoci: 'umoci' }, insecureRegistries: [], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    now: () => now,
    gc: { maxBytes: 1, minAgeMs: 3_600_000, inUse: async () => held, onCollected: (plan) => collected.push(plan.removeImages), onFailed: (error) => assert.fail(error) },
  });
  const image = (name: string): string => `${registry.host}/corral/${name}:v1`;
  for (const name of ['a', 'b', 'b2', 'c']) await store.pull(image(name), false);
  const first = await store.collect();
  assert.deepEqual(first?.removeImages, [], 'all used within the minimum age: none goes, however big the store');
  const unpackedA = await store.unpacked(image('a'));
  assert.ok(readFileSync(join(unpackedA, 'etc', 'passwd'), 'utf8').includes('root'));

  now = 2 * 3_600_000;
  await store.touch(image('c'));
  held.names = [storeNameOf(image('a')), storeNameOf(image('b2'))];
  held.manifests = [String(await store.digest(image('a')))];
  const plan = await store.collect();
  assert.deepEqual(plan?.removeImages, [storeNameOf(image('b'))], 'the old unused one; a and b2 are held, c was used just now');
  assert.equal(await store.digest(image('b')), undefined);
  // b2 is b under another name: every layer b had is still there for it.
  await store.unpack(image('b2'), join(dir, 'b2-bundle'));
  assert.ok(readFileSync(join(dir, 'b2-bundle', 'rootfs', 'etc', 'passwd'), 'utf8').includes('root'), "the layer b shared with b2 stays");
  assert.notEqual(await store.digest(image('a')), undefined);
  assert.deepEqual(await store.config(image('c')), { entrypoint: ['/bin/busybox'], cmd: ['true'], env: ['IMAGE=c'], workingDir: '', user: '' }, "c's blobs are all there");
  assert.ok(readFileSync(join(unpackedA, 'etc', 'passwd'), 'utf8').includes('root'), "a held image's unpacked root filesystem stays");
  assert.equal((await store.size()).images, 3);
  assert.equal(plan?.bytesAfter, plan?.bytesBefore, 'b shared every blob with b2: nothing freed');

  // Pulled again once collected: the store has it back.
  await store.pull(image('b'), false);
  assert.notEqual(await store.digest(image('b')), undefined);
  // After the collection each pull starts (queued behind it): only the one removal was reported.
  assert.deepEqual((await store.collect())?.removeImages, []);
  assert.equal(collected.length, 1);

  now = 4 * 3_600_000;
  held.names = [storeNameOf(image('a'))];
  const last = await store.collect();
  assert.deepEqual(last?.removeImages, [image('b2'), image('b'), image('c')].map(storeNameOf), 'oldest-used first (b2 at 0; b and c at 2h, by name)');
  assert.ok((last?.bytesAfter ?? 0) < (last?.bytesBefore ?? 0), 'their layers freed');
  assert.equal((await store.size()).images, 1);
  assert.equal((await store.size()).bytes, last?.bytesAfter);
  assert.ok(readFileSync(join(unpackedA, 'etc', 'passwd'), 'utf8').includes('root'));
});

/**
 * Pulls of different images at once: skopeo behind a barrier that lets a copy go only when two
 * have started (each waits at most 20 s, then says it went alone). Pulled one at a time, the
 * first would wait alone; side by side, both meet. Neither image may be lost from index.json.
 */
test('image store: different images are pulled side by side, and both end up in the layout', { timeout: 120_000 }, async (t) => {
  const dir = tempDir('corral-image-parallel-');
  const registry = await LoopbackRegistry.start(join(dir, 'registry'));
  t.after(async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const name of ['a', 'b']) {
    writeBusyboxImage(join(dir, name), 'v1', { entrypoint: ['/bin/busybox'], cmd: ['true'], env: [`IMAGE=${name}`] });
    await registry.push(join(dir, name, 'layout'), 'v1', `corral/${name}:v1`);
  }
  const barrier = join(dir, 'barrier');
  mkdirSync(barrier);
  const log = join(dir, 'log');
  writeFileSync(log, '');
  const skopeo = join(dir, 'skopeo');
  writeFileSync(skopeo, `#!/bin/sh
case " $* " in *" copy "*)
  touch '${barrier}/started.'$$
  i=0
  while [ "$(ls '${barrier}' | wc -l)" -lt 2 ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
  if [ $i -lt 200 ]; then echo met >> '${log}'; else echo alone >> '${log}'; fi;;
esac
exec skopeo "$@"
`);
  chmodSync(skopeo, 0o755);
  const store = new ImageStore({ dir: join(dir, 'store'), tools: { skopeo, umoci: 'umoci' }, insecureRegistries: [], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
  const image = (name: string): string => `${registry.host}/corral/${name}:v1`;
  await Promise.all([store.pull(image('a'), false), store.pull(image('b'), false)]);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['met', 'met'], 'the two copies ran side by side');
  assert.deepEqual((await store.config(image('a'))).env, ['IMAGE=a']);
  assert.deepEqual((await store.config(image('b'))).env, ['IMAGE=b']);
  const bundle = join(dir, 'bundle');
  await store.unpack(image('b'), bundle);
  assert.ok(readFileSync(join(bundle, 'rootfs', 'etc', 'passwd'), 'utf8').includes('root'));
});

test('image store: a pull from a registry that never answers fails after the pull timeout, and a later pull starts afresh', { timeout: 30_000 }, async (t) => {
  const dir = tempDir('corral-image-stall-');
  const sockets = new Set<Socket>();
  const stalled = createServer((socket) => void sockets.add(socket));
  await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => stalled.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });
  const store = new ImageStore({ dir: join(dir, 'store'), tools: { skopeo: 'skopeo', umoci: 'umoci' }, insecureRegistries: [], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, pullTimeoutMs: 1000 });
  const image = `127.0.0.1:${(stalled.address() as { port: number }).port}/corral/stalled:v1`;
  const failure = new RegExp(`^Failed to pull image ${image.replace(/\./g, '\\.')}: no answer within 1000 ms$`);
  await assert.rejects(store.pull(image, false), { message: failure });
  await assert.rejects(store.pull(image, false), { message: failure }, 'pulled again, not joined to the first');
  assert.ok(sockets.size >= 2, 'each pull reached the registry');
});
