import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { pidsOf, randomPortsBase, type Json } from '../support/agent-cluster.ts';
import { removeCgroupParent } from '../support/cgroups.ts';
import { startHaCluster, type HaCluster } from '../support/ha-cluster.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { startPart } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Exactly once per slot across a failover (#20 on #16): a per-second schedule runs while the
 * leader is killed -9; the new leader decides the slots the old one had not committed, and no
 * slot gets two runs.
 */

const marker = `corral-ha-jobs-${randomUUID()}`;
const cgroupsParent = `corral-it-${marker.slice(-8)}`;
let cluster: HaCluster | undefined;
const agents: PartProcess[] = [];

after(async () => {
  await stopParts(agents, 5000);
  await cluster?.stop();
  removeCgroupParent(cgroupsParent);
  await waitFor('no task process left', () => (pidsOf(marker).length === 0 ? true : undefined), 5000).catch(() => undefined);
  assert.deepEqual(pidsOf(marker), [], 'no task process outlives its agent');
});

/** The slot times decided for the job (runs active or finished, slots skipped), from whoever leads. */
async function decided(masters: readonly string[]): Promise<string[]> {
  for (const base of masters) {
    try {
      const { status, json } = await marathonCall(base, 'GET', '/v1/jobs/tick?embed=history&embed=activeRuns');
      if (status !== 200) continue;
      const history = json.history as Json;
      const runs = [...(json.activeRuns as Json[]), ...(history.successfulFinishedRuns as Json[]), ...(history.failedFinishedRuns as Json[]), ...(history.skippedSlots as Json[])];
      return runs.map((r) => String(r.scheduledAt)).sort();
    } catch {
      // a killed scheduler
    }
  }
  return [];
}

test('kill -9 of the leader under a per-second schedule: every slot decided exactly once', { timeout: 120_000 }, async () => {
  cluster = await startHaCluster({ schedulers: 2, args: ['--agent-timeout', '30s'] });
  const base = randomPortsBase();
  agents.push(await startPart('agent', ['agent', '--master', cluster.masters, '--ip', '127.0.0.11', '--work-dir', join(cluster.dir, 'agent'), '--cgroups-parent', cgroupsParent,
    '--resources', `cpus:4;mem:2048;disk:1000;ports:[${base}-${base + 99}]`], cluster.dir));
  const leader = await cluster.leader();
  const created = await marathonCall(leader, 'POST', '/v1/jobs', { id: 'tick', run: { cmd: `true; : ${marker}`, cpus: 0.1, mem: 32 }, schedules: [{ id: 'every-second', cron: '* * * * * *' }] });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  await waitFor('three slots decided', async () => ((await decided([leader])).length >= 3 ? true : undefined), 30_000);

  const index = cluster.urls.indexOf(leader);
  cluster.schedulers[index]?.child.kill('SIGKILL');
  const killedAt = Date.now();
  const next = await waitFor('a new leader', async () => {
    const named = await cluster?.leader(5000).catch(() => undefined);
    return named !== undefined && named !== leader ? named : undefined;
  }, 30_000);
  await waitFor('slots decided by the new leader', async () => ((await decided([next])).some((at) => Date.parse(at) > killedAt + 3000) ? true : undefined), 30_000);

  const slots = await decided([next]);
  assert.equal(new Set(slots).size, slots.length, `no slot decided twice: ${slots.join(' ')}`);
  const first = Date.parse(slots[0] ?? '');
  const last = Date.parse(slots.at(-1) ?? '');
  const missing: string[] = [];
  for (let at = first; at <= last; at += 1000) if (!slots.includes(new Date(at).toISOString())) missing.push(new Date(at).toISOString());
  assert.deepEqual(missing, [], `every slot from ${slots[0]} to ${slots.at(-1)} decided`);
  assert.equal((await marathonCall(next, 'DELETE', '/v1/jobs/tick?stopCurrentJobRuns=true')).status, 200);
});
