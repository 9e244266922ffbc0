import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import type { PartProcess } from '../../src/cli/child-process.ts';
import { startEtcd } from '../support/etcd.ts';
import { SseStream } from '../support/events-stream.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: unknown }

async function call(base: string, method: 'GET' | 'POST' | 'DELETE', path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> {
  const response = await request(`${base}${path}`, {
    method,
    headers: { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.body.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // /ping answers text
  }
  return { status: response.statusCode, headers: response.headers, body };
}

test('two schedulers on one etcd prefix: the second is a standby that proxies to the leader, refuses loops, and takes over after kill -9 and on DELETE /v2/leader', async () => {
  const etcd = await startEtcd();
  const dir = tempDir('corral-standby-');
  const parts: PartProcess[] = [];
  try {
    const [portA, portB] = [await freePort(), await freePort()];
    const start = async (name: string, port: number): Promise<PartProcess> => {
      const part = await startPart(name, ['scheduler', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, name), '--store', 'etcd', '--etcd', etcd.url, '--etcd-prefix', '/corral-ha'], dir);
      parts.push(part);
      return part;
    };
    const a = `http://127.0.0.1:${portA}`;
    const b = `http://127.0.0.1:${portB}`;
    const leaderA = await start('scheduler-a', portA);
    const standbyB = await start('scheduler-b', portB);
    assert.equal(standbyB.ready.standby, true, 'the second scheduler serves as a standby instead of failing');

    for (const base of [a, b]) {
      const leader = await call(base, 'GET', '/v2/leader');
      assert.deepEqual(leader.body, { leader: `127.0.0.1:${portA}` }, `${base} names the first scheduler`);
      assert.equal(leader.headers['x-marathon-leader'], a);
    }
    const infoA = (await call(a, 'GET', '/v2/info')).body as { elected: boolean; leader: string };
    assert.deepEqual([infoA.elected, infoA.leader], [true, `127.0.0.1:${portA}`]);
    const infoB = (await call(b, 'GET', '/v2/info')).body as { elected: boolean; leader: string };
    assert.deepEqual([infoB.elected, infoB.leader], [false, `127.0.0.1:${portA}`]);
    assert.equal((await call(b, 'GET', '/ping')).body, 'pong');
    // Mesos' redirect names the leader from either scheduler (the standby proxies it); health and version are each one's own.
    for (const base of [a, b]) {
      const redirect = await call(base, 'GET', '/master/redirect');
      assert.deepEqual([redirect.status, redirect.headers.location], [307, `//127.0.0.1:${portA}`], `${base}/master/redirect`);
      const health = await call(base, 'GET', '/health');
      assert.deepEqual([health.status, health.body], [200, ''], `${base}/health`);
      assert.equal((await call(base, 'GET', '/version')).status, 200);
    }
    for (const base of [a, b]) {
      const stream = await request(`${base}/v2/events`);
      assert.equal(stream.headers['x-marathon-leader'], a, `the event stream of ${base} names the leader too`);
      stream.body.destroy();
    }

    const acknowledged: string[] = [];
    const events = await SseStream.open(b);
    const created = await call(b, 'POST', '/v2/apps', { body: { id: '/through-standby', cmd: 'sleep 1', instances: 0 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.headers['x-marathon-leader'], a);
    acknowledged.push('/through-standby');
    await waitFor('the app\'s event through the standby\'s proxied stream', () => (events.frames.some((f) => f.event === 'api_post_event' && f.data.appDefinition?.id === '/through-standby') ? true : undefined));
    assert.deepEqual(events.violations, []);
    await events.close();
    assert.equal((await call(a, 'GET', '/v2/apps/through-standby')).status, 200, 'the app was created on the leader');
    const listed = await call(b, 'GET', '/v2/apps?embed=apps.tasks');
    assert.deepEqual((listed.body as { apps: Array<{ id: string }> }).apps.map((app) => app.id), ['/through-standby'], 'the query string goes through too');
    // DNS rebinding: the leader sees the standby's address as Host, so the standby checks the name asked for itself.
    const rebound = await call(b, 'GET', '/v2/apps', { headers: { host: `evil.example:${portB}` } });
    assert.equal(rebound.status, 403, 'a rebound name is refused by the standby too');
    assert.match(String((rebound.body as { message?: string }).message), /Host evil\.example:\d+ is not a name this scheduler answers to/);
    assert.equal((await call(b, 'GET', '/v2/apps', { headers: { host: `localhost:${portB}` } })).status, 200);
    for (let n = 1; n <= 5; n += 1) {
      const answer = await call(a, 'POST', '/v2/apps', { body: { id: `/acked-${n}`, cmd: 'sleep 1', instances: 0 } });
      assert.equal(answer.status, 201);
      acknowledged.push(`/acked-${n}`);
    }

    const loop = await call(b, 'GET', '/v2/apps', { headers: { 'x-marathon-via': `127.0.0.1:9, 127.0.0.1:${portB}` } });
    assert.equal(loop.status, 502);
    assert.match((loop.body as { message: string }).message, /proxy loop/);

    leaderA.child.kill('SIGKILL');
    await leaderA.exited;
    await waitFor('the standby to be elected', async () => {
      const info = await call(b, 'GET', '/v2/info');
      return info.status === 200 && (info.body as { elected?: boolean }).elected === true ? true : undefined;
    }, 20000);
    const after = await call(b, 'GET', '/v2/leader');
    assert.deepEqual(after.body, { leader: `127.0.0.1:${portB}` });
    assert.equal(after.headers['x-marathon-leader'], b);
    const apps = ((await call(b, 'GET', '/v2/apps')).body as { apps: Array<{ id: string }> }).apps.map((app) => app.id).sort();
    assert.deepEqual(apps, [...acknowledged].sort(), 'every acknowledged app is there');
    const write = await call(b, 'POST', '/v2/apps', { body: { id: '/after-failover', cmd: 'sleep 1', instances: 0 } });
    assert.equal(write.status, 201, JSON.stringify(write.body));

    // The old leader comes back as a standby; DELETE /v2/leader (sent through it, so proxied) hands the lead back to it.
    const standbyA = await start('scheduler-a2', portA);
    assert.equal(standbyA.ready.standby, true);
    const abdicated = await call(a, 'DELETE', '/v2/leader');
    assert.deepEqual([abdicated.status, abdicated.body], [200, { message: 'Leadership abdicated' }]);
    await waitFor('the first scheduler to lead again', async () => {
      const info = await call(a, 'GET', '/v2/info');
      return info.status === 200 && (info.body as { elected?: boolean }).elected === true ? true : undefined;
    }, 20000);
    const infoAfter = (await call(b, 'GET', '/v2/info')).body as { elected: boolean; leader: string };
    assert.deepEqual([infoAfter.elected, infoAfter.leader], [false, `127.0.0.1:${portA}`], 'the abdicated leader serves as a standby');
    const appsAfter = ((await call(b, 'GET', '/v2/apps')).body as { apps: Array<{ id: string }> }).apps.map((app) => app.id).sort();
    assert.deepEqual(appsAfter, [...acknowledged, '/after-failover'].sort());
  } finally {
    for (const part of parts) {
      if (part.child.exitCode === null && part.child.signalCode === null) part.child.kill('SIGKILL');
      await part.exited;
    }
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
