import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { startHaCluster, type HaCluster } from '../support/ha-cluster.ts';
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
