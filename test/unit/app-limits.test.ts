import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../src/scheduler/core/app-definition.ts';
import { assertRefusals, NOW, type RefusalCase } from '../support/scheduler-fixtures.ts';

/**
 * Inputs that Marathon's schema lets through but that would make an app unusable or relaunch it
 * forever (a spawn that cannot succeed, numbers no cluster has): each is a 422 that points at
 * the field. And the no-op forms Marathon 1.5+ itself exports, which must be accepted.
 */
const build = (fields: Record<string, unknown>) => buildApp({ id: '/a', cmd: 'sleep 1', ...fields }, { now: NOW, apps: new Map() });

const KIB = 1024;
const big = (bytes: number): string => 'x'.repeat(bytes);

test('app limits: rejected with a detail at the field', async (t) => {
  const cases: RefusalCase[] = [
    { name: 'instances 1e308', fields: { instances: 1e308 }, path: '/instances', error: /<= 100000/ },
    { name: 'instances one over the limit', fields: { instances: 100_001 }, path: '/instances', error: /<= 100000/ },
    { name: 'cpus beyond any machine', fields: { cpus: 1e12 }, path: '/cpus', error: /<= 10000/ },
    { name: 'mem beyond any machine', fields: { mem: 1e300 }, path: '/mem', error: /<=/ },
    { name: 'disk beyond any machine', fields: { disk: 1e300 }, path: '/disk', error: /<=/ },
    { name: 'too many port definitions', fields: { portDefinitions: Array.from({ length: 1001 }, () => ({ port: 0 })) }, path: '/portDefinitions', error: /more than 1000/ },
    { name: 'too many legacy ports', fields: { ports: Array.from({ length: 1001 }, () => 0) }, path: '/ports', error: /more than 1000/ },
    { name: 'health check interval past a timer', fields: { healthChecks: [{ protocol: 'TCP', intervalSeconds: 1e9 }] }, path: '/healthChecks/0/intervalSeconds', error: /<= 1000000/ },
    { name: 'health check grace period', fields: { healthChecks: [{ protocol: 'TCP', gracePeriodSeconds: 1e300 }] }, path: '/healthChecks/0/gracePeriodSeconds', error: /<=/ },
    { name: 'health check failures', fields: { healthChecks: [{ protocol: 'TCP', maxConsecutiveFailures: 1e15 }] }, path: '/healthChecks/0/maxConsecutiveFailures', error: /<=/ },
    { name: 'readiness interval', fields: { portDefinitions: [{ port: 0, name: 'http-api' }], readinessChecks: [{ intervalSeconds: 1e9 }] }, path: '/readinessChecks/0/intervalSeconds', error: /<=/ },
    { name: 'backoff seconds', fields: { backoffSeconds: 1e300 }, path: '/backoffSeconds', error: /<=/ },
    { name: 'backoff factor', fields: { backoffFactor: 1e300 }, path: '/backoffFactor', error: /<= 100/ },
    { name: 'max launch delay', fields: { maxLaunchDelaySeconds: 1e300 }, path: '/maxLaunchDelaySeconds', error: /<=/ },
    { name: 'kill grace period', fields: { taskKillGracePeriodSeconds: 1e300 }, path: '/taskKillGracePeriodSeconds', error: /<=/ },
    { name: 'deployment timeout', fields: { deploymentTimeoutSeconds: 1e300 }, path: '/deploymentTimeoutSeconds', error: /<=/ },
    { name: 'unreachable expunge', fields: { unreachableStrategy: { inactiveAfterSeconds: 0, expungeAfterSeconds: 1e300 } }, path: '/unreachableStrategy/expungeAfterSeconds', error: /<=/ },
    { name: 'NUL in cmd', fields: { cmd: 'sleep 1\u0000; rm' }, path: '/cmd', error: /NUL/ },
    { name: 'NUL in an arg', fields: { cmd: undefined, args: ['sleep', '1\u0000'] }, path: '/args/1', error: /NUL/ },
    { name: 'NUL in an env value', fields: { env: { A: 'x\u0000y' } }, path: '/env/A', error: /NUL/ },
    { name: 'NUL in an env name', fields: { env: { 'A\u0000B': 'x' } }, path: '/env/A\u0000B', error: /NUL/ },
    { name: 'NUL in a label', fields: { labels: { A: '\u0000' } }, path: '/labels/A', error: /NUL/ },
    { name: 'NUL in user', fields: { user: 'nobody\u0000' }, path: '/user', error: /NUL/ },
    { name: 'NUL in a fetch uri', fields: { fetch: [{ uri: 'http://h/a\u0000.tgz' }] }, path: '/fetch/0/uri', error: /NUL/ },
    { name: 'NUL in a health check command', fields: { healthChecks: [{ protocol: 'COMMAND', command: { value: 'true\u0000' } }] }, path: '/healthChecks/0/command/value', error: /NUL/ },
    { name: 'empty env name', fields: { env: { '': 'x' } }, path: '/env/', error: /name/ },
    { name: 'env name with =', fields: { env: { 'A=B': 'x' } }, path: '/env/A=B', error: /=/ },
    { name: 'an env value beyond one exec string', fields: { env: { BIG: big(200 * KIB) } }, path: '/env/BIG', error: /65536 bytes/ },
    { name: 'a cmd beyond one exec string', fields: { cmd: big(130 * KIB) }, path: '/cmd', error: /65536 bytes/ },
    { name: 'a label beyond one exec string (labels are passed as env)', fields: { labels: { BIG: big(100 * KIB) } }, path: '/labels/BIG', error: /65536 bytes/ },
    {
      name: 'cmd, args and env together beyond 1 MiB',
      fields: { env: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`V${i}`, big(60 * KIB)])) },
      path: '/',
      error: /1048576 bytes/,
    },
    {
      name: 'many small labels beyond 1 MiB once passed as env',
      fields: { labels: Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`l${i}`, ''])) },
      path: '/',
      error: /1048576 bytes/,
    },
    { name: 'last id segment restart', fields: { id: '/shop/restart' }, path: '/id', error: /reserved keywords: restart, tasks, versions/ },
    { name: 'last id segment tasks', fields: { id: 'tasks' }, path: '/id', error: /reserved keywords/ },
    { name: 'last id segment versions', fields: { id: '/a/versions' }, path: '/id', error: /reserved keywords/ },
    { name: 'an id too long for a task id', fields: { id: `/${'a'.repeat(250)}` }, path: '/id', error: /at most 200 characters/ },
    { name: 'duplicate port names', fields: { portDefinitions: [{ port: 0, name: 'http' }, { port: 0, name: 'admin' }, { port: 0, name: 'http' }] }, path: '/portDefinitions/2/name', error: /Port names must be unique/ },
    { name: 'a container network for a command', fields: { networks: [{ mode: 'container', name: 'dcos' }] }, path: '/networks/0/mode', error: /needs a container with an image/ },
    { name: 'a network without a mode (Marathon: container) for a command', fields: { networks: [{ name: 'dcos' }] }, path: '/networks/0/mode', error: /needs a container with an image/ },
    { name: 'a bridge network for a command', fields: { networks: [{ mode: 'container/bridge' }] }, path: '/networks/0/mode', error: /needs a container with an image/ },
    { name: 'a Docker network Corral does not know', fields: { container: { type: 'DOCKER', docker: { image: 'nginx', network: 'NONE' } } }, path: '/container/docker/network', error: /HOST, BRIDGE or USER/ },
    { name: 'a host-path volume and no image', fields: { container: { type: 'MESOS', volumes: [{ containerPath: '/data', hostPath: '/tmp', mode: 'RW' }] } }, path: '/container/volumes', error: /is not supported yet/ },
    { name: 'a container without a type or image (Marathon: DOCKER)', fields: { container: {} }, path: '/container/docker', error: /needs docker.image/ },
  ];
  await assertRefusals(t, cases, build);
});

