import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startCorral, type RunningCorral } from '../support/corral-up.ts';
import { dig } from '../support/dig.ts';
import { waitFor } from '../support/wait.ts';
import { pidsOf } from '../support/processes.ts';

/**
 * The whole loop through real processes and sockets: app JSON → scheduler → agents running real
 * processes → events → DNS answers (dig over UDP) and LB routes (HTTP) → scale, crash, delete.
 */

// Each task is a small HTTP server; /crash makes it exit with status 3. The marker lets the
// test find stray processes after `corral up` has stopped.
const MARKER = `corral-it-${randomUUID()}`;
const SERVER = `exec node -e "const m='${MARKER}'; require('http').createServer((q, r) => { if (q.url === '/crash') process.exit(3); r.end(process.env.MESOS_TASK_ID + ' ' + process.env.GREETING); }).listen(+process.env.PORT0, process.env.HOST)"`;
const example = JSON.parse(readFileSync(new URL('../../config/examples/hello.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const HELLO: Record<string, unknown> = { ...example, cmd: SERVER };
const VHOST = 'hello.corral.localhost';

// Response and event bodies are checked field by field against Marathon's shapes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

let corral: RunningCorral;
let api: (method: string, path: string, body?: unknown) => Promise<{ status: number; headers: Record<string, unknown>; json: Json }>;
const events: Array<{ id: string | undefined; type: string; data: Json }> = [];
let eventStream: AbortController;

interface Task { id: string; host: string; ports: number[]; state: string; servicePorts: number[]; appId: string; startedAt: string | null }

const tasksOf = async (): Promise<Task[]> => (await api('GET', '/v2/apps/hello/tasks')).json.tasks as Task[];
const runningTasks = async (n: number): Promise<Task[] | undefined> => {
  const tasks = await tasksOf();
  return tasks.length === n && tasks.every((t) => t.state === 'TASK_RUNNING') ? tasks : undefined;
};
const lb = async (host: string, path = '/'): Promise<{ status: number; body: string }> => {
  const response = await request(`${corral.urls.lbHttp}${path}`, { headers: { host } });
  return { status: response.statusCode, body: await response.body.text() };
};
const answerIps = (records: string[][]): string[] => records.filter((r) => r[3] === 'A').map((r) => r[4] ?? '').sort();

before(async () => {
  corral = await startCorral();
  api = async (method, path, body) => {
    const response = await request(`${corral.urls.scheduler}${path}`, {
      method: method as 'GET',
      headers: { 'content-type': 'application/json', ...corral.auth },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, json: text === '' ? undefined : JSON.parse(text) };
  };
  // Raw SSE, to check Marathon's framing and Corral's ids on the wire.
  eventStream = new AbortController();
  const response = await request(`${corral.urls.scheduler}/v2/events`, { headers: corral.auth, signal: eventStream.signal });
  assert.equal(response.headers['content-type'], 'text/event-stream');
  void (async () => {
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += (chunk as Buffer).toString();
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) => frame.split('\n').find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2);
          const type = field('event');
          if (type !== undefined) events.push({ id: field('id'), type, data: JSON.parse(String(field('data'))) });
        }
      }
    } catch {
      // aborted at teardown
    }
  })();
});

after(async () => {
  eventStream?.abort();
  const code = await corral?.stop();
  assert.equal(code, 0, 'corral up exits cleanly');
  // Every task process is gone with it.
  const strays = pidsOf(MARKER);
  assert.deepEqual(strays, [], 'no task process outlives corral up');
});

