import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { request } from 'undici';
import type { PartProcess } from '../../src/cli/child-process.ts';
import { formatPortRanges } from '../../src/scheduler/core/mesos-state.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';
import { stopAll } from '../support/processes.ts';

const MARKER = `corral-mesos-state-${randomUUID()}`;
const dir = tempDir('corral-mesos-state-');
const running: PartProcess[] = [];

after(async () => {
  assert.deepEqual(await stopAll(running, dir, MARKER), [], 'no task process outlives its agent');
});

async function call(base: string, method: string, path: string, body?: unknown) {
  const response = await request(`${base}${path}`, { method: method as 'GET', ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const text = await response.body.text();
  const json = String(response.headers['content-type']).startsWith('application/json') ? JSON.parse(text) : undefined;
  return { status: response.statusCode, headers: response.headers, text, json: json as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const NOT_REGISTERED = 'the /master and /metrics routes are not registered: in src/scheduler/api/server.ts add '
  + '`registerMasterStateRoutes(app, context);` and `registerMetricsRoutes(app, context);` (imports from ./master-state.ts and ./metrics.ts)';

test('a real scheduler and agent: Mesos-DNS can read /master/state, Prometheus /metrics', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  running.push(await startPart('scheduler', ['scheduler', '--listen', `127.0.0.1:${port}`, '--data-dir', `${dir}/scheduler`], dir));
  const portsBase = 20000 + 1000 * Math.floor(Math.random() * 10);
  running.push(await startPart('agent', ['agent', '--master', base, '--ip', '127.0.0.11', '--hostname', 'node-a', '--work-dir', `${dir}/agent`, '--resources', `cpus:2;mem:1024;ports:[${portsBase}-${portsBase + 99}]`], dir));

  const probe = await call(base, 'GET', '/master/state.json');
  assert.notEqual(probe.status, 404, NOT_REGISTERED);
  assert.notEqual((await call(base, 'GET', '/metrics')).status, 404, NOT_REGISTERED);

  const posted = await call(base, 'POST', '/v2/apps', {
    id: '/itest/mesos/web',
    cmd: `sleep 1000; : ${MARKER}`,
    cpus: 0.1,
    mem: 16,
    labels: { team: 'core' },
    portDefinitions: [{ port: 0, name: 'http', protocol: 'tcp' }, { port: 0, protocol: 'udp,tcp' }],
  });
  assert.equal(posted.status, 201, posted.text);
  const [task] = await waitFor('the task to run', async () => {
    const { json } = await call(base, 'GET', '/v2/apps/itest/mesos/web/tasks');
    return json.tasks.length === 1 && json.tasks[0].state === 'TASK_RUNNING' ? json.tasks : undefined;
  });
  // Connected means heard from lately: wait for the agent to show active before comparing bodies.
  const stateJson = await waitFor('the agent to show active', async () => {
    const { status, json } = await call(base, 'GET', '/master/state.json');
    assert.equal(status, 200);
    return json.slaves[0]?.active === true ? json : undefined;
  });
  const frameworkId = (await call(base, 'GET', '/v2/info')).json.frameworkId;

  // What Mesos-DNS reads.
  assert.equal(stateJson.leader, `master@127.0.0.1:${port}`);
  assert.deepEqual(stateJson.leader_info.address, { hostname: '127.0.0.1', ip: '127.0.0.1', port });
  assert.equal(stateJson.slaves.length, 1);
  const [slave] = stateJson.slaves;
  assert.equal(slave.id, task.slaveId);
  assert.equal(slave.hostname, 'node-a');
  assert.match(slave.pid, /^slave\(1\)@127\.0\.0\.11:\d+$/);
  assert.equal(stateJson.frameworks.length, 1);
  const [framework] = stateJson.frameworks;
  assert.equal(framework.id, frameworkId);
  assert.equal(framework.name, 'marathon');
  assert.equal(framework.pid, `scheduler(1)@127.0.0.1:${port}`);
  assert.equal(framework.hostname, '127.0.0.1');
  assert.equal(framework.tasks.length, 1);
  const [mesosTask] = framework.tasks;
  assert.equal(mesosTask.id, task.id);
  assert.equal(mesosTask.name, 'web.mesos.itest');
  assert.equal(mesosTask.framework_id, frameworkId);
  assert.equal(mesosTask.slave_id, task.slaveId);
  assert.equal(mesosTask.state, 'TASK_RUNNING');
  assert.equal(mesosTask.resources.ports, formatPortRanges(task.ports));
  assert.match(mesosTask.resources.ports, /^\[\d+-\d+(, \d+-\d+)*\]$/);
  assert.deepEqual(mesosTask.labels, [{ key: 'team', value: 'core' }]);
  const runningStatus = mesosTask.statuses.find((s: { state: string }) => s.state === 'TASK_RUNNING');
  assert.ok(runningStatus !== undefined, JSON.stringify(mesosTask.statuses));
  assert.equal(typeof runningStatus.timestamp, 'number');
  assert.ok(Math.abs(runningStatus.timestamp - Date.parse(task.startedAt) / 1000) < 0.001, 'seconds since the epoch, as Mesos');
  assert.deepEqual(runningStatus.container_status, { network_infos: [{ ip_addresses: [{ ip_address: '127.0.0.11' }] }] });
  assert.deepEqual(mesosTask.discovery, {
    visibility: 'FRAMEWORK',
    name: 'web.mesos.itest',
    ports: { ports: [{ number: task.ports[0], name: 'http', protocol: 'tcp' }, { number: task.ports[1], protocol: 'udp' }, { number: task.ports[1], protocol: 'tcp' }] },
  });

  const alias = await call(base, 'GET', '/master/state');
  assert.equal(alias.status, 200);
  assert.deepEqual(alias.json, stateJson, '/master/state and /master/state.json are one document');

  for (const path of ['/master/redirect', '/redirect']) {
    const redirect = await call(base, 'GET', path);
    assert.equal(redirect.status, 307, path);
    assert.equal(redirect.headers.location, `//127.0.0.1:${port}`, `${path}: scheme-relative, as Mesos`);
  }
  await checkMesosEndpoints(base, port, stateJson, task.id);

  const metrics = await call(base, 'GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(String(metrics.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  for (const line of [
    'corral_scheduler_apps 1',
    'corral_scheduler_instances{state="TASK_RUNNING"} 1',
    'corral_scheduler_agents{connection="connected"} 1',
    'corral_scheduler_http_requests_total{method="GET",route="/master/state.json",status="200"}',
    'corral_scheduler_http_requests_total{method="POST",route="/v2/apps",status="201"} 1',
  ]) {
    assert.ok(metrics.text.includes(line), `/metrics has ${line}`);
  }
  assert.match(metrics.text, /^process_cpu_user_seconds_total \d/m, 'process default metrics');
  assert.match(metrics.text, /^corral_scheduler_last_event_id [1-9]\d*$/m);
  assert.match(metrics.text, /^corral_scheduler_transaction_duration_seconds_count [1-9]\d*$/m, 'every durable write is timed');
  // This scheduler started empty: the events it counted are every event up to the last id.
  const counted = [...metrics.text.matchAll(/^corral_scheduler_events_total\{type="(\w+)"\} (\d+)$/gm)];
  assert.ok(counted.some(([, type, n]) => type === 'api_post_event' && Number(n) === 1), 'events counted by type');
  assert.equal(counted.reduce((sum, [, , n]) => sum + Number(n), 0), Number(/^corral_scheduler_last_event_id (\d+)$/m.exec(metrics.text)?.[1]));

  assert.equal((await call(base, 'DELETE', '/v2/apps/itest/mesos/web')).status, 200);
  const [completed] = await waitFor('the killed task to show in completed_tasks', async () => {
    const { json } = await call(base, 'GET', '/master/state.json');
    return json.frameworks[0].tasks.length === 0 && json.frameworks[0].completed_tasks.length === 1 ? json.frameworks[0].completed_tasks : undefined;
  });
  assert.equal(completed.id, task.id);
  assert.equal(completed.state, 'TASK_KILLED');
  assert.deepEqual(completed.statuses.map((s: { state: string }) => s.state), ['TASK_RUNNING', 'TASK_KILLED']);
  assert.deepEqual((await call(base, 'GET', `/master/tasks?task_id=${task.id}`)).json.tasks.map((t: { state: string }) => t.state), ['TASK_KILLED']);
  const after = (await call(base, 'GET', '/metrics/snapshot')).json;
  assert.equal(after['master/tasks_killed'], 1);
  assert.equal(after['master/tasks_running'], 0);
});

/** The Mesos endpoints besides /master/state, against the document it gave (one running task). */
async function checkMesosEndpoints(base: string, port: number, stateJson: Record<string, any>, taskId: string): Promise<void> { // eslint-disable-line @typescript-eslint/no-explicit-any
  for (const path of ['/state', '/state.json']) {
    const { status, json } = await call(base, 'GET', path);
    assert.equal(status, 200, path);
    assert.deepEqual({ ...json, slaves: undefined }, { ...stateJson, slaves: undefined }, `${path} is /master/state`);
  }
  assert.equal(stateJson.version, '0.1.0');
  assert.deepEqual([typeof stateJson.build_date, typeof stateJson.build_time, typeof stateJson.build_user], ['string', 'number', 'string']);
  assert.deepEqual(stateJson.capabilities, []);
  assert.equal(stateJson.unreachable_slaves, 0);
  assert.equal(stateJson.flags.listen, `127.0.0.1:${port}`);
  assert.equal(stateJson.flags.max_completed_tasks_per_framework, '1000');
  assert.ok(Object.values(stateJson.flags).every((v) => typeof v === 'string'), 'Mesos flags are strings');

  const slaves = await call(base, 'GET', '/master/slaves');
  assert.equal(slaves.status, 200);
  assert.deepEqual(slaves.json.slaves.map((s: { id: string }) => s.id), stateJson.slaves.map((s: { id: string }) => s.id));
  assert.deepEqual(slaves.json.recovered_slaves, []);

  const frameworks = (await call(base, 'GET', '/master/frameworks')).json;
  assert.deepEqual(Object.keys(frameworks).sort(), ['completed_frameworks', 'frameworks', 'unregistered_frameworks']);
  assert.deepEqual(frameworks.frameworks[0].tasks.map((t: { id: string }) => t.id), [taskId]);

  const tasks = await call(base, 'GET', '/master/tasks?limit=5&order=asc');
  assert.equal(tasks.status, 200);
  assert.deepEqual(tasks.json.tasks.map((t: { id: string; state: string }) => [t.id, t.state]), [[taskId, 'TASK_RUNNING']]);
  assert.deepEqual((await call(base, 'GET', '/master/tasks?offset=1')).json, { tasks: [] });
  assert.deepEqual((await call(base, 'GET', '/master/tasks?framework_id=other')).json, { tasks: [] });

  const roles = (await call(base, 'GET', '/master/roles')).json;
  assert.deepEqual(roles.roles.map((r: { name: string; allocated: unknown }) => [r.name, r.allocated]), [['*', { cpus: 0.1, mem: 16 }]]);

  const summary = (await call(base, 'GET', '/master/state-summary')).json;
  assert.equal(summary.hostname, '127.0.0.1');
  assert.equal(summary.slaves[0].TASK_RUNNING, 1);
  assert.equal(summary.frameworks[0].TASK_RUNNING, 1);
  assert.deepEqual(summary.frameworks[0].slave_ids, [stateJson.slaves[0].id]);

  const metrics = await call(base, 'GET', '/metrics/snapshot');
  assert.equal(metrics.status, 200);
  for (const [name, value] of Object.entries({ 'master/elected': 1, 'master/tasks_running': 1, 'master/tasks_staging': 0, 'master/slaves_active': 1, 'master/slaves_connected': 1, 'master/cpus_total': 2, 'master/cpus_used': 0.1, 'master/mem_total': 1024, 'master/mem_used': 16 })) {
    assert.equal(metrics.json[name], value, name);
  }
  assert.ok(metrics.json['master/uptime_secs'] > 0);

  const version = await call(base, 'GET', '/version');
  assert.deepEqual(Object.keys(version.json).sort(), ['build_date', 'build_time', 'build_user', 'version']);
  assert.equal(version.json.version, '0.1.0');

  for (const path of ['/health', '/master/health']) {
    const health = await call(base, 'GET', path);
    assert.deepEqual([health.status, health.text], [200, ''], path);
  }
  const flags = await call(base, 'GET', '/flags');
  assert.deepEqual(flags.json, { flags: stateJson.flags });
  assert.deepEqual((await call(base, 'GET', '/master/flags')).json, flags.json);
}
