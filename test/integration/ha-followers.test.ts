import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { pidsOf, randomPortsBase } from '../support/agent-cluster.ts';
import { removeCgroupParent } from '../support/cgroups.ts';
import { dig, lines } from '../support/dns-fixtures.ts';
import { startHaCluster, type HaCluster } from '../support/ha-cluster.ts';
import { steadyLoad } from '../support/lb-load.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { startPart } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Everybody follows the leader (#16): three schedulers on etcd, one agent, `corral dns` and
 * `corral lb`, all given the three. The leader is killed -9 under a steady trickle of requests
 * through the LB: none fails, DNS keeps answering the app's records, the agent moves to the new
 * leader without restarting a task, and a scale through the new leader reaches DNS and LB by the
 * event stream resumed at the new leader (no second snapshot).
 */

const marker = `corral-ha-followers-${randomUUID()}`;
/** The worker's process, killed while there is no leader: found apart from the web tasks. */
const workerMarker = `corral-ha-worker-${randomUUID()}`;
const cgroupsParent = `corral-it-${marker.slice(-8)}`;
const VHOST = 'web.ha.test';
const SERVER = `exec node -e "const m='${marker}'; require('http').createServer((q, r) => r.end(process.env.MESOS_TASK_ID)).listen(+process.env.PORT0, process.env.HOST)"`;

let cluster: HaCluster | undefined;
const followers: PartProcess[] = [];

after(async () => {
  // The agent first, so it stops its tasks while a scheduler is still there.
  await stopParts(followers.filter((p) => p.name === 'agent'), 5000);
  await stopParts(followers.filter((p) => p.name !== 'agent'), 5000);
  await cluster?.stop();
  removeCgroupParent(cgroupsParent);
  await waitFor('no task process left', () => (pidsOf(marker).length + pidsOf(workerMarker).length === 0 ? true : undefined), 5000).catch(() => undefined);
  assert.deepEqual([...pidsOf(marker), ...pidsOf(workerMarker)], [], 'no task process outlives its agent');
});

// Answers are checked field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function getJson(url: string): Promise<any> {
  const response = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await response.body.text();
  return text === '' ? {} : JSON.parse(text);
}

/** The ports of the app's SRV answers, sorted. */
async function srv(dnsPort: number): Promise<string[]> {
  return lines(await dig(dnsPort, ['+short', 'SRV', '_web-ha._tcp.marathon.mesos'])).map((line) => line.split(' ')[2] ?? line).sort();
}

/** The host ports of the app's running tasks, from a scheduler's API, sorted: what its SRV answers hold. */
async function expectedSrv(base: string): Promise<string[]> {
  const { json } = await marathonCall(base, 'GET', '/v2/apps/web-ha/tasks');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return (json.tasks as any[]).filter((t) => t.state === 'TASK_RUNNING').map((t) => String(t.ports[0])).sort();
}

function commOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** The agent's log lines saying it registered, with the scheduler named. */
function registrations(dir: string): string[] {
  return readFileSync(join(dir, 'agent.log'), 'utf8').split('\n').filter((line) => line.includes('registered with the scheduler')).map((line) => String((JSON.parse(line) as { master?: string }).master));
}

