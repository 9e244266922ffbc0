import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentCluster, type Json, type StartedAgent } from '../support/agent-cluster.ts';
import { corral } from '../support/cli-run.ts';
import { crunContainers, LoopbackRegistry, writeBusyboxImage } from '../support/oci-image.ts';
import { waitFor } from '../support/wait.ts';

// Resident apps with a local persistent volume, as plain process tasks: the volume is
// `<work-dir>/volumes/<persistenceId>` on the agent, `data` in the sandbox.
let cluster: AgentCluster;
let first: StartedAgent;

before(async () => {
  cluster = await AgentCluster.start('volumes', { agentTimeout: '2s' });
  first = await cluster.startAgent({ args: ['--disk-watch-interval', '200ms'] });
});

after(async () => {
  await cluster.stop();
});

const volume = (size = 4) => ({ type: 'MESOS', volumes: [{ containerPath: 'data', mode: 'RW', persistent: { type: 'root', size } }] });
/** Each task appends its id and $GEN to data/log, then stays up. */
const logger = (id: string, gen: string, size?: number): Json => ({
  id, cmd: `echo "$MESOS_TASK_ID $GEN" >> data/log && while true; do sleep 1; done; : ${cluster.marker}`, env: { GEN: gen }, container: volume(size),
});
const volumeDir = (agent: StartedAgent, persistenceId: string): string => join(agent.workDir, 'volumes', persistenceId);
const logOf = (agent: StartedAgent, persistenceId: string): string[] => readFileSync(join(volumeDir(agent, persistenceId), 'log'), 'utf8').trim().split('\n');

/** The app's one running task, once it is another than `not` (and its volume's log names it). */
async function nextTask(appId: string, not: readonly string[], agent: StartedAgent, timeoutMs = 20000): Promise<Json> {
  return waitFor(`a new running task of ${appId}`, async () => {
    const tasks = await cluster.tasks(appId);
    const task = tasks.length === 1 && tasks[0]?.state === 'TASK_RUNNING' && !not.includes(String(tasks[0]?.id)) ? tasks[0] : undefined;
    const persistenceId = task?.localVolumes?.[0]?.persistenceId as string | undefined;
    if (task === undefined || persistenceId === undefined || !existsSync(join(volumeDir(agent, persistenceId), 'log'))) return undefined;
    return logOf(agent, persistenceId).some((line) => line.startsWith(String(task.id))) ? task : undefined;
  }, timeoutMs);
}

