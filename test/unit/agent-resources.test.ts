import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAttributes, parseResources } from '../../src/agent/core/resources.ts';
import { buildTaskEnv } from '../../src/agent/core/task-env.ts';

test('resources: Mesos syntax', async (t) => {
  const cases = [
    { in: 'cpus:4;mem:4096;disk:10000', out: [{ name: 'cpus', role: '*', scalar: 4 }, { name: 'mem', role: '*', scalar: 4096 }, { name: 'disk', role: '*', scalar: 10000 }] },
    { in: 'ports:[33000-33100,31000-32000]', out: [{ name: 'ports', role: '*', ranges: [{ begin: 31000, end: 32000 }, { begin: 33000, end: 33100 }] }] },
    { in: 'disks:{a, b}', out: [{ name: 'disks', role: '*', set: ['a', 'b'] }] },
    { in: 'cpus(prod):2;cpus(*):2', out: [{ name: 'cpus', role: 'prod', scalar: 2 }, { name: 'cpus', role: '*', scalar: 2 }] },
    { in: ' cpus:0.5 ; ', out: [{ name: 'cpus', role: '*', scalar: 0.5 }] },
  ];
  for (const c of cases) await t.test(c.in, () => assert.deepEqual(parseResources(c.in), c.out));
});

test('resources: a malformed string names the bad part (ERR_AGENT_BAD_RESOURCE)', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['cpus:four', /'cpus:four'.*not a non-negative number/],
    ['cpus', /'cpus'.*name:value/],
    ['ports:[32000-31000]', /'32000-31000' is not a range/],
    ['ports:[1-10,5-20]', /overlap/],
    ['ports:[1-70000]', /not a range/],
    ['mem:-1', /non-negative/],
    ['cpus:1;cpus:2', /given twice/],
    ['disks:{a,}', /empty set item/],
  ];
  for (const [input, message] of cases) await t.test(input, () => assert.throws(() => parseResources(input), { name: 'AgentError', code: 'ERR_AGENT_BAD_RESOURCE', message }));
});

test('attributes: numbers stay numbers', () => {
  assert.deepEqual(parseAttributes('rack:a;zone:1;ssd:true'), { rack: 'a', zone: 1, ssd: 'true' });
  assert.throws(() => parseAttributes('rack'), { name: 'AgentError', code: 'ERR_AGENT_BAD_ATTRIBUTE', message: /bad attribute 'rack'/ });
});

test('task environment: Mesos and Marathon variables, then the app env wins', () => {
  const env = buildTaskEnv(
    {
      taskId: 'web.1', appId: '/web', version: 'v1', cmd: 'x', env: { PORT: 'mine', EXTRA: '1' }, labels: { 'haproxy-group': 'external' },
      ports: [31000, 31001], portNames: ['http', null], cpus: 0.5, mem: 64, disk: 0, killGracePeriodMs: 3000, fetch: [], healthChecks: [],
    },
    '127.0.0.11', '/sandbox/web.1', { PATH: '/bin' },
  );
  assert.deepEqual(env, {
    PATH: '/bin', HOST: '127.0.0.11', MESOS_TASK_ID: 'web.1', MESOS_SANDBOX: '/sandbox/web.1',
    MARATHON_APP_ID: '/web', MARATHON_APP_VERSION: 'v1', MARATHON_APP_RESOURCE_CPUS: '0.5', MARATHON_APP_RESOURCE_MEM: '64', MARATHON_APP_RESOURCE_DISK: '0',
    PORT0: '31000', PORT_HTTP: '31000', PORT1: '31001', PORT: 'mine', PORTS: '31000,31001',
    MARATHON_APP_LABELS: 'HAPROXY_GROUP', MARATHON_APP_LABEL_HAPROXY_GROUP: 'external', EXTRA: '1',
  });
});
