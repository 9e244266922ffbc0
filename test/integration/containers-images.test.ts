import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AgentCluster } from '../support/agent-cluster.ts';
import { body, startArtifactServer } from '../support/agent-fetch-server.ts';
import { LoopbackRegistry, mountsUnder, writeBusyboxImage } from '../support/oci-image.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Where a task's image comes from (#18): a registry that asks for credentials (the agent's
 * --registry-auth-file), or a `docker save` / OCI tarball the task fetches (Mesos' image from a URI).
 */
test('containers: images from a registry with basic auth and from fetched tarballs', { timeout: 180_000 }, async (t) => {
  const c = await AgentCluster.start('containers-images', { agentTimeout: '15s' });
  const user = { name: 'puller', password: 'S3cret-pass-word' };
  const registry = await LoopbackRegistry.start(join(c.dir, 'registry'), user);
  // A second registry whose credentials the agent has wrong.
  const other = await LoopbackRegistry.start(join(c.dir, 'other'), { name: 'puller', password: 'the-right-one' });
  writeBusyboxImage(join(c.dir, 'image'), 'v1', { entrypoint: ['/bin/busybox'], cmd: ['sh', '-c', `echo from-image; sleep 1000; : ${c.marker}`], env: ['PATH=/bin'] });
  const layout = join(c.dir, 'image', 'layout');
  await registry.push(layout, 'v1', 'corral/busybox:v1');
  await other.push(layout, 'v1', 'corral/busybox:v1');
  // The tarballs, made by skopeo from the same image: `docker save` form and an OCI layout.
  execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${layout}:v1`, `docker-archive:${join(c.dir, 'saved.tar')}:corral/saved:v1`]);
  execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci:${layout}:v1`, `oci-archive:${join(c.dir, 'oci.tar')}:v1`]);
  const server = await startArtifactServer({ '/saved.tar': body(readFileSync(join(c.dir, 'saved.tar'))), '/oci.tar': body(readFileSync(join(c.dir, 'oci.tar'))) });
  const authFile = join(c.dir, 'registry-auth.json');
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  writeFileSync(authFile, JSON.stringify({ auths: { [registry.host]: { auth: b64(`${user.name}:${user.password}`) }, [other.host]: { auth: b64('puller:wrong-password') } } }), { mode: 0o600 });
  t.after(async () => {
    await c.stop();
    await server.close();
    await registry.stop();
    await other.stop();
  });
  const agent = await c.startAgent({ args: ['--registry-auth-file', authFile] });
  const events = await c.events();
  const secrets = [user.password, 'wrong-password', b64(`${user.name}:${user.password}`), b64('puller:wrong-password')];
  const stdout = (taskId: string, text: string): Promise<string> => waitFor(`${text} in the stdout of ${taskId}`, async () => {
    const out = await c.readSandboxFile(agent, taskId, 'stdout');
    return out.includes(text) ? out : undefined;
  }, 60_000);

  await t.test('an image from a registry that asks for credentials: pulled with those of --registry-auth-file', async () => {
    await c.postApp({ id: '/auth/ok', container: { type: 'DOCKER', docker: { image: `${registry.host}/corral/busybox:v1` } } });
    const [task] = await c.running('/auth/ok', 1, 60_000);
    await stdout(String(task?.id), 'from-image');
  });

  await t.test('wrong credentials: the task fails saying so, with no secret in the message', async () => {
    await c.postApp({ id: '/auth/wrong', container: { type: 'DOCKER', docker: { image: `${other.host}/corral/busybox:v1` } } });
    const failed = await events.waitFor('status_update_event', (e) => e.appId === '/auth/wrong' && e.taskStatus === 'TASK_FAILED', 60_000);
    assert.match(String(failed.message), new RegExp(`^Failed to pull image ${other.host}/corral/busybox:v1: .*(unauthorized|authentication required|invalid username/password)`, 'i'));
    const everything = JSON.stringify(events.events) + readFileSync(join(c.dir, 'agent-1.log'), 'utf8') + JSON.stringify(await c.get('/v2/apps'));
    for (const secret of secrets) assert.ok(!everything.includes(secret), 'no credential in events, the agent log or /v2/apps');
    await c.call('DELETE', '/v2/apps/auth/wrong');
  });

  await t.test('a docker save tarball in fetch: loaded from the sandbox, never pulled', async () => {
    await c.postApp({ id: '/tar/docker', fetch: [{ uri: server.url('/saved.tar') }], container: { type: 'DOCKER', docker: { image: 'corral/saved:v1' } } });
    const [task] = await c.running('/tar/docker', 1, 60_000);
    await stdout(String(task?.id), 'from-image');
    const starting = events.find('status_update_event', (e) => e.taskId === task?.id && e.taskStatus === 'TASK_STARTING').map((e) => String(e.message));
    assert.ok(starting.some((m) => m === 'Loading image corral/saved:v1 from saved.tar'), JSON.stringify(starting));
    assert.ok(!starting.some((m) => m.startsWith('Pulling')), JSON.stringify(starting));
  });

  await t.test('an OCI layout tarball in fetch (not extracted), the image named by its tag', async () => {
    await c.postApp({ id: '/tar/oci', fetch: [{ uri: server.url('/oci.tar'), extract: false }], cmd: `echo oci-ran; sleep 1000; : ${c.marker}`, container: { type: 'DOCKER', docker: { image: 'corral/unpublished:v1' } } });
    const [task] = await c.running('/tar/oci', 1, 60_000);
    await stdout(String(task?.id), 'oci-ran');
  });

  await t.test('a tarball that does not hold the image: pulled as usual (and refused here: no such registry image)', async () => {
    await c.postApp({ id: '/tar/other', fetch: [{ uri: server.url('/saved.tar') }], container: { type: 'DOCKER', docker: { image: `${registry.host}/corral/absent:v1` } } });
    const failed = await events.waitFor('status_update_event', (e) => e.appId === '/tar/other' && e.taskStatus === 'TASK_FAILED', 60_000);
    assert.match(String(failed.message), /^Failed to pull image .*corral\/absent:v1: /);
    await c.call('DELETE', '/v2/apps/tar/other');
  });

  await t.test("the agent's /state shows the image store's size", async () => {
    const state = await c.get('/state', agent.endpoint);
    assert.ok(state.imageStore.bytes > 0, JSON.stringify(state.imageStore));
    assert.equal(state.imageStore.images, 3, 'the authed image and the two from tarballs');
  });

  await t.test('deleting the apps leaves nothing running', async () => {
    for (const id of ['/auth/ok', '/tar/docker', '/tar/oci']) await c.call('DELETE', `/v2/apps${id}`);
    await waitFor('every task gone', async () => ((await c.get('/v2/tasks')).tasks.length === 0 ? true : undefined), 30_000);
  });
});

