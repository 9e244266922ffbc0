import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { detectIsolator } from '../../src/agent/isolation/index.ts';
import { createLogger } from '../../src/shared/log.ts';
import { removeCgroupParent } from '../support/cgroups.ts';
import { isolatorContract } from '../support/contracts/isolator-contract.ts';

// The cgroup isolator on this machine's real cgroups, under a parent of each test's own.
const logger = createLogger('isolation-contract-test', 'silent');
const probe = `corral-contract-${randomUUID().slice(0, 8)}`;
const detected = await detectIsolator({ parent: probe, logger });
removeCgroupParent(probe);

if (detected.kind === 'none') {
  test('isolator contract (cgroups): needs writable cgroups', (t) => {
    // The one allowed skip, as in agent-isolation.test.ts: nothing here to test against.
    t.skip(`no writable cgroups here: ${detected.reason}`);
  });
} else {
  isolatorContract(detected.kind, async () => {
    const parent = `corral-contract-${randomUUID().slice(0, 8)}`;
    return { open: () => detectIsolator({ parent, logger }), remove: async () => removeCgroupParent(parent) };
  });
}
