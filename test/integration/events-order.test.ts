import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AgentCluster, type EventLog, type Json } from '../support/agent-cluster.ts';
import type { DiscoverySnapshot } from '../../src/events/types.ts';
import { comparable, fold, snapshot, type SseFrame } from '../support/events-stream.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Ordering per app and per task on a real scheduler and a real agent: a task's status updates
 * arrive in the order its states can follow one another, and an app's api_post_event comes
 * before the deployment_info of the deployment it started.
 */

let c: AgentCluster;
let events: EventLog;

before(async () => {
  c = await AgentCluster.start('events-order');
  events = await c.events();
  await c.startAgent();
});

after(async () => {
  await c?.stop();
});

/** Where a state sits in a task's life; a task never moves to a lower rank. */
const RANK: Record<string, number> = {
  TASK_STAGING: 0, TASK_STARTING: 1, TASK_RUNNING: 2, TASK_KILLING: 3,
  TASK_FINISHED: 4, TASK_FAILED: 4, TASK_KILLED: 4, TASK_LOST: 4, TASK_GONE: 4,
};

test('status updates of each task arrive in state order; each api_post_event precedes its deployment_info', { timeout: 60_000 }, async () => {
  const apps = ['/order/a', '/order/b', '/order/c'];
  const cmd = `sleep 1000; : ${c.marker}`;
  // Three apps at once, then a rolling restart (a config change) of each, then scale to zero.
  await Promise.all(apps.map((id) => c.postApp({ id, cmd, instances: 2, cpus: 0.05, mem: 16 })));
  await Promise.all(apps.map((id) => c.running(id, 2)));
  await waitFor('the first deployments to finish', async () => ((await c.get('/v2/deployments')) as unknown as Json[]).length === 0 ? true : undefined, 30_000);
  for (const id of apps) {
    const { status } = await c.call('PUT', `/v2/apps${id}`, { env: { ROUND: '2' } });
    assert.equal(status, 200);
  }
  await waitFor('the rolling restarts to finish', async () => ((await c.get('/v2/deployments')) as unknown as Json[]).length === 0 ? true : undefined, 30_000);
  for (const id of apps) {
    const { status } = await c.call('PUT', `/v2/apps${id}`, { instances: 0 });
    assert.equal(status, 200);
  }
  await waitFor('every task to be gone', async () => ((await c.tasks()).length === 0 ? true : undefined), 20_000);
  // The scale-downs' deployment_success comes with the evaluation after the last task ends.
  await waitFor('the scale-downs to finish', async () => ((await c.get('/v2/deployments')) as unknown as Json[]).length === 0 ? true : undefined, 20_000);
  const { eventId: last } = await snapshot(c.master);
  await waitFor('the stream to reach the snapshot', () => ((events.events.at(-1)?.id ?? 0) >= last || events.events.some((e) => (e.id ?? 0) >= last) ? true : undefined));

  const committed = events.events.filter((e) => e.id !== undefined);
  for (let i = 1; i < committed.length; i += 1) assert.ok((committed[i]?.id ?? 0) > (committed[i - 1]?.id ?? 0), 'ids increase');

  // Per task: STAGING first, then never back to an earlier state, ending terminal.
  const byTask = new Map<string, string[]>();
  for (const e of committed.filter((x) => x.type === 'status_update_event')) {
    byTask.set(String(e.data.taskId), [...(byTask.get(String(e.data.taskId)) ?? []), String(e.data.taskStatus)]);
  }
  assert.equal(byTask.size, 12, `2 tasks × 3 apps, twice: ${[...byTask.keys()].join(', ')}`);
  for (const [taskId, states] of byTask) {
    // (TASK_STAGING is not sent today: see the last test.)
    assert.ok(states[0] === 'TASK_STAGING' || states[0] === 'TASK_STARTING', `${taskId}: ${states.join(' > ')}`);
    assert.ok(states.includes('TASK_RUNNING'), `${taskId}: ${states.join(' > ')}`);
    for (let i = 1; i < states.length; i += 1) {
      assert.ok((RANK[states[i] ?? ''] ?? -1) >= (RANK[states[i - 1] ?? ''] ?? 99), `${taskId}: ${states.join(' > ')}`);
    }
    assert.equal(RANK[states.at(-1) ?? ''], 4, `${taskId} ends terminal: ${states.join(' > ')}`);
  }

  // Per app: every api_post_event is followed by the deployment_info of a plan acting on that
  // app, before that plan's deployment_success; a plan's events come info < step success < success.
  for (const id of apps) {
    const posts = committed.filter((e) => e.type === 'api_post_event' && e.data.appDefinition?.id === id);
    assert.equal(posts.length, 3, `${id}: POST, config change, scale`);
    for (const post of posts) {
      const info = committed.find((e) => e.type === 'deployment_info' && (e.id ?? 0) > (post.id ?? 0)
        && (e.data.plan.steps as Json[]).some((s) => (s.actions as Json[]).some((a) => a.app === id)));
      assert.ok(info !== undefined, `${id}: a deployment_info after api_post_event ${String(post.id)}`);
      const planId = String(info.data.plan.id);
      const success = committed.find((e) => e.type === 'deployment_success' && e.data.id === planId);
      assert.ok(success !== undefined && (success.id ?? 0) > (info.id ?? 0), `${id}: deployment_success of ${planId} after its info`);
      const firstStatus = committed.find((e) => e.type === 'status_update_event' && e.data.appId === id && (e.id ?? 0) > (post.id ?? 0));
      if (firstStatus !== undefined) assert.ok((firstStatus.id ?? 0) > (info.id ?? 0), `${id}: tasks of a deployment move only after its deployment_info`);
    }
  }
});

