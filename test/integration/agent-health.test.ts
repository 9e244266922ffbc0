import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { AgentCluster, type EventLog, type Json, type StartedAgent } from '../support/agent-cluster.ts';
import { waitFor } from '../support/wait.ts';

let c: AgentCluster;
let agent: StartedAgent;
let events: EventLog;

before(async () => {
  c = await AgentCluster.start('agent-health');
  events = await c.events();
  agent = await c.startAgent();
});

after(async () => {
  await c?.stop();
});

/** A web server task on PORT0: healthy until /fail, listening until /close. */
const SERVER = `
const http = require('http');
let failing = false;
const server = http.createServer((req, res) => {
  if (req.url === '/fail') { failing = true; res.end('failing from now on'); return; }
  if (req.url === '/close') { res.end('closing'); server.close(); server.closeIdleConnections(); return; }
  res.statusCode = failing ? 503 : 200;
  res.end(failing ? 'sick' : 'ok');
});
server.listen(Number(process.env.PORT0), process.env.HOST);
`;

const FAST = { intervalSeconds: 0.2, delaySeconds: 0, timeoutSeconds: 1 };

/** Node needs room: tasks run in cgroups with their app's mem as a hard limit. */
const serverApp = (id: string, check: Json): Json => ({
  id, args: [process.execPath, '-e', SERVER, c.marker], cpus: 0.2, mem: 128, healthChecks: [{ ...FAST, ...check }],
});

const app = async (id: string): Promise<Json> => (await c.get(`/v2/apps${id}`)).app as Json;

/** Waits until GET /v2/apps/{id} shows these health counts. */
function counts(id: string, healthy: number, unhealthy: number, timeoutMs = 10_000): Promise<Json> {
  return waitFor(`${id} with tasksHealthy ${healthy} and tasksUnhealthy ${unhealthy}`, async () => {
    const a = await app(id);
    return a.tasksHealthy === healthy && a.tasksUnhealthy === unhealthy ? a : undefined;
  }, timeoutMs);
}

async function poke(task: Json, path: string): Promise<void> {
  const response = await request(`http://${String(task.host)}:${Number(task.ports[0])}${path}`);
  assert.equal(response.statusCode, 200);
  await response.body.dump();
}

test('HTTP check: healthy, then failing; after maxConsecutiveFailures the task is killed and replaced', { timeout: 30_000 }, async () => {
  await c.postApp(serverApp('/web', { protocol: 'HTTP', path: '/health', gracePeriodSeconds: 1, maxConsecutiveFailures: 2 }));
  const [task] = await c.running('/web', 1);
  assert.ok(task);
  await counts('/web', 1, 0);
  await events.waitFor('health_status_changed_event', (e) => e.taskId === task.id && e.alive === true);
  await events.waitFor('instance_health_changed_event', (e) => e.instanceId === task.id && e.healthy === true);

  // Marathon's healthCheckResults, on /v2/tasks as on /v2/apps/{id}/tasks.
  const [listed] = (await c.tasks()).filter((t) => t.id === task.id);
  const [result] = (listed?.healthCheckResults ?? []) as Json[];
  assert.ok(result);
  assert.deepEqual(Object.keys(result).sort(), ['alive', 'consecutiveFailures', 'firstSuccess', 'instanceId', 'lastFailure', 'lastFailureCause', 'lastSuccess']);
  assert.equal(result.alive, true);
  assert.equal(result.consecutiveFailures, 0);
  assert.equal(result.instanceId, task.id);
  assert.ok(!Number.isNaN(Date.parse(String(result.firstSuccess))) && !Number.isNaN(Date.parse(String(result.lastSuccess))));
  assert.equal(result.lastFailure, null);

  await poke(task, '/fail');
  await counts('/web', 0, 1); // between the first failure and the kill
  await events.waitFor('health_status_changed_event', (e) => e.taskId === task.id && e.alive === false);
  await events.waitFor('instance_health_changed_event', (e) => e.instanceId === task.id && e.healthy === false);
  const kill = await events.waitFor('unhealthy_instance_kill_event', (e) => e.taskId === task.id);
  assert.equal(kill.appId, '/web');
  assert.match(String(kill.reason), /HTTP health check failed 2 times/);
  await events.waitFor('status_update_event', (e) => e.taskId === task.id && e.taskStatus === 'TASK_KILLED');

  const [replacement] = await waitFor('a healthy replacement', async () => {
    const tasks = await c.tasks('/web');
    return tasks.length === 1 && tasks[0]?.id !== task.id && (tasks[0]?.healthCheckResults as Json[] | undefined)?.[0]?.alive === true ? tasks : undefined;
  });
  assert.ok(replacement);
  await counts('/web', 1, 0);
});

test('TCP check: alive while the port accepts, dead once it is closed (no kill with maxConsecutiveFailures 0)', { timeout: 30_000 }, async () => {
  await c.postApp(serverApp('/tcp', { protocol: 'TCP', gracePeriodSeconds: 0, maxConsecutiveFailures: 0 }));
  const [task] = await c.running('/tcp', 1);
  assert.ok(task);
  await counts('/tcp', 1, 0);
  await poke(task, '/close');
  await counts('/tcp', 0, 1);
  await events.waitFor('health_status_changed_event', (e) => e.taskId === task.id && e.alive === false);
  const [still] = await c.tasks('/tcp');
  assert.equal(still?.id, task.id, 'the same task keeps running');
  const [result] = (still?.healthCheckResults ?? []) as Json[];
  assert.equal(result?.alive, false);
  assert.ok(Number(result?.consecutiveFailures) >= 1);
  assert.equal(typeof result?.lastFailureCause, 'string');
  assert.deepEqual(events.find('unhealthy_instance_kill_event', (e) => e.taskId === task.id), []);
});

test('COMMAND check runs in the sandbox and flips with a file there', { timeout: 30_000 }, async () => {
  await c.postApp({
    id: '/cmd', cmd: `sleep 1000; : ${c.marker}`,
    healthChecks: [{ ...FAST, protocol: 'COMMAND', command: { value: 'test -f healthy' }, gracePeriodSeconds: 0, maxConsecutiveFailures: 0 }],
  });
  const [task] = await c.running('/cmd', 1);
  assert.ok(task);
  const flag = join(agent.workDir, 'sandboxes', String(task.id), 'healthy');
  await counts('/cmd', 0, 1);

  writeFileSync(flag, '');
  await counts('/cmd', 1, 0);
  await events.waitFor('health_status_changed_event', (e) => e.taskId === task.id && e.alive === true);
  await events.waitFor('instance_health_changed_event', (e) => e.instanceId === task.id && e.healthy === true);

  rmSync(flag);
  await counts('/cmd', 0, 1);
  await events.waitFor('instance_health_changed_event', (e) => e.instanceId === task.id && e.healthy === false && e.timestamp > task.stagedAt);
  const flips = events.find('health_status_changed_event', (e) => e.taskId === task.id).map((e) => e.alive);
  assert.deepEqual(flips.slice(-2), [true, false], 'one event per flip');
  assert.equal((await c.tasks('/cmd'))[0]?.id, task.id, 'never killed: maxConsecutiveFailures 0');
});
