import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { EtcdStore } from '../../src/scheduler/store/etcd-store.ts';
import { ERR_STORE_UNREACHABLE } from '../../src/scheduler/store/errors.ts';
import { AgentCluster, taskGroups } from '../support/agent-cluster.ts';
import { startEtcd } from '../support/etcd.ts';
import { silentLogger } from '../support/file-store-fixtures.ts';
import { freePort } from '../support/parts.ts';

test('corral scheduler --store etcd: acknowledged apps and a running task survive kill -9 of the scheduler', async () => {
  const etcd = await startEtcd();
  let cluster: AgentCluster | undefined;
  try {
    cluster = await AgentCluster.start('etcd-restart', { schedulerArgs: ['--store', 'etcd', '--etcd', etcd.url, '--etcd-prefix', '/corral-e2e'] });
    await cluster.startAgent();
    await cluster.postApp({ id: '/sleeper', cmd: `sleep 1000; : ${cluster.marker}` });
    const [task] = await cluster.running('/sleeper', 1);
    const groups = taskGroups(cluster.marker);
    assert.equal(groups.length, 1);
    const acknowledged = ['/sleeper'];
    for (let n = 1; n <= 20; n += 1) {
      await cluster.postApp({ id: `/acked-${n}`, cmd: 'sleep 1', instances: 0 });
      acknowledged.push(`/acked-${n}`);
    }

    await cluster.restartScheduler({ signal: 'SIGKILL' });

    const apps = (await cluster.get('/v2/apps')).apps.map((app: { id: string }) => app.id).sort();
    assert.deepEqual(apps, [...acknowledged].sort());
    const adopted = await cluster.running('/sleeper', 1);
    assert.deepEqual(adopted.map((t) => t.id), [task!.id], 'the task is adopted, not replaced');
    assert.deepEqual(taskGroups(cluster.marker), groups, 'the same task process runs on');
    assert.equal(existsSync(join(cluster.dir, 'scheduler', 'state.log')), false, 'the state lives in etcd, not the data dir');
    assert.equal((await cluster.get('/v2/info')).corral_store.type, 'etcd', '/v2/info names the store in use');
  } finally {
    await cluster?.stop();
    await etcd.stop();
  }
});

test('etcd store: an etcd that cannot be reached at start-up fails after the bounded retry, saying so', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const store = new EtcdStore({ endpoints: [url], prefix: '/corral', logger: silentLogger, connectTimeoutMs: 300 });
  await assert.rejects(store.load(), (err: Error & { code?: string }) => {
    assert.equal(err.code, ERR_STORE_UNREACHABLE);
    assert.match(err.message, new RegExp(`cannot reach etcd at ${url}.*is etcd running, and is --etcd right\\?`));
    return true;
  });
  await store.close();
});