test('bad input gets Marathon errors and changes nothing', async () => {
  const badJson = await api('POST', '/v2/apps', '{"id": "x",');
  assert.equal(badJson.status, 400);
  assert.equal(badJson.json.message, 'Invalid JSON');
  const infinite = await api('POST', '/v2/apps', '{"id": "/inf", "cmd": "x", "instances": 1e400}');
  assert.equal(infinite.status, 400, 'a number JSON cannot store back is refused');
  for (const huge of ['1E+308000', `1${'0'.repeat(400)}`, '-1e0400']) {
    assert.equal((await api('POST', '/v2/apps', `{"id": "/inf", "cmd": "x", "mem": ${huge}}`)).status, 400, huge.slice(0, 12));
  }
  assert.equal((await api('GET', '/v2/apps/inf')).status, 404);
  const invalid = await api('POST', '/v2/apps', { id: '/bad', cmd: 'x', cpus: -1, bogus: true });
  assert.equal(invalid.status, 422);
  assert.equal(invalid.json.message, 'Object is not valid');
  assert.deepEqual(invalid.json.details.map((d: { path: string }) => d.path).sort(), ['/bogus', '/cpus']);
  assert.equal((await api('GET', '/v2/apps/bad')).status, 404);
  assert.equal((await api('GET', '/v2/nothing-here')).json.message.startsWith('Unknown path'), true);
});

test('POST → tasks running on both agents, in Marathon shapes', async () => {
  const created = await api('POST', '/v2/apps', HELLO);
  assert.equal(created.status, 201);
  assert.equal(created.json.id, '/hello');
  assert.equal(typeof created.headers['marathon-deployment-id'], 'string');
  assert.deepEqual(created.json.deployments, [{ id: created.headers['marathon-deployment-id'] }]);
  const servicePort = created.json.portDefinitions[0].port as number;
  assert.ok(servicePort >= 10000 && servicePort <= 20000);

  const tasks = await waitFor('2 running tasks', () => runningTasks(2));
  assert.deepEqual(tasks.map((t) => t.host).sort(), ['127.0.0.11', '127.0.0.12'], 'spread over both agents');
  for (const task of tasks) {
    assert.match(task.id, /^hello\.[0-9a-f-]{36}$/);
    assert.equal(task.appId, '/hello');
    assert.deepEqual(task.servicePorts, [servicePort]);
    assert.equal(typeof task.startedAt, 'string');
    // TASK_RUNNING means spawned (no health checks yet): the server may still be starting.
    const body = await waitFor(`${task.id} to listen`, async () => (await request(`http://${task.host}:${task.ports[0]}/`)).body.text());
    assert.equal(body, `${task.id} hello`, 'the task got its environment');
  }
  const listed = await api('GET', '/v2/apps?embed=apps.tasks');
  assert.equal(listed.json.apps[0].tasks.length, 2);
  assert.equal(listed.json.apps[0].tasksRunning, 2);
  assert.deepEqual(listed.json.apps[0].labels, HELLO.labels);
  assert.equal((await api('GET', '/v2/tasks')).json.tasks.length, 2);
  await waitFor('the deployment to finish', async () => ((await api('GET', '/v2/deployments')).json.length === 0 ? true : undefined));
});

test('DNS answers A and SRV for the app, NXDOMAIN with SOA otherwise', async () => {
  const tasks = await runningTasks(2);
  assert.ok(tasks);
  const a = await waitFor('A records', async () => {
    const result = await dig(corral.urls.dns, 'hello.marathon.mesos');
    return answerIps(result.answer).length === 2 ? result : undefined;
  }, 2000);
  assert.deepEqual(answerIps(a.answer), ['127.0.0.11', '127.0.0.12']);
  assert.ok(a.flags.includes('aa'), 'authoritative');
  const srv = await dig(corral.urls.dns, '_hello._tcp.marathon.mesos', 'SRV');
  assert.deepEqual(srv.answer.map((r) => Number(r[6])).sort(), tasks.map((t) => t.ports[0]).sort());
  const missing = await dig(corral.urls.dns, 'nope.marathon.mesos');
  assert.equal(missing.status, 'NXDOMAIN');
  assert.equal(missing.authority[0]?.[3], 'SOA');
});

test('the LB routes the vhost round robin and answers 503 for unknown hosts', async () => {
  const tasks = await runningTasks(2);
  assert.ok(tasks);
  await waitFor('the vhost route', async () => ((await lb(VHOST)).status === 200 ? true : undefined), 2000);
  const seen = new Set<string>();
  for (let i = 0; i < 6; i += 1) {
    const response = await lb(i % 2 === 0 ? VHOST : `${VHOST.toUpperCase()}:9080`);
    assert.equal(response.status, 200);
    seen.add(response.body.split(' ')[0] ?? '');
  }
  assert.deepEqual([...seen].sort(), tasks.map((t) => t.id).sort());
  assert.equal((await lb('unknown.example')).status, 503);
});

