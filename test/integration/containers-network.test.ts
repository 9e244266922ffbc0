import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { agentBridge, bridgePorts, existingChains, networkLeftovers, taskChains } from '../support/cni-leftovers.ts';
import { LoopbackRegistry, writeBusyboxImage } from '../support/oci-image.ts';
import { waitFor } from '../support/wait.ts';

const inSubnet24 = (ip: string, subnet: string): boolean => ip.split('.').slice(0, 3).join('.') === subnet.split('.').slice(0, 3).join('.');

/**
 * Bridge and container networks (#18): a network namespace per container task wired by Debian's
 * CNI plugins (bridge, host-local, portmap), through a real scheduler and agent. Connects only to
 * 127.0.0.1 (host ports); a container network's address is checked, never connected to.
 */
test('container networks: a bridged httpd on its host port, task IPs, nothing left behind', { timeout: 240_000 }, async (t) => {
  const c = await AgentCluster.start('containers-net');
  const registry = await LoopbackRegistry.start(join(c.dir, 'registry'));
  t.after(async () => {
    await c.stop();
    await registry.stop();
  });
  writeBusyboxImage(join(c.dir, 'image'), 'v1', { entrypoint: ['/bin/busybox'], cmd: ['sh'], env: ['PATH=/bin'] });
  await registry.push(join(c.dir, 'image', 'layout'), 'v1', 'corral/busybox:v1');
  const image = `${registry.host}/corral/busybox:v1`;
  // Chosen at run time (shared address space, apart from the default bridges'), so that agents of other runs on this host do not share it.
  const devSubnet = `100.${64 + Math.floor(Math.random() * 64)}.${Math.floor(Math.random() * 256)}.0/24`;
  let agent = await c.startAgent({ args: ['--container-networks', `dev=${devSubnet}`] });
  const bridge = agentBridge(agent.workDir);
  const events = await c.events();
  await waitFor('the agent advertising its networks', async () => ((await c.get('/master/state')).slaves as Json[]).length === 1 ? true : undefined);
  const agentState = await c.get('/state', agent.endpoint);
  assert.deepEqual((agentState.networks as Json[]).map((n) => [n.name, n.bridge]), [['bridge', bridge], ['dev', agentBridge(agent.workDir, 0)]]);

  const web = {
    id: '/net/web',
    cmd: `mkdir -p /tmp/www && echo bridged > /tmp/www/index.html && httpd -f -p 8080 -h /tmp/www; : ${c.marker}`,
    networks: [{ mode: 'container/bridge' }],
    container: { type: 'DOCKER', docker: { image }, portMappings: [{ containerPort: 8080, hostPort: 0, name: 'http' }] },
    healthChecks: [{ protocol: 'HTTP', path: '/index.html', portIndex: 0, gracePeriodSeconds: 30, intervalSeconds: 1, timeoutSeconds: 2 }],
    // Kept while its agent restarts (not replaced the moment the agent is unreachable).
    unreachableStrategy: { inactiveAfterSeconds: 300, expungeAfterSeconds: 600 },
  };

  await t.test('a BRIDGE app is reached at 127.0.0.1:<its host port>, has its own IP, and is healthy', async () => {
    await c.postApp(web);
    const [task] = await c.running('/net/web', 1, 90_000);
    const hostPort = Number(task?.ports[0]);
    const offered = String(((await c.get('/master/state')).slaves as Json[])[0]?.resources.ports);
    const [low, high] = (/^\[(\d+)-(\d+)\]$/.exec(offered) ?? []).slice(1).map(Number);
    assert.ok(low !== undefined && high !== undefined && hostPort >= low && hostPort <= high, `a host port from the agent's range ${offered}: ${hostPort}`);
    const response = await waitFor('httpd through the host port', async () => {
      const answer = await request(`http://127.0.0.1:${hostPort}/index.html`).catch(() => undefined);
      return answer === undefined ? undefined : { status: answer.statusCode, body: await answer.body.text() };
    }, 30_000);
    assert.deepEqual(response, { status: 200, body: 'bridged\n' });
    const ip = String(task?.ipAddresses?.[0]?.ipAddress);
    assert.ok(inSubnet24(ip, String(agentState.networks[0].subnet)), `the task's address ${ip} on the agent bridge: ${JSON.stringify(task?.ipAddresses)}`);
    const running = events.find('status_update_event', (e) => e.taskId === task?.id && e.taskStatus === 'TASK_RUNNING');
    assert.deepEqual(running[0]?.ipAddresses, [{ ipAddress: ip, protocol: 'IPv4' }]);
    await waitFor('the health check through the host port', async () => ((await c.tasks('/net/web'))[0]?.healthCheckResults?.[0]?.alive === true ? true : undefined), 60_000);
    const app = (await c.get('/v2/apps/net/web?embed=apps.tasks')).app as Json;
    assert.deepEqual(app.networks, [{ mode: 'container/bridge' }]);
    assert.deepEqual(app.portDefinitions, []);
    assert.equal(app.container.portMappings[0].hostPort, 0);
    assert.equal(app.container.portMappings[0].containerPort, 8080);
    assert.deepEqual(app.tasks[0].ipAddresses, [{ ipAddress: ip, protocol: 'IPv4' }]);
    const mesos = await c.get('/master/state');
    const mesosTask = (mesos.frameworks[0].tasks as Json[]).find((x) => x.id === task?.id);
    assert.deepEqual(mesosTask?.statuses.at(-1).container_status.network_infos[0].ip_addresses, [{ ip_address: ip }]);
    assert.equal(bridgePorts(bridge).length, 1, 'one veth on the agent bridge');
  });

  await t.test('a container network app gets an address in its declared subnet', async () => {
    await c.postApp({ id: '/net/dev', cmd: `sleep 1000; : ${c.marker}`, networks: [{ mode: 'container', name: 'dev' }], container: { type: 'DOCKER', docker: { image }, portMappings: [{ containerPort: 80, name: 'web' }] } });
    const [task] = await c.running('/net/dev', 1, 90_000);
    const ip = String(task?.ipAddresses?.[0]?.ipAddress);
    assert.ok(inSubnet24(ip, devSubnet), `${ip} in ${devSubnet}`);
    assert.deepEqual(task?.ports, [], 'no host port');
    const running = events.find('status_update_event', (e) => e.taskId === task?.id && e.taskStatus === 'TASK_RUNNING');
    assert.deepEqual(running[0]?.ipAddresses, [{ ipAddress: ip, protocol: 'IPv4' }]);
  });

  await t.test('an app on a network no agent has waits, saying why', async () => {
    await c.postApp({ id: '/net/nowhere', cmd: 'sleep 1000', networks: [{ mode: 'container', name: 'prod' }], container: { type: 'DOCKER', docker: { image } } });
    const entry = await waitFor('/net/nowhere in the queue', async () => ((await c.get('/v2/queue')).queue as Json[]).find((e) => e.app.id === '/net/nowhere'));
    assert.match(String(entry.reason), /no container network prod \(--container-networks\) on 1 of 1 agents/);
    await c.call('DELETE', '/v2/apps/net/nowhere');
  });

  await t.test('a bridged task that exits leaves no network behind', async () => {
    await c.postApp({ id: '/net/exits', cmd: `exit 3; : ${c.marker}`, networks: [{ mode: 'container/bridge' }], container: { type: 'DOCKER', docker: { image }, portMappings: [{ containerPort: 80 }] } });
    const failed = await events.waitFor('status_update_event', (e) => e.appId === '/net/exits' && e.taskStatus === 'TASK_FAILED', 60_000);
    assert.equal(failed.message, 'Command exited with status 3');
    await c.call('DELETE', '/v2/apps/net/exits');
    const ended = events.find('status_update_event', (e) => e.appId === '/net/exits').map((e) => String(e.taskId));
    await waitFor('the exited tasks\' networks gone', () => (ended.every((id) => networkLeftovers(agent.workDir, id).length === 0) ? true : undefined), 30_000);
  });

  await t.test('after kill -9 of the agent, a live task keeps its network and a task with no checkpoint loses it', async () => {
    const [kept] = await c.tasks('/net/web');
    const [lost] = await c.tasks('/net/dev');
    agent.part.child.kill('SIGKILL');
    await agent.part.exited;
    rmSync(join(agent.workDir, 'meta', 'tasks', String(lost?.id)), { recursive: true, force: true });
    agent = await c.restartAgent(agent);
    await waitFor('the lost task\'s network removed', () => (networkLeftovers(agent.workDir, String(lost?.id)).length === 0 ? true : undefined), 30_000);
    const [adopted] = await c.running('/net/web', 1);
    assert.equal(adopted?.id, kept?.id);
    const answer = await request(`http://127.0.0.1:${Number(adopted?.ports[0])}/index.html`);
    assert.equal(await answer.body.text(), 'bridged\n', 'still reached through its host port');
    assert.notDeepEqual(networkLeftovers(agent.workDir, String(kept?.id)), []);
  });

  await t.test('scaling down and deleting leave no netns, veth, iptables rule or lease behind', async () => {
    const [task] = await c.tasks('/net/web');
    const chains = taskChains(String(task?.id));
    assert.ok(chains.some((chain) => chain.startsWith('nat:CNI-DN-')) && chains.length >= 2, `its portmap and masquerade chains: ${JSON.stringify(chains)}`);
    assert.equal((await c.call('PUT', '/v2/apps/net/web', { instances: 0 })).status, 200);
    await events.waitFor('status_update_event', (e) => e.taskId === task?.id && e.taskStatus === 'TASK_KILLED', 30_000);
    await waitFor('the bridged task\'s network gone', () => (networkLeftovers(agent.workDir, String(task?.id)).length === 0 ? true : undefined), 30_000);
    assert.deepEqual(existingChains(chains), [], 'its iptables chains removed');
    assert.deepEqual(bridgePorts(bridge), []);
    for (const id of ['/net/web', '/net/dev']) await c.call('DELETE', `/v2/apps${id}`);
    const all = (await c.tasks()).map((x) => String(x.id));
    await waitFor('no task left', async () => ((await c.tasks()).length === 0 ? true : undefined), 30_000);
    // Reported killed first, then cleaned up.
    await waitFor('no network of any task left', () => (all.every((id) => networkLeftovers(agent.workDir, id).length === 0) ? true : undefined), 30_000);
    assert.deepEqual(bridgePorts(bridge), []);
    // A stopped agent (no task left) removes its bridges.
    agent.part.child.kill('SIGTERM');
    await agent.part.exited;
    assert.equal(existsSync(`/sys/class/net/${bridge}`), false, 'the agent bridge removed');
    assert.equal(existsSync(`/sys/class/net/${agentBridge(agent.workDir, 0)}`), false, 'the dev network bridge removed');
  });
});
