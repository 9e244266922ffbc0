import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { startAuthScheduler } from '../support/auth-scheduler.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

const clusters: AgentCluster[] = [];
const parts: PartProcess[] = [];
const dirs: string[] = [];
const servers: Server[] = [];
after(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    server.close();
  }
  for (const cluster of clusters) await cluster.stop();
  await stopParts(parts, 5000);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Received {
  eventId: number;
  contentType: string | undefined;
  event: Json;
}

/**
 * The subscribers' side: one HTTP server on 127.0.0.1 with a receiver per path: `/good` answers
 * 200, `/fail` 500, `/hang` never answers.
 */
async function receivers(): Promise<{ url: (path: string) => string; received: Map<string, Received[]> }> {
  const received = new Map<string, Received[]>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '';
      const list = received.get(path) ?? [];
      received.set(path, list);
      list.push({ eventId: Number(req.headers['corral-event-id']), contentType: req.headers['content-type'], event: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json });
      if (path === '/hang') return;
      res.writeHead(path === '/fail' ? 500 : 200).end();
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: (path) => `http://127.0.0.1:${port}${path}`, received };
}

const types = (list: readonly Received[] | undefined): string[] => (list ?? []).map((r) => String(r.event.eventType));

test('event subscriptions: callbacks in order, a hanging or failing subscriber slows nothing and is dropped, kept across a restart', { timeout: 90_000 }, async () => {
  const { url, received } = await receivers();
  const cluster = await AgentCluster.start('event-subs', { schedulerArgs: ['--event-callback-timeout', '300ms', '--event-callback-drop-after', '2s'] });
  clusters.push(cluster);
  const subscribe = (callbackUrl: string): ReturnType<AgentCluster['call']> => cluster.call('POST', `/v2/eventSubscriptions?callbackUrl=${encodeURIComponent(callbackUrl)}`);

  for (const bad of ['', '?callbackUrl=ftp%3A%2F%2F127.0.0.1%2Fx', '?callbackUrl=%2Frelative', `?callbackUrl=http%3A%2F%2F127.0.0.1%2F${'x'.repeat(3000)}`]) {
    const refused = await cluster.call('POST', `/v2/eventSubscriptions${bad}`);
    assert.equal(refused.status, 422, bad);
    assert.equal(refused.json.message, 'Object is not valid');
    assert.equal((refused.json.details as Json[])[0]?.path, '/callbackUrl');
  }

  const good = url('/good');
  const added = await subscribe(good);
  assert.equal(added.status, 200, JSON.stringify(added.json));
  assert.deepEqual(Object.keys(added.json).sort(), ['callbackUrl', 'clientIp', 'eventType', 'timestamp']);
  assert.deepEqual([added.json.callbackUrl, added.json.clientIp, added.json.eventType], [good, '127.0.0.1', 'subscribe_event']);
  assert.deepEqual((await cluster.get('/v2/eventSubscriptions')).callbackUrls, [good]);

  await cluster.postApp({ id: '/cb/web', cmd: 'sleep 1000', instances: 0 });
  const first = await waitFor('the app\'s deployment to reach /good', () => (types(received.get('/good')).includes('deployment_success') ? received.get('/good') : undefined));
  assert.deepEqual(types(first), ['subscribe_event', 'api_post_event', 'group_change_success', 'deployment_info', 'deployment_step_success', 'deployment_success']);
  assert.ok(first.every((r, i) => r.contentType === 'application/json' && (i === 0 || r.eventId > (first[i - 1]?.eventId ?? 0))), 'JSON POSTs, in event order');
  assert.equal(first[1]?.event.appDefinition.id, '/cb/web');

  // Two bad subscribers: one never answers, one answers 500. The scheduler's writes and /ping stay fast meanwhile.
  for (const path of ['/hang', '/fail']) assert.equal((await subscribe(url(path))).status, 200);
  for (let i = 1; i <= 6; i += 1) {
    const started = performance.now();
    const put = await cluster.call('PUT', '/v2/apps/cb/web?force=true', { instances: 0, labels: { round: String(i) } });
    assert.equal(put.status, 200, JSON.stringify(put.json));
    const ping = await fetch(`${cluster.master}/ping`);
    assert.equal(await ping.text(), 'pong');
    const ms = performance.now() - started;
    assert.ok(ms < 2000, `a write and a ping took ${Math.round(ms)} ms while a subscriber hangs`);
  }
  assert.ok((received.get('/hang')?.length ?? 0) >= 1, 'the hanging subscriber was tried');
  // Dropped after failing for 2 s (at least 5 times): gone from the list, announced, counted.
  await waitFor('the failing subscribers to be dropped', async () => (JSON.stringify((await cluster.get('/v2/eventSubscriptions')).callbackUrls) === JSON.stringify([good]) ? true : undefined), 20_000);
  const dropped = await waitFor('/good to hear of both drops', () => {
    const list = (received.get('/good') ?? []).filter((r) => r.event.eventType === 'unsubscribe_event');
    return list.length === 2 ? list : undefined;
  });
  assert.deepEqual(dropped.map((r) => r.event.callbackUrl).sort(), [url('/fail'), url('/hang')]);
  assert.ok(dropped.every((r) => String(r.event.reason).startsWith('dropped by the scheduler')));
  assert.ok((received.get('/fail')?.length ?? 0) >= 5, 'retried before it was dropped');
  assert.equal(types(received.get('/good')).filter((t) => t === 'api_post_event').length, 7, 'the good subscriber got every write meanwhile');
  const metrics = await (await fetch(`${cluster.master}/metrics`)).text();
  assert.match(metrics, /^corral_scheduler_event_callback_subscribers_dropped_total 2$/m);
  assert.match(metrics, /^corral_scheduler_event_callback_subscribers\{status="ok"\} 1$/m);
  assert.doesNotMatch(metrics, /127\.0\.0\.1:\d+\/good/, 'no callback URL in the metrics');

  // Kept across a restart, and delivering again after it.
  await cluster.restartScheduler();
  assert.deepEqual((await cluster.get('/v2/eventSubscriptions')).callbackUrls, [good]);
  await cluster.postApp({ id: '/cb/after-restart', cmd: 'sleep 1000', instances: 0 });
  await waitFor('a callback after the restart', () => (received.get('/good') ?? []).some((r) => r.event.eventType === 'api_post_event' && r.event.appDefinition.id === '/cb/after-restart') || undefined);

  const removed = await cluster.call('DELETE', `/v2/eventSubscriptions?callbackUrl=${encodeURIComponent(good)}`);
  assert.equal(removed.status, 200);
  assert.deepEqual([removed.json.callbackUrl, removed.json.eventType], [good, 'unsubscribe_event']);
  assert.deepEqual((await cluster.get('/v2/eventSubscriptions')).callbackUrls, []);
  const before = received.get('/good')?.length ?? 0;
  await cluster.postApp({ id: '/cb/unheard', cmd: 'sleep 1000', instances: 0 });
  const events = await cluster.events();
  await events.waitFor('deployment_success', (e) => JSON.stringify(e.plan).includes('/cb/unheard'));
  assert.equal(received.get('/good')?.length ?? 0, before, 'nothing is sent after DELETE');
});

test('--auth: only a cluster admin lists, registers or removes event subscriptions', { timeout: 60_000 }, async () => {
  const { url } = await receivers();
  const dir = tempDir('corral-event-subs-auth-');
  dirs.push(dir);
  const { part, base, admin, tokenFor } = await startAuthScheduler(dir);
  parts.push(part);
  const team = await tokenFor('team-a', [{ actions: ['create', 'read', 'update', 'delete'], path: '/' }]);
  const path = `/v2/eventSubscriptions?callbackUrl=${encodeURIComponent(url('/good'))}`;

  for (const method of ['POST', 'GET', 'DELETE']) assert.equal((await marathonCall(base, method, path, undefined, team)).status, 403, `${method} by a non-admin`);
  assert.equal((await marathonCall(base, 'POST', path, undefined)).status, 401);
  assert.equal((await marathonCall(base, 'POST', path, undefined, admin)).status, 200);
  assert.deepEqual((await marathonCall(base, 'GET', '/v2/eventSubscriptions', undefined, admin)).json.callbackUrls, [url('/good')]);
  assert.equal((await marathonCall(base, 'DELETE', path, undefined, admin)).status, 200);
});
