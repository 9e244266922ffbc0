import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AgentCluster, pidsOf, type Json } from '../support/agent-cluster.ts';
import { crunContainers, LoopbackRegistry, mountsUnder, writeBusyboxImage } from '../support/oci-image.ts';
import { commandStream, standInRegistration } from '../support/stand-in-agent.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Docker images run by the agent itself (#18, first slice): an image built here from Debian's
 * static busybox, served by Debian's docker-registry on loopback, pulled by skopeo, unpacked by
 * umoci and run by crun, through a real scheduler and agent. Nothing is skipped: a missing tool
 * fails the test (.ci/run installs crun, skopeo, umoci, docker-registry and busybox-static).
 */
test('containers: images from a loopback registry run in their own namespaces on the host network', { timeout: 180_000 }, async (t) => {
  // An agent timeout longer than a restart under load (node alone may take 2 s to start): the kill -9 test is about adoption.
  const c = await AgentCluster.start('containers', { agentTimeout: '15s' });
  const registry = await LoopbackRegistry.start(join(c.dir, 'registry'));
  t.after(async () => {
    await c.stop();
    await registry.stop();
  });
  // The marker in the image's own Cmd: a container left running would show in c.stop()'s pgrep.
  writeBusyboxImage(join(c.dir, 'image'), 'v1', {
    entrypoint: ['/bin/busybox'],
    cmd: ['sh', '-c', `echo image-default-cmd; sleep 1000; : ${c.marker}`],
    env: ['PATH=/bin', 'IMAGE_ONLY=from-image', 'SHARED=image'],
    workingDir: '/tmp',
  });
  await registry.push(join(c.dir, 'image', 'layout'), 'v1', 'corral/busybox:v1');
  const image = `${registry.host}/corral/busybox:v1`;
  const volumes = join(c.dir, 'volumes');
  mkdirSync(join(volumes, 'data'), { recursive: true });
  mkdirSync(join(c.dir, 'elsewhere'));
  writeFileSync(join(volumes, 'data', 'hello.txt'), 'hello from the host\n');
  let agent = await c.startAgent({ args: ['--host-volume-paths', volumes, '--allow-privileged-containers'] });
  const events = await c.events();
  const state = await waitFor('the agent registered with the images capability', async () => {
    const json = await c.get('/master/state');
    return (json.slaves as Json[]).length === 1 ? json : undefined;
  });
  assert.ok(state);

  const stdout = (taskId: string, text: string): Promise<string> => waitFor(`${text} in the stdout of ${taskId}`, async () => {
    const out = await c.readSandboxFile(agent, taskId, 'stdout');
    return out.includes(text) ? out : undefined;
  });

  await t.test('cmd runs through /bin/sh -c as pid 1 of its own pid namespace, with the image env under the app env', async () => {
    await c.postApp({
      id: '/img/env',
      cmd: `echo "pid $$"; echo "IMAGE_ONLY=$IMAGE_ONLY SHARED=$SHARED APP_ONLY=$APP_ONLY"; echo "sandbox=$MESOS_SANDBOX cwd=$(pwd)"; echo "port=$PORT0"; echo "host=$(cat /proc/sys/kernel/hostname) param=$FROM_PARAMETER"; ls /mnt/mesos/sandbox; sleep 1000; : ${c.marker}`,
      env: { SHARED: 'app', APP_ONLY: 'yes' },
      container: { type: 'DOCKER', docker: { image, parameters: [{ key: 'hostname', value: 'web-1' }, { key: 'env', value: 'FROM_PARAMETER=yes' }] } },
    });
    const [task] = await c.running('/img/env', 1, 60_000);
    const out = await stdout(String(task?.id), 'stdout');
    assert.match(out, /^pid 1$/m, out);
    assert.match(out, /^IMAGE_ONLY=from-image SHARED=app APP_ONLY=yes$/m);
    assert.match(out, /^sandbox=\/mnt\/mesos\/sandbox cwd=\/tmp$/m, 'WorkingDir from the image');
    assert.match(out, new RegExp(`^port=${String(task?.ports[0])}$`, 'm'));
    assert.match(out, /^host=web-1 param=yes$/m, 'docker parameters hostname and env');
    const starting = events.find('status_update_event', (e) => e.taskId === task?.id && e.taskStatus === 'TASK_STARTING').map((e) => String(e.message));
    assert.ok(starting.some((m) => m.includes(`Pulling image ${image}`)), `the pull is in a STARTING message: ${JSON.stringify(starting)}`);
    const app = await c.get('/v2/apps/img/env');
    assert.deepEqual(app.app.container, { type: 'DOCKER', docker: { image, forcePullImage: false, privileged: false, parameters: [{ key: 'hostname', value: 'web-1' }, { key: 'env', value: 'FROM_PARAMETER=yes' }] }, volumes: [] });
  });

  await t.test("no cmd or args: the image's Entrypoint + Cmd; args replace Cmd after the Entrypoint", async () => {
    await c.postApp({ id: '/img/default', container: { type: 'MESOS', docker: { image } } });
    await c.postApp({ id: '/img/args', args: ['sh', '-c', `echo args-ran-as-$(id -u); sleep 1000; : ${c.marker}`], container: { type: 'DOCKER', docker: { image, forcePullImage: true } } });
    const [byDefault] = await c.running('/img/default', 1, 60_000);
    const [withArgs] = await c.running('/img/args', 1, 60_000);
    await stdout(String(byDefault?.id), 'image-default-cmd');
    await stdout(String(withArgs?.id), 'args-ran-as-0');
  });

  await t.test('an HTTP health check reaches busybox httpd on $PORT0 over the host network', async () => {
    await c.postApp({
      id: '/img/web',
      cmd: `mkdir -p /tmp/www && echo ok > /tmp/www/index.html && httpd -f -p $PORT0 -h /tmp/www; : ${c.marker}`,
      container: { type: 'DOCKER', docker: { image } },
      healthChecks: [{ protocol: 'HTTP', path: '/index.html', portIndex: 0, gracePeriodSeconds: 30, intervalSeconds: 1, timeoutSeconds: 2 }],
    });
    await waitFor('a healthy httpd', async () => {
      const tasks = await c.tasks('/img/web');
      return tasks[0]?.healthCheckResults?.[0]?.alive === true ? true : undefined;
    }, 60_000);
  });

  await t.test('scaling down kills the container: no crun state, bundle or process left', async () => {
    const [task] = await c.tasks('/img/env');
    const taskId = String(task?.id);
    const before = pidsOf(c.marker).length;
    assert.equal(crunContainers(agent.workDir).length, 4, 'four containers running');
    const overlays = mountsUnder(join(agent.workDir, 'containers'), 'overlay');
    assert.equal(overlays.filter((p) => p.endsWith('/rootfs')).length, 4, `an overlay root filesystem per container: ${JSON.stringify(overlays)}`);
    assert.equal(readdirSync(join(agent.workDir, 'image-rootfs')).length, 1, 'the image unpacked once, for all four');
    const answer = await c.call('PUT', '/v2/apps/img/env', { instances: 0 });
    assert.equal(answer.status, 200, JSON.stringify(answer.json));
    await events.waitFor('status_update_event', (e) => e.taskId === taskId && e.taskStatus === 'TASK_KILLED', 30_000);
    await waitFor('its container gone from crun and its bundle removed', () => (crunContainers(agent.workDir).length === 3 && !existsSync(join(agent.workDir, 'containers', taskId)) ? true : undefined));
    await waitFor('its processes gone', () => (pidsOf(c.marker).length < before ? true : undefined));
    assert.equal(readdirSync(join(agent.workDir, 'containers')).length, 3);
    assert.equal(mountsUnder(join(agent.workDir, 'containers')).length, 3, 'its overlay unmounted');
  });

  await t.test("a container over its mem is OOM-killed in the task's cgroup and reported so", async () => {
    await c.postApp({ id: '/img/oom', mem: 32, cmd: `head -c 300m /dev/zero | tail; : ${c.marker}`, container: { type: 'DOCKER', docker: { image } } });
    const failed = await events.waitFor('status_update_event', (e) => e.appId === '/img/oom' && e.taskStatus === 'TASK_FAILED', 60_000);
    assert.match(String(failed.message), /Memory limit exceeded/);
    await c.call('DELETE', '/v2/apps/img/oom');
  });

  await t.test("the container's exit status is the task's", async () => {
    await c.postApp({ id: '/img/exit', cmd: `exit 3; : ${c.marker}`, container: { type: 'DOCKER', docker: { image } } });
    const failed = await events.waitFor('status_update_event', (e) => e.appId === '/img/exit' && e.taskStatus === 'TASK_FAILED', 60_000);
    assert.equal(failed.message, 'Command exited with status 3');
    await c.call('DELETE', '/v2/apps/img/exit');
  });

  await t.test('a missing image fails the task with a clear message', async () => {
    await c.postApp({ id: '/img/missing', container: { type: 'DOCKER', docker: { image: `${registry.host}/corral/nope:v1` } } });
    const failed = await events.waitFor('status_update_event', (e) => e.appId === '/img/missing' && e.taskStatus === 'TASK_FAILED', 60_000);
    assert.match(String(failed.message), new RegExp(`Failed to pull image ${registry.host}/corral/nope:v1: .*(manifest unknown|not found)`, 'i'));
    await c.call('DELETE', '/v2/apps/img/missing');
  });

  await t.test('after the agent is killed -9, its restart adopts running containers and removes those it has no checkpoint of', async () => {
    const [kept] = await c.tasks('/img/default');
    const [lost] = await c.tasks('/img/args');
    const pidsBefore = pidsOf(`image-default-cmd; sleep 1000; : ${c.marker}`);
    assert.equal(pidsBefore.length, 1);
    agent.part.child.kill('SIGKILL');
    await agent.part.exited;
    assert.deepEqual(pidsOf(`image-default-cmd; sleep 1000; : ${c.marker}`), pidsBefore, 'containers outlive a crashed agent');
    // A checkpoint lost (as after a crash in the middle of a launch): its container must not be left running.
    rmSync(join(agent.workDir, 'meta', 'tasks', String(lost?.id)), { recursive: true, force: true });
    // A crash between mounting a root filesystem and starting crun: a bundle with a mount and no container.
    const ghost = join(agent.workDir, 'containers', 'ghost-task');
    for (const d of ['lower', 'upper', 'work', 'rootfs']) mkdirSync(join(ghost, d), { recursive: true });
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${ghost}/lower,upperdir=${ghost}/upper,workdir=${ghost}/work`, join(ghost, 'rootfs')]);
    agent = await c.restartAgent(agent);
    await waitFor('the lost container removed', () => (pidsOf(`args-ran-as-$(id -u); sleep 1000; : ${c.marker}`).length === 0 && !crunContainers(agent.workDir).includes(String(lost?.id)) ? true : undefined), 30_000);
    await waitFor('the lost and the ghost bundles unmounted and removed', () => (mountsUnder(ghost).length === 0 && !existsSync(ghost) && !existsSync(join(agent.workDir, 'containers', String(lost?.id))) ? true : undefined), 30_000);
    const [adopted] = await c.running('/img/default', 1);
    assert.equal(adopted?.id, kept?.id, 'the same task');
    assert.deepEqual(pidsOf(`image-default-cmd; sleep 1000; : ${c.marker}`), pidsBefore, 'the same container process');
    // The adopted one is still killed as a container: scaled down, nothing of it is left.
    assert.equal((await c.call('PUT', '/v2/apps/img/default', { instances: 0 })).status, 200);
    await waitFor('the adopted container gone', () => (pidsOf(`image-default-cmd; sleep 1000; : ${c.marker}`).length === 0 && !crunContainers(agent.workDir).includes(String(kept?.id)) ? true : undefined), 30_000);
  });

  await t.test("privileged: every capability on an agent that allows it; Docker's default set otherwise", async () => {
    await c.postApp({ id: '/img/priv', cmd: `grep CapEff /proc/self/status; sleep 1000; : ${c.marker}`, container: { type: 'DOCKER', docker: { image, privileged: true } } });
    await c.postApp({ id: '/img/unpriv', cmd: `grep CapEff /proc/self/status; sleep 1000; : ${c.marker}`, container: { type: 'DOCKER', docker: { image } } });
    const [priv] = await c.running('/img/priv', 1, 60_000);
    const [unpriv] = await c.running('/img/unpriv', 1, 60_000);
    const capEff = async (taskId: string): Promise<bigint> => BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(await stdout(taskId, 'CapEff'))?.[1] ?? '0'}`);
    const CAP_SYS_ADMIN = 1n << 21n;
    assert.equal((await capEff(String(priv?.id))) & CAP_SYS_ADMIN, CAP_SYS_ADMIN, 'privileged has CAP_SYS_ADMIN');
    assert.equal((await capEff(String(unpriv?.id))) & CAP_SYS_ADMIN, 0n, 'a plain container has not');
    await c.call('DELETE', '/v2/apps/img/priv');
    await c.call('DELETE', '/v2/apps/img/unpriv');
  });

  await t.test('host-path volumes: mounted read-only under --host-volume-paths, refused elsewhere', async () => {
    await c.postApp({
      id: '/img/vol',
      cmd: `cat /data/hello.txt; touch /data/written 2>/dev/null || echo read-only; sleep 1000; : ${c.marker}`,
      container: { type: 'DOCKER', docker: { image }, volumes: [{ containerPath: '/data', hostPath: join(volumes, 'data'), mode: 'RO' }] },
    });
    const [task] = await c.running('/img/vol', 1, 60_000);
    const out = await stdout(String(task?.id), 'read-only');
    assert.match(out, /^hello from the host$/m);
    assert.equal(existsSync(join(volumes, 'data', 'written')), false);
    await c.call('DELETE', '/v2/apps/img/vol');
    await c.postApp({ id: '/img/novol', container: { type: 'DOCKER', docker: { image }, volumes: [{ containerPath: '/etc2', hostPath: join(c.dir, 'elsewhere'), mode: 'RO' }] } });
    const failed = await events.waitFor('status_update_event', (e) => e.appId === '/img/novol' && e.taskStatus === 'TASK_FAILED', 60_000);
    assert.match(String(failed.message), /is not under this agent's --host-volume-paths/);
    await c.call('DELETE', '/v2/apps/img/novol');
  });

  await t.test('deleting the apps leaves no container behind', async () => {
    for (const id of ['/img/default', '/img/args', '/img/web', '/img/env']) await c.call('DELETE', `/v2/apps${id}`);
    await waitFor('every container gone', () => (crunContainers(agent.workDir).length === 0 && pidsOf(c.marker).length === 0 ? true : undefined), 30_000);
    await waitFor('no mount left under the work dir', () => (mountsUnder(agent.workDir).length === 0 ? true : undefined), 30_000);
  });
});