test('a resident task keeps its data on its agent: a kill, an agent kill -9, an upgrade; released with wipe', async () => {
  await cluster.postApp(logger('/db', 'one'));
  const t1 = await nextTask('/db', [], first);
  const persistenceId = String(t1.localVolumes[0].persistenceId);
  assert.deepEqual(t1.localVolumes, [{ containerPath: 'data', persistenceId }]);
  const app = (await cluster.get('/v2/apps/db')).app as Json;
  assert.equal(app.unreachableStrategy, 'disabled');
  assert.deepEqual(app.upgradeStrategy, { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 });
  // A second agent with room: a resident task never moves there.
  const second = await cluster.startAgent();

  // Killed without wipe: back on the same agent, the same volume.
  assert.equal((await cluster.call('DELETE', `/v2/apps/db/tasks/${String(t1.id)}`)).status, 200);
  const t2 = await nextTask('/db', [t1.id], first);
  assert.equal(t2.slaveId, t1.slaveId);
  assert.deepEqual(t2.localVolumes, t1.localVolumes);
  assert.deepEqual(logOf(first, persistenceId), [`${String(t1.id)} one`, `${String(t2.id)} one`]);

  // The agent crashes and comes back: the task was adopted; killed again, it finds its data.
  first.part.child.kill('SIGKILL');
  await first.part.exited;
  first = await cluster.restartAgent(first);
  // Under load the restart may outlast the agent timeout: the task is then unreachable until the agent is back.
  await waitFor('the adopted task running', async () => ((await cluster.tasks('/db'))[0]?.state === 'TASK_RUNNING' ? true : undefined));
  assert.equal((await cluster.call('DELETE', `/v2/apps/db/tasks/${String(t2.id)}`)).status, 200);
  const t3 = await nextTask('/db', [t1.id, t2.id], first);
  assert.equal(t3.slaveId, t1.slaveId);

  // An upgrade kills the old task first and starts the new configuration on the same reservation.
  const put = await cluster.call('PUT', '/v2/apps/db', logger('/db', 'two'));
  assert.equal(put.status, 200, JSON.stringify(put.json));
  const t4 = await nextTask('/db', [t1.id, t2.id, t3.id], first);
  assert.equal(t4.slaveId, t1.slaveId);
  assert.deepEqual(logOf(first, persistenceId), [`${String(t1.id)} one`, `${String(t2.id)} one`, `${String(t3.id)} one`, `${String(t4.id)} two`]);
  await waitFor('the upgrade to finish', async () => ((await cluster.get('/v2/deployments')) as unknown as Json[]).length === 0 ? true : undefined);

  // Killed with wipe: the reservation is released and its data destroyed; a new one starts empty.
  assert.equal((await cluster.call('DELETE', `/v2/apps/db/tasks/${String(t4.id)}?wipe=true`)).status, 200);
  await waitFor('the wiped volume to be destroyed', () => (existsSync(volumeDir(first, persistenceId)) ? undefined : true));
  const fresh = await waitFor('a new reservation', async () => {
    const tasks = await cluster.tasks('/db');
    return tasks.length === 1 && tasks[0]?.state === 'TASK_RUNNING' && tasks[0]?.localVolumes[0].persistenceId !== persistenceId ? tasks[0] : undefined;
  });
  const agentOfFresh = fresh.host === t1.host ? first : second;
  const freshId = String(fresh.localVolumes[0].persistenceId);
  await waitFor('the new volume\'s log', () => (existsSync(join(volumeDir(agentOfFresh, freshId), 'log')) ? true : undefined));
  assert.deepEqual(logOf(agentOfFresh, freshId), [`${String(fresh.id)} two`]);

  // Deleting the app destroys the volume too.
  assert.equal((await cluster.call('DELETE', '/v2/apps/db')).status, 200);
  await waitFor('the deleted app\'s volume to be destroyed', () => (existsSync(volumeDir(agentOfFresh, freshId)) ? undefined : true));
  await waitFor('the deleted app\'s instance to be forgotten', async () => ((await cluster.tasks()).some((t) => t.appId === '/db') ? undefined : true));
});