test('kill -9 of the leader: LB without a failed request, DNS right throughout, the agent keeps its tasks, changes arrive without a resync', { timeout: 180_000 }, async (t) => {
  cluster = await startHaCluster({ schedulers: 3, args: ['--agent-timeout', '30s'] });
  const { dir } = cluster;
  const leader = await cluster.leader(30_000);
  const ports = randomPortsBase();
  followers.push(await startPart('agent', ['agent', '--master', cluster.masters, '--ip', '127.0.0.11', '--work-dir', join(dir, 'agent'),
    '--cgroups-parent', cgroupsParent, '--resources', `cpus:2;mem:1024;disk:1000;ports:[${ports}-${ports + 99}]`], dir));
  const dns = await startPart('dns', ['dns', '--master', cluster.masters, '--listen', '127.0.0.1:0', '--http', '127.0.0.1:0', '--resolvers', ''], dir);
  followers.push(dns);
  const lb = await startPart('lb', ['lb', '--master', cluster.masters, '--http-port', '0', '--https-port', '0', '--app-id-port', '0', '--stats-port', '0', '--group', 'external', '--workers', '1'], dir);
  followers.push(lb);
  const dnsPort = Number(String(dns.ready.dns).split(':')[1]);
  const dnsHttp = `http://${String(dns.ready.http)}`;
  const lbHttpPort = Number(String(lb.ready.http).split(':')[1]);
  const lbStats = `http://${String(lb.ready.stats)}`;

  const healthChecks = [{ protocol: 'HTTP', path: '/', intervalSeconds: 0.5, delaySeconds: 0, timeoutSeconds: 2 }];
  const posted = await marathonCall(leader, 'POST', '/v2/apps', {
    id: '/web-ha', cmd: SERVER, instances: 2, cpus: 0.05, mem: 32, healthChecks,
    labels: { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: VHOST }, portDefinitions: [{ port: 0, protocol: 'tcp' }],
  });
  assert.equal(posted.status, 201, JSON.stringify(posted.json));
  const backends = async (count: number): Promise<void> => {
    await waitFor(`${count} backends behind ${VHOST}`, async () => {
      const routes = await getJson(`${lbStats}/_corral/routes`);
      return routes.table?.vhosts?.[VHOST]?.[0]?.pool.backends.length === count ? true : undefined;
    }, 30_000);
  };
  await backends(2);
  // A task that fails while there is no leader: its status update must reach the new one.
  assert.equal((await marathonCall(leader, 'POST', '/v2/apps', { id: '/worker-ha', cmd: `exec node -e "setInterval(() => {}, 1e9)" ${workerMarker}`, instances: 1, cpus: 0.05, mem: 32 })).status, 201);
  const worker = await waitFor('the worker running', async () => {
    const { json } = await marathonCall(leader, 'GET', '/v2/apps/worker-ha/tasks');
    const running = (json.tasks as Array<{ id: string; state: string }>).filter((task) => task.state === 'TASK_RUNNING');
    // The command itself, not the trampoline `sh` that holds the same command line.
    const pids = pidsOf(workerMarker).filter((pid) => commOf(pid) === 'node');
    return running.length === 1 && pids.length === 1 ? { taskId: running[0]?.id ?? '', pid: Number(pids[0]) } : undefined;
  }, 30_000);
  const before = await expectedSrv(leader);
  assert.equal(before.length, 2);
  await waitFor('DNS to answer both instances', async () => (JSON.stringify(await srv(dnsPort)) === JSON.stringify(before) ? true : undefined), 30_000);
  const pidsBefore = pidsOf(marker);
  assert.ok(pidsBefore.length >= 2, `task processes: ${pidsBefore.join(', ')}`);
  await waitFor('the agent to talk to the leader', () => (registrations(dir).at(-1) === leader ? true : undefined), 30_000);

  const load = steadyLoad({ port: lbHttpPort, host: VHOST, everyMs: 25 });
  const dnsWrong: string[] = [];
  let probing = true;
  const dnsProbe = (async () => {
    let probes = 0;
    while (probing) {
      const answer = await srv(dnsPort).catch((err: Error) => [err.message]);
      if (JSON.stringify(answer) !== JSON.stringify(before)) dnsWrong.push(`${new Date().toISOString()} ${answer.join(' | ')}`);
      probes += 1;
      // A client asking every 100 ms: the pattern under test, not synchronisation.
      await sleep(100);
    }
    return probes;
  })();

  const killed = cluster.urls.indexOf(leader);
  const victim = cluster.schedulers[killed];
  assert.ok(victim !== undefined);
  const killedAt = Date.now();
  victim.child.kill('SIGKILL');
  await victim.exited;
  process.kill(worker.pid, 'SIGKILL');
  const newLeader = await waitFor('a new leader', async () => {
    const named = await cluster?.leader(30_000);
    return named !== undefined && named !== leader ? named : undefined;
  }, 40_000);
  const electedAt = Date.now();
  t.diagnostic(`new leader ${newLeader} named ${electedAt - killedAt} ms after the kill`);

  // The agent registers with the new leader itself (not through a standby) and keeps its tasks.
  await waitFor('the agent to register with the new leader', () => (registrations(dir).at(-1) === newLeader ? true : undefined), 40_000);
  await waitFor('the new leader to see both tasks running', async () => ((await expectedSrv(newLeader)).length === 2 ? true : undefined), 30_000);
  assert.deepEqual(await expectedSrv(newLeader), before, 'the same tasks, on the same ports');
  const failure = await waitFor('the new leader to hear how the worker ended', async () => {
    const { json } = await marathonCall(newLeader, 'GET', '/v2/apps/worker-ha?embed=app.lastTaskFailure');
    return json.app?.lastTaskFailure?.taskId === worker.taskId ? json.app.lastTaskFailure as { state: string; message: string } : undefined;
  }, 30_000);
  // The agent's own word (from its outbox), not the TASK_LOST of a registration that no longer lists the task.
  assert.equal(failure.state, 'TASK_FAILED', JSON.stringify(failure));
  assert.match(failure.message, /SIGKILL/);
  probing = false;
  const probes = await dnsProbe;
  // No snapshot names the new leader: DNS learns it from the stream's X-Marathon-Leader.
  await waitFor('DNS to name the new leader', async () => {
    const answer = lines(await dig(dnsPort, ['+short', 'SRV', '_leader._tcp.mesos']));
    return answer.length === 1 && answer[0]?.split(' ')[2] === new URL(newLeader).port ? true : undefined;
  }, 30_000);
  assert.deepEqual(dnsWrong.slice(0, 5), [], `${dnsWrong.length} of ${probes} DNS answers were wrong`);

  // A change through the new leader reaches DNS and LB by the resumed stream.
  const scaled = await marathonCall(newLeader, 'PUT', '/v2/apps/web-ha', { instances: 3 });
  assert.equal(scaled.status, 200, JSON.stringify(scaled.json));
  await backends(3);
  await waitFor('DNS to answer three instances', async () => ((await srv(dnsPort)).length === 3 ? true : undefined), 30_000);
  const result = await load.stop();
  t.diagnostic(`${result.ok} requests through the LB, ${result.failures.length} failed`);
  assert.deepEqual(result.failures.slice(0, 5), [], `${result.failures.length} of ${result.ok + result.failures.length} requests failed`);
  // The load ran through the failover (how many requests a loaded machine manages is not the point).
  const duringFailover = result.okAt.filter((at) => at > killedAt && at < electedAt).length;
  assert.ok(duringFailover > 0 && result.okAt.some((at) => at > electedAt), `${duringFailover} requests went through while no leader was known, ${result.ok} in all`);

  assert.equal((await getJson(`${dnsHttp}/v1/health`)).snapshots, 1, 'DNS read no second snapshot');
  assert.equal((await getJson(`${lbStats}/_corral/health`)).snapshots, 1, 'LB read no second snapshot');
  const pidsAfter = pidsOf(marker);
  assert.deepEqual(pidsBefore.filter((pid) => !pidsAfter.includes(pid)), [], 'no task process was restarted');

  // The killed scheduler comes back as a standby of the new leader.
  await cluster.restart(killed);
  const info = await waitFor('the restarted scheduler to know the leader', async () => {
    const answer = await getJson(`${leader}/v2/info`).catch(() => undefined);
    return answer?.leader === new URL(newLeader).host ? answer : undefined;
  }, 30_000);
  assert.equal(info.elected, false);
  assert.equal(await cluster.leader(30_000), newLeader);
});
