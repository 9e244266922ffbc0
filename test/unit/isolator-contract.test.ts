import { NoIsolation } from '../../src/agent/isolation/no-isolation.ts';
import { isolatorContract } from '../support/contracts/isolator-contract.ts';

// The cgroup isolator runs the same contract on this machine's cgroups in
// test/integration/agent-isolation-contract.test.ts (a container runtime will join there).
isolatorContract('no isolation', async () => ({ open: async () => new NoIsolation('no cgroups in this test'), remove: async () => undefined }));