test('writing past the volume\'s size fails the task with the reason', async () => {
  await cluster.postApp({ id: '/big', cmd: `head -c 3000000 /dev/zero > data/blob; while true; do sleep 1; done; : ${cluster.marker}`, container: volume(1), constraints: [['hostname', 'CLUSTER', '127.0.0.11']] });
  const failure = await waitFor('the task to fail for its disk usage', async () => {
    const { status, json } = await cluster.call('GET', '/v2/apps/big?embed=apps.lastTaskFailure');
    return status === 200 && json.app.lastTaskFailure !== undefined ? json.app.lastTaskFailure as Json : undefined;
  });
  assert.equal(failure.state, 'TASK_FAILED');
  assert.match(String(failure.message), /^Disk usage \(2\.\d MiB\) exceeds persistent volume data \(.+#data#.+\) size \(1 MiB\)$/);
  // Scaled to 0: released, and the data is gone from the agent.
  const tasks = await cluster.tasks('/big');
  const persistenceId = String(tasks[0]?.localVolumes[0].persistenceId);
  assert.equal((await cluster.call('PUT', '/v2/apps/big', { instances: 0 })).status, 200);
  await waitFor('the volume of the scaled-down instance to be destroyed', () => (existsSync(volumeDir(first, persistenceId)) ? undefined : true));
  await waitFor('no instance left', async () => ((await cluster.tasks('/big')).length === 0 ? true : undefined));
});

test('an instance whose agent is gone waits for it (in /v2/queue), never starts elsewhere; a release survives a scheduler kill -9', async () => {
  await cluster.postApp({ ...logger('/waiter', 'one'), constraints: [['hostname', 'CLUSTER', '127.0.0.11']] });
  const task = await nextTask('/waiter', [], first);
  const persistenceId = String(task.localVolumes[0].persistenceId);
  first.part.child.kill('SIGKILL');
  await first.part.exited;
  const reason = await waitFor('the queue to say it waits for its agent', async () => {
    const queue = (await cluster.get('/v2/queue')).queue as Json[];
    const entry = queue.find((q) => q.app?.id === '/waiter');
    return typeof entry?.reason === 'string' && entry.reason.startsWith('waiting for agent') ? entry.reason as string : undefined;
  });
  assert.match(reason, new RegExp(`^waiting for agent ${String(task.slaveId)} since \\d{4}-\\d\\d-\\d\\dT`));
  assert.deepEqual((await cluster.tasks('/waiter')).map((t) => [t.id, t.state]), [[task.id, 'TASK_UNREACHABLE']]);
  const why = await corral(['why', '/waiter'], { master: cluster.master });
  assert.match(why.stdout, new RegExp(`Reason: waiting for agent ${String(task.slaveId)} since`));
  assert.match(why.stdout, /persistent volumes on that agent/);

  // Released while the agent is away; the scheduler crashes; the destroy still happens once the agent is back.
  assert.equal((await cluster.call('PUT', '/v2/apps/waiter', { instances: 0 })).status, 200);
  await cluster.restartScheduler({ signal: 'SIGKILL' });
  assert.ok(existsSync(volumeDir(first, persistenceId)));
  first = await cluster.restartAgent(first);
  await waitFor('the released volume to be destroyed', () => (existsSync(volumeDir(first, persistenceId)) ? undefined : true), 20000);
  await waitFor('no instance left', async () => ((await cluster.tasks('/waiter')).length === 0 ? true : undefined));
});

test('a container mounts its volume at /mnt/mesos/sandbox/<path>: the data survives a relaunch, DELETE destroys it', { timeout: 120_000 }, async (t) => {
  const registry = await LoopbackRegistry.start(join(cluster.dir, 'registry'));
  t.after(() => registry.stop());
  writeBusyboxImage(join(cluster.dir, 'image'), 'v1', { entrypoint: ['/bin/busybox'], cmd: ['sh'], env: ['PATH=/bin'] });
  await registry.push(join(cluster.dir, 'image', 'layout'), 'v1', 'corral/busybox:v1');
  await cluster.postApp({
    id: '/imgdb',
    cmd: `echo "$MESOS_TASK_ID $(id -u)" >> $MESOS_SANDBOX/data/log; while true; do sleep 1; done; : ${cluster.marker}`,
    container: { type: 'DOCKER', docker: { image: `${registry.host}/corral/busybox:v1` }, volumes: volume().volumes },
    constraints: [['hostname', 'CLUSTER', '127.0.0.11']],
  });
  const t1 = await nextTask('/imgdb', [], first, 60_000);
  const persistenceId = String(t1.localVolumes[0].persistenceId);
  const app = (await cluster.get('/v2/apps/imgdb')).app as Json;
  assert.deepEqual(app.container.volumes, [{ containerPath: 'data', mode: 'RW', persistent: { type: 'root', size: 4, constraints: [] } }]);
  assert.equal((await cluster.call('DELETE', `/v2/apps/imgdb/tasks/${String(t1.id)}`)).status, 200);
  const t2 = await nextTask('/imgdb', [t1.id], first, 60_000);
  assert.deepEqual(logOf(first, persistenceId), [`${String(t1.id)} 0`, `${String(t2.id)} 0`]);
  assert.equal((await cluster.call('DELETE', '/v2/apps/imgdb')).status, 200);
  await waitFor('the container app\'s volume to be destroyed', () => (existsSync(volumeDir(first, persistenceId)) ? undefined : true), 20000);
  await waitFor('no container left', () => (crunContainers(first.workDir).length === 0 ? true : undefined), 20000);
});