test('the event stream carried the loop, Marathon-framed, with increasing ids', async () => {
  const types = new Set(events.map((e) => e.type));
  for (const type of ['event_stream_attached', 'api_post_event', 'deployment_info', 'status_update_event', 'deployment_success']) {
    assert.ok(types.has(type), `saw ${type}`);
  }
  const ids = events.filter((e) => e.id !== undefined).map((e) => Number(e.id));
  assert.deepEqual(ids, [...ids].sort((x, y) => x - y));
  assert.equal(new Set(ids).size, ids.length);
  const running = events.find((e) => e.type === 'status_update_event' && e.data.taskStatus === 'TASK_RUNNING');
  assert.equal(running?.data.eventType, 'status_update_event');
  assert.equal(running?.data.appId, '/hello');
  assert.match(running?.data.timestamp, /^\d{4}-\d\d-\d\dT/);
});

test('a task that exits is replaced, and its failure is reported', async () => {
  const before = await runningTasks(2);
  assert.ok(before);
  const victim = before[0]!;
  await request(`http://${victim.host}:${victim.ports[0]}/crash`).catch(() => undefined);
  const replaced = await waitFor('a replacement', async () => {
    const tasks = await runningTasks(2);
    return tasks !== undefined && !tasks.some((t) => t.id === victim.id) ? tasks : undefined;
  });
  assert.equal(replaced.length, 2);
  const failed = events.find((e) => e.type === 'status_update_event' && e.data.taskId === victim.id && e.data.taskStatus === 'TASK_FAILED');
  assert.equal(failed?.data.message, 'Command exited with status 3');
});

test('scaling down kills an instance; DNS and LB follow within a second', async () => {
  const scaled = await api('PUT', '/v2/apps/hello', { instances: 1 });
  assert.equal(scaled.status, 200);
  assert.equal(scaled.json.deploymentId, scaled.headers['marathon-deployment-id']);
  const [survivor] = await waitFor('one running task', () => runningTasks(1));
  assert.ok(survivor);
  await waitFor('DNS to drop the killed instance', async () => {
    const ips = answerIps((await dig(corral.urls.dns, 'hello.marathon.mesos')).answer);
    return ips.length === 1 && ips[0] === survivor.host ? true : undefined;
  }, 1000);
  for (let i = 0; i < 4; i += 1) {
    const response = await lb(VHOST);
    assert.equal(response.body.split(' ')[0], survivor.id);
  }
  const killed = events.find((e) => e.type === 'status_update_event' && e.data.taskStatus === 'TASK_KILLED');
  assert.ok(killed, 'the agent reported TASK_KILLED');
});

test('deleting the app stops its tasks; DNS and LB forget it', async () => {
  await waitFor('the scale deployment to finish', async () => ((await api('GET', '/v2/deployments')).json.length === 0 ? true : undefined));
  const deleted = await api('DELETE', '/v2/apps/hello');
  assert.equal(deleted.status, 200);
  await waitFor('NXDOMAIN', async () => ((await dig(corral.urls.dns, 'hello.marathon.mesos')).status === 'NXDOMAIN' ? true : undefined), 1000);
  await waitFor('503 from the LB', async () => ((await lb(VHOST)).status === 503 ? true : undefined), 1000);
  await waitFor('no tasks', async () => ((await api('GET', '/v2/tasks')).json.tasks.length === 0 ? true : undefined));
  assert.equal((await api('GET', '/v2/apps/hello')).status, 404);
});

test('tasks still running when corral up stops are stopped with it (checked in teardown)', async () => {
  const posted = await api('POST', '/v2/apps', { ...HELLO, id: '/keeper', instances: 4, labels: {} });
  assert.equal(posted.status, 201);
  await waitFor('4 running keepers', async () => {
    const { json } = await api('GET', '/v2/apps/keeper/tasks');
    return json.tasks.length === 4 && json.tasks.every((t: Task) => t.state === 'TASK_RUNNING') ? true : undefined;
  });
});