test('app limits: what a real app (and Marathon 1.5+ export) has is accepted', async (t) => {
  const cases: Array<{ name: string; fields: Record<string, unknown> }> = [
    { name: 'the largest numbers allowed', fields: { instances: 100_000, cpus: 10_000, mem: 64 * 1024 * 1024, disk: 1024 ** 3, backoffFactor: 100, taskKillGracePeriodSeconds: 1_000_000 } },
    { name: 'Marathon 1.5+ networks of a command app', fields: { networks: [{ mode: 'host' }] } },
    { name: 'no networks', fields: { networks: [] } },
    { name: 'container null', fields: { container: null } },
    { name: 'an empty Mesos container', fields: { container: { type: 'MESOS' } } },
    { name: 'an empty Mesos container with empty lists', fields: { container: { type: 'MESOS', volumes: [], portMappings: [] } } },
    { name: 'an env value of 60 KiB and an id of 200 characters', fields: { id: `/${'a'.repeat(199)}`, env: { BIG: big(60 * KIB) } } },
    { name: 'labels with = and - in their names', fields: { labels: { 'a=b': 'c', 'HAPROXY_0_VHOST': 'x.example.com' } } },
    { name: 'ids that only contain a reserved word', fields: { id: '/tasks/restarter' } },
    { name: 'one unnamed and several named ports', fields: { portDefinitions: [{ port: 0 }, { port: 0 }, { port: 0, name: 'http' }] } },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = build(c.fields);
      assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.details).slice(0, 500));
    });
  }
});