test('containers: an app with an image waits, saying why, while no connected agent can run images; a command app still runs there', { timeout: 60_000 }, async (t) => {
  const c = await AgentCluster.start('containers-wait');
  const controller = new AbortController();
  t.after(async () => {
    controller.abort();
    await c.stop();
  });
  // A stand-in agent registering as an agent without crun/skopeo/umoci does: no capabilities.
  const registration = await c.call('POST', '/corral/v1/agents/register', standInRegistration('no-images', '127.0.0.51'));
  assert.equal(registration.status, 200, JSON.stringify(registration.json));
  const commands = await commandStream(c.master, String(registration.json.agentId), controller.signal);
  await c.postApp({ id: '/img/waits', container: { type: 'DOCKER', docker: { image: '127.0.0.1:5000/corral/busybox:v1' } } });
  const entry = await waitFor('/img/waits in the queue', async () => ((await c.get('/v2/queue')).queue as Json[]).find((e) => e.app.id === '/img/waits'));
  assert.match(String(entry.reason), /no image runtime \(crun, skopeo, umoci\) on 1 of 1 agents/);
  await c.postApp({ id: '/cmd/runs', cmd: 'sleep 1000', portDefinitions: [] });
  const launch = await waitFor('the command app launched on the stand-in', () => commands.find((x) => x.type === 'launch'));
  assert.equal(launch.task.appId, '/cmd/runs');
  assert.equal(commands.filter((x) => x.type === 'launch' && x.task.appId === '/img/waits').length, 0);
});
