import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ContainerNetworks } from '../../src/agent/containers/container-networks.ts';

test('container networks: an agent without the plugins, or not root, has none and says why; with them it advertises each', async (t) => {
  const workDir = mkdtempSync(join(tmpdir(), 'corral-cni-'));
  t.after(() => rmSync(workDir, { recursive: true, force: true }));
  const base = { workDir, pluginDir: '/usr/lib/cni', bridgeSubnet: '', containerNetworks: ['dev=10.250.0.0/24'], uid: 0 };
  assert.deepEqual(await ContainerNetworks.detect({ ...base, pluginDir: join(workDir, 'no-plugins') }), {
    ok: false, reason: `CNI plugins bridge, host-local, portmap not found in ${join(workDir, 'no-plugins')} (apt-get install containernetworking-plugins, or --cni-plugin-dir)`,
  });
  assert.deepEqual(await ContainerNetworks.detect({ ...base, uid: 1000 }), { ok: false, reason: 'the agent is not running as root' });
  assert.deepEqual(await ContainerNetworks.detect({ ...base, containerNetworks: ['dev'] }), { ok: false, reason: '--container-networks: "dev" is not name=subnet (a name of letters, digits, _ . -)' });
  // .ci/run installs the plugins, ip and iptables.
  const found = await ContainerNetworks.detect(base);
  assert.ok(found.ok, JSON.stringify(found));
  assert.deepEqual(found.networks.capabilities(), ['network:bridge', 'container-network:dev']);
  assert.deepEqual(await found.networks.list(), [], 'nothing attached yet');
});