test('a snapshot taken while a task is staging equals the fold of the events up to its id', { timeout: 30_000 }, async () => {
  // Hold the agent so the scheduler's launch stays unanswered: the instance sits in TASK_STAGING.
  const agent = c.agents[0]?.part.child;
  assert.ok(agent?.pid !== undefined);
  agent.kill('SIGSTOP');
  let staged: DiscoverySnapshot;
  try {
    await c.postApp({ id: '/order/staged', cmd: `sleep 1000; : ${c.marker}`, instances: 1, cpus: 0.05, mem: 16 });
    staged = await waitFor('a staging task in the snapshot', async () => {
      const s = await snapshot(c.master);
      return s.tasks.some((t) => t.appId === '/order/staged' && t.state === 'TASK_STAGING') ? s : undefined;
    }, 1_500);
  } finally {
    agent.kill('SIGCONT');
  }
  await waitFor('the stream to reach the snapshot', () => (events.events.some((e) => (e.id ?? 0) >= staged.eventId) ? true : undefined));
  const upTo: SseFrame[] = events.events
    .filter((e) => e.id !== undefined && e.id <= staged.eventId)
    .map((e) => ({ id: e.id, event: e.type, data: e.data, at: 0 }));
  const folded = comparable(fold({ eventId: 0, apps: [], tasks: [] }, upTo));
  // A consumer that started from this snapshot and one that folded every event must agree.
  assert.deepEqual(folded.tasks.filter((t) => t.appId === '/order/staged'), comparable(staged).tasks.filter((t) => t.appId === '/order/staged'));
  await c.running('/order/staged', 1);
  // Running is not yet deployed: the deployment ends at the next evaluation, and until then a change is a 409.
  await waitFor('the deployment of /order/staged to finish', async () => {
    const { json } = await c.call('GET', '/v2/apps/order/staged');
    return (json.app.deployments as unknown[]).length === 0 ? true : undefined;
  });
  const { status } = await c.call('PUT', '/v2/apps/order/staged', { instances: 0 });
  assert.equal(status, 200);
});
