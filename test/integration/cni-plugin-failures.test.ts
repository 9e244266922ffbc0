import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ContainerNetworks } from '../../src/agent/containers/container-networks.ts';
import { netnsNameOf } from '../../src/agent/containers/core/cni-config.ts';
import { containerIdOf } from '../../src/agent/containers/core/oci-spec.ts';

/**
 * A CNI plugin that never answers must not hold a launch (or the task's detach) forever: the
 * call is killed after the agent's timeout, the launch fails saying so and what was made is undone.
 */
/** Networks of an agent in a fresh work dir whose CNI plugins are these shell scripts. */
async function withPlugins(t: TestContext, plugins: Record<string, string>): Promise<{ workDir: string; networks: ContainerNetworks }> {
  const workDir = mkdtempSync(join(tmpdir(), 'corral-cni-fail-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const pluginDir = join(workDir, 'plugins');
  mkdirSync(pluginDir);
  for (const [name, body] of Object.entries(plugins)) {
    writeFileSync(join(pluginDir, name), `#!/bin/sh\n${body.replaceAll('$WORK', workDir)}\n`);
    chmodSync(join(pluginDir, name), 0o755);
  }
  const found = await ContainerNetworks.detect({ workDir, pluginDir, bridgeSubnet: '10.251.0.0/24', containerNetworks: [], uid: 0, pluginTimeoutMs: 300 });
  assert.ok(found.ok, JSON.stringify(found));
  return { workDir, networks: found.networks };
}

test('container networks: a hanging CNI plugin is killed after the timeout and the attach undone', { timeout: 20_000 }, async (t) => {
  const { workDir, networks } = await withPlugins(t, { bridge: 'echo $$ >> $WORK/pids\nexec sleep 600', 'host-local': 'exit 0', portmap: 'exit 0' });
  const pids = join(workDir, 'pids');
  const taskId = 'hang.1';
  await assert.rejects(networks.attach(taskId, { mode: 'container/bridge', portMappings: [] }), /Failed to set up the bridge network: CNI bridge ADD: no answer within 300 ms/);
  assert.equal(existsSync(`/run/netns/${netnsNameOf(containerIdOf(taskId))}`), false, 'the namespace is deleted');
  assert.deepEqual(await networks.list(), [], 'no state left');
  const started = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
  assert.equal(started.length, 2, 'ADD then DEL');
  for (const pid of started) assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `plugin ${pid} is killed`);
});

test('container networks: a plugin that exits without reading its config fails the attach, never the agent', { timeout: 20_000 }, async (t) => {
  // A result bigger than a pipe holds, so that the next plugin's stdin write meets its exit (EPIPE).
  const big = `printf '{"cniVersion":"1.0.0","ips":[{"address":"10.251.0.2/24"}],"pad":"'; head -c 1000000 /dev/zero | tr '\\0' a; printf '"}'`;
  const { networks } = await withPlugins(t, { bridge: big, 'host-local': 'exit 0', portmap: 'exit 3' });
  const taskId = 'epipe.1';
  await assert.rejects(networks.attach(taskId, { mode: 'container/bridge', portMappings: [{ containerPort: 80, hostPort: 31080, protocol: 'tcp' }] }), /Failed to set up the bridge network: CNI portmap ADD/);
  assert.equal(existsSync(`/run/netns/${netnsNameOf(containerIdOf(taskId))}`), false, 'the namespace is deleted');
  assert.deepEqual(await networks.list(), [], 'no state left');
});
