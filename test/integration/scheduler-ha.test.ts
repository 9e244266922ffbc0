import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { startHaCluster, type HaCluster } from '../support/ha-cluster.ts';
import { agentCall, commandStream, standInRegistration } from '../support/stand-in-agent.ts';
import { waitFor } from '../support/wait.ts';

interface Answer { status: number; leader: string | undefined; body: Record<string, unknown> }

async function call(base: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<Answer> {
  const response = await request(`${base}${path}`, {
    method,
    headersTimeout: 10_000,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  const leader = response.headers['x-marathon-leader'];
  return { status: response.statusCode, leader: typeof leader === 'string' ? leader : undefined, body: text === '' ? {} : JSON.parse(text) as Record<string, unknown> };
}

const app = (id: string): Record<string, unknown> => ({ id, cmd: 'sleep 1', instances: 0 });

/** The url of a scheduler among `urls` whose /v2/info says it is elected. */
function electedAmong(urls: readonly string[]): Promise<string> {
  return waitFor('another scheduler to be elected', async () => {
    for (const url of urls) {
      const info = await call(url, 'GET', '/v2/info').catch(() => undefined);
      if (info?.status === 200 && info.body.elected === true) return url;
    }
    return undefined;
  }, 20_000);
}

const hostPort = (url: string): string => url.replace(/^https?:\/\//, '');

async function withCluster(schedulers: number, run: (cluster: HaCluster) => Promise<void>): Promise<void> {
  const cluster = await startHaCluster({ schedulers });
  try {
    await run(cluster);
  } finally {
    // A stopped process is resumed first so that it can be stopped.
    for (const part of cluster.schedulers) if (part.child.exitCode === null && part.child.signalCode === null) part.child.kill('SIGCONT');
    await cluster.stop();
  }
}

test('SIGSTOP the leader past its lease, then SIGCONT: it commits nothing more, steps down and follows the new leader without exiting', async () => {
  await withCluster(2, async (cluster) => {
    const oldLeader = await cluster.leader();
    const old = cluster.schedulers[cluster.urls.indexOf(oldLeader)]!;
    assert.equal((await call(oldLeader, 'POST', '/v2/apps', app('/before'))).status, 201);

    process.kill(old.child.pid!, 'SIGSTOP');
    const newLeader = await electedAmong(cluster.urls.filter((url) => url !== oldLeader));
    const acked = await call(newLeader, 'POST', '/v2/apps', app('/after-failover'));
    assert.equal(acked.status, 201, JSON.stringify(acked.body));

    // A write that reaches the old leader as it resumes (queued in its listen backlog meanwhile).
    const toOld = call(oldLeader, 'POST', '/v2/apps', app('/to-old')).catch((err: Error) => err);
    process.kill(old.child.pid!, 'SIGCONT');
    const answer = await toOld;
    if (!(answer instanceof Error) && answer.status < 300) {
      assert.equal(answer.leader, newLeader, 'a write the old leader acknowledged was proxied to the new leader, not stored by it');
    } else {
      assert.equal((await call(newLeader, 'GET', '/v2/apps/to-old')).status, 404, 'a refused write is nowhere');
    }

    await waitFor('the old leader to step down and name the new one', async () => {
      const info = await call(oldLeader, 'GET', '/v2/info').catch(() => undefined);
      return info?.body.elected === false && info.body.leader === hostPort(newLeader) ? true : undefined;
    }, 10_000);
    assert.equal(old.child.exitCode, null, 'the old leader still runs, as a standby');
    const through = await call(oldLeader, 'POST', '/v2/apps', app('/through-old'));
    assert.deepEqual([through.status, through.leader], [201, newLeader], 'the old leader proxies writes to the new one');
    const apps = (await call(newLeader, 'GET', '/v2/apps')).body.apps as Array<{ id: string }>;
    assert.deepEqual(apps.map((a) => a.id).filter((id) => id !== '/to-old').sort(), ['/after-failover', '/before', '/through-old']);
  });
});

const WRITES = 1000;
const WRITERS = 6;
const KILL_AFTER = 300;

test('kill -9 of the leader during 1,000 writes: every acknowledged write is on the new leader, which serves writes and carries on a deployment in flight', { timeout: 240_000 }, async (t) => {
  await withCluster(3, async (cluster) => {
    const oldLeader = await cluster.leader();
    const inFlight = await call(oldLeader, 'POST', '/v2/apps', { id: '/in-flight', cmd: 'sleep 100', instances: 1, cpus: 0.1, mem: 16 });
    assert.equal(inFlight.status, 201, JSON.stringify(inFlight.body));
    const deploymentId = String((inFlight.body.deployments as Array<{ id: string }>)[0]!.id);

    const acknowledged = new Set<string>();
    let killedAt = 0;
    let firstAckAfterKill = 0;
    let next = 0;
    const writer = async (start: number): Promise<void> => {
      let at = start;
      for (let n = next++; n < WRITES; n = next++) {
        const id = `/w/app-${n}`;
        for (let attempt = 0; ; attempt += 1) {
          assert.ok(attempt < 400, `${id} was never acknowledged`);
          const answer = await call(cluster.urls[at]!, 'POST', '/v2/apps', app(id)).catch((err: Error) => err);
          if (!(answer instanceof Error) && answer.status === 201) {
            acknowledged.add(id);
            if (killedAt > 0 && firstAckAfterKill === 0 && answer.leader !== oldLeader) firstAckAfterKill = Date.now();
            break;
          }
          // A retry after an answer that was lost finds the app there: written, though never acknowledged.
          if (!(answer instanceof Error) && answer.status === 409 && attempt > 0) break;
          if (!(answer instanceof Error) && answer.status !== 503 && answer.status !== 502) assert.fail(`${id}: ${answer.status} ${JSON.stringify(answer.body)}`);
          at = (at + 1) % cluster.urls.length;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        if (acknowledged.size === KILL_AFTER && killedAt === 0) {
          killedAt = Date.now();
          cluster.schedulers[cluster.urls.indexOf(oldLeader)]!.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w % cluster.urls.length)));
    assert.ok(killedAt > 0 && firstAckAfterKill > killedAt, 'the leader was killed part-way');
    t.diagnostic(`kill -9 → first write acknowledged by the new leader: ${firstAckAfterKill - killedAt} ms`);

    const newLeader = await cluster.leader();
    assert.notEqual(newLeader, oldLeader);
    const apps = new Set(((await call(newLeader, 'GET', '/v2/apps')).body.apps as Array<{ id: string }>).map((a) => a.id));
    const missing = [...acknowledged].filter((id) => !apps.has(id));
    assert.deepEqual(missing, [], 'every acknowledged write is on the new leader');
    assert.ok(acknowledged.size >= WRITES - 20, `${acknowledged.size} acknowledged`);
    assert.equal((await call(newLeader, 'POST', '/v2/apps', app('/after'))).status, 201, 'the new leader serves writes');

    // The deployment in flight at the kill goes on: the new leader launches on an agent that joins it, and finishes.
    const deployments = (await call(newLeader, 'GET', '/v2/deployments')).body as unknown as Array<{ id: string }>;
    assert.ok(deployments.some((d) => d.id === deploymentId), 'the deployment in flight is on the new leader');
    const abort = new AbortController();
    try {
      const registered = await agentCall(newLeader, 'POST', '/corral/v1/agents/register', standInRegistration('stand-in', '127.0.0.80'));
      assert.equal(registered.status, 200, JSON.stringify(registered.json));
      const agentId = String(registered.json.agentId);
      const commands = await commandStream(newLeader, agentId, abort.signal);
      const launch = await waitFor('the launch of /in-flight', () => commands.find((c) => c.type === 'launch'));
      const running = { uuid: 'running-1', taskId: String(launch.task.taskId), state: 'TASK_RUNNING', message: '', timestamp: new Date().toISOString() };
      const status = await agentCall(newLeader, 'POST', `/corral/v1/agents/${agentId}/status`, running);
      assert.equal(status.status, 200, JSON.stringify(status.json));
      await waitFor('the deployment to finish', async () => {
        const now = (await call(newLeader, 'GET', '/v2/deployments')).body as unknown as Array<{ id: string }>;
        return now.some((d) => d.id === deploymentId) ? undefined : true;
      });
    } finally {
      abort.abort();
    }
  });
});