/**
 * Where overlays cannot be mounted (here: the agent's work dir is itself on an overlay, which the
 * kernel refuses as an upper directory), the agent says so once and each task unpacks its own copy.
 */
test('containers: without overlay the agent says why once and tasks run from an unpacked copy', { timeout: 180_000 }, async (t) => {
  const c = await AgentCluster.start('containers-copy');
  const registry = await LoopbackRegistry.start(join(c.dir, 'registry'));
  t.after(async () => {
    await c.stop();
    await registry.stop();
  });
  writeBusyboxImage(join(c.dir, 'image'), 'v1', { entrypoint: ['/bin/busybox'], cmd: ['sh', '-c', `echo from-copy; sleep 1000; : ${c.marker}`], env: ['PATH=/bin'] });
  await registry.push(join(c.dir, 'image', 'layout'), 'v1', 'corral/busybox:v1');
  const base = join(c.dir, 'overlay-base');
  for (const d of ['lower', 'upper', 'work']) mkdirSync(join(base, d), { recursive: true });
  const workDir = join(c.dir, 'agent-1');
  mkdirSync(workDir);
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${base}/lower,upperdir=${base}/upper,workdir=${base}/work`, workDir]);
  const agent = await c.startAgent();
  assert.equal(agent.workDir, workDir);
  const log = await waitFor('the agent saying why it has no overlays', () => {
    const text = readFileSync(join(c.dir, 'agent-1.log'), 'utf8');
    return text.includes('no overlay root filesystems') ? text : undefined;
  });
  assert.equal(log.split('\n').filter((line) => line.includes('no overlay root filesystems')).length, 1, 'said once');
  await c.postApp({ id: '/copy/run', container: { type: 'DOCKER', docker: { image: `${registry.host}/corral/busybox:v1` } } });
  const [task] = await c.running('/copy/run', 1, 60_000);
  await waitFor('from-copy in stdout', async () => ((await c.readSandboxFile(agent, String(task?.id), 'stdout')).includes('from-copy') ? true : undefined), 60_000);
  assert.deepEqual(mountsUnder(join(workDir, 'containers')), [], 'no overlay under the bundles');
  assert.ok(existsSync(join(workDir, 'containers', String(task?.id), 'rootfs', 'bin', 'busybox')), 'an unpacked copy');
  await c.call('DELETE', '/v2/apps/copy/run');
  await waitFor('its bundle removed', () => (!existsSync(join(workDir, 'containers', String(task?.id))) ? true : undefined), 30_000);
});
