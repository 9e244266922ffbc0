import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pino } from 'pino';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { ClusterFollower } from '../../src/events/client.ts';
import type { ClusterView } from '../../src/events/core/view.ts';
import { pidsOf, randomPortsBase } from '../support/agent-cluster.ts';
import { callJson, Churn, comparable, removeCgroupParent, snapshot } from '../support/events-stream.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The ClusterFollower (what DNS and LB use) against a real scheduler that is killed -9 and
 * restarted on the same data dir and port while apps change and a real agent runs tasks: its
 * view must end equal to a fresh snapshot.
 */

const dir = tempDir('corral-events-follower-');
const marker = `corral-events-follower-${randomUUID()}`;
const cgroupsParent = `corral-it-${marker.slice(-8)}`;
const running: PartProcess[] = [];
let follower: ClusterFollower | undefined;
let churn: Churn | undefined;

after(async () => {
  follower?.close();
  await churn?.stop();
  // Agent first, so it stops its tasks while the scheduler is still there.
  await stopParts(running.filter((p) => p.name === 'agent'), 5000);
  await stopParts(running.filter((p) => p.name !== 'agent'), 5000);
  removeCgroupParent(cgroupsParent);
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  await waitFor('no task process left', () => (pidsOf(marker).length === 0 ? true : undefined), 5000).catch(() => undefined);
  assert.deepEqual(pidsOf(marker), [], 'no task process outlives its agent');
});

test('the follower view equals a fresh snapshot after kill -9 and restart of the scheduler mid-churn', { timeout: 90_000 }, async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const schedulerArgs = ['scheduler', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'scheduler'), '--agent-timeout', '10s'];
  let scheduler = await startPart('scheduler', schedulerArgs, dir);
  running.push(scheduler);
  const ports = randomPortsBase();
  running.push(await startPart('agent', ['agent', '--master', base, '--ip', '127.0.0.11', '--work-dir', join(dir, 'agent'),
    '--cgroups-parent', cgroupsParent, '--resources', `cpus:2;mem:1024;disk:1000;ports:[${ports}-${ports + 99}]`], dir));
  const posted = await callJson(base, 'POST', '/v2/apps', { id: '/follow/web', cmd: `sleep 1000; : ${marker}`, instances: 2, cpus: 0.05, mem: 16, labels: { HAPROXY_GROUP: 'external' } });
  assert.equal(posted.status, 201);

  const views: ClusterView[] = [];
  follower = new ClusterFollower({
    masters: [base],
    logger: pino({ level: 'info' }, pino.destination({ dest: join(dir, 'follower.log'), sync: true })),
    onView: (view) => views.push(view),
    maxBackoffMs: 500,
  });
  follower.start();
  await waitFor('the follower to sync', () => (follower?.synced === true ? true : undefined));

  // Apps change all the time; /follow/web scales between 1 and 3 tasks on the real agent.
  churn = new Churn(() => base, { prefix: '/follow/churn', workers: 2, scaled: '/follow/web', pauseMs: 10 });
  await waitFor('the follower to see changes', () => ((follower?.view.eventId ?? 0) > 60 ? true : undefined), 20_000);

  scheduler.child.kill('SIGKILL');
  await scheduler.exited;
  running.splice(running.indexOf(scheduler), 1);
  const commitsBefore = churn.commits;
  scheduler = await startPart('scheduler', schedulerArgs, dir);
  running.push(scheduler);
  const resumedFrom = (await snapshot(base)).eventId;
  await waitFor('changes to go through again', () => (churn !== undefined && churn.commits > commitsBefore + 30 ? true : undefined), 20_000);
  await waitFor('the follower to follow the restarted scheduler', () => ((follower?.view.eventId ?? 0) > resumedFrom + 60 ? true : undefined), 30_000);
  await churn.stop();
  // Leave /follow/web at two tasks and let them run, so the cluster settles.
  assert.ok((await callJson(base, 'PUT', '/v2/apps/follow/web?force=true', { instances: 2 })).status < 300);
  await waitFor('two running tasks', async () => {
    const tasks = (await callJson(base, 'GET', '/v2/apps/follow/web/tasks')).json.tasks as Array<{ state: string }>;
    return tasks.length === 2 && tasks.every((t) => t.state === 'TASK_RUNNING') ? true : undefined;
  }, 20_000);

  // The view ends equal to a fresh snapshot: apps and tasks (the follower subscribes to the
  // discovery types only, so its eventId may trail the snapshot's).
  let last: ReturnType<typeof comparable> | undefined;
  let wanted: ReturnType<typeof comparable> | undefined;
  try {
    await waitFor('the follower view to equal a fresh snapshot', async () => {
      wanted = comparable(await snapshot(base));
      last = comparable(follower?.view ?? { eventId: 0, apps: new Map(), tasks: new Map() });
      return JSON.stringify([last.apps, last.tasks]) === JSON.stringify([wanted.apps, wanted.tasks]) ? true : undefined;
    }, 15_000);
  } catch (err) {
    assert.deepEqual({ apps: last?.apps, tasks: last?.tasks }, { apps: wanted?.apps, tasks: wanted?.tasks }, (err as Error).message);
  }
  assert.ok((wanted?.tasks.length ?? 0) === 2 && (wanted?.apps.length ?? 0) >= 1);
  assert.ok(churn.commits > 30, `churn committed ${churn.commits} changes`);
  // It did lose the stream and come back (not just poll snapshots).
  const log = readFileSync(join(dir, 'follower.log'), 'utf8');
  assert.ok(log.split('\n').filter((l) => l.includes('event stream open')).length >= 2, 'the follower reopened its stream');
  // Views only ever move forward.
  for (let i = 1; i < views.length; i += 1) assert.ok((views[i]?.eventId ?? 0) >= (views[i - 1]?.eventId ?? 0), 'view ids never go back');
});
