import assert from 'node:assert/strict';
import { test } from 'node:test';
import { definitionOf, formOf, NEW_APP_FORM, parsePairs, type AppForm } from '../../src/ui/core/app-form.ts';

const form = (over: Partial<AppForm>): AppForm => ({ ...NEW_APP_FORM, ...over });

test('definitionOf: a new app from the form (table-driven)', () => {
  const cases: [name: string, form: AppForm, expected: Record<string, unknown>][] = [
    ['the defaults', form({ id: ' /web ', cmd: 'serve' }), { id: '/web', cmd: 'serve', instances: 1, cpus: 0.1, mem: 64, portDefinitions: [{ port: 0, name: 'http' }] }],
    ['a bad number goes as typed (the API words it)', form({ id: '/a', cpus: '-1', mem: 'lots' }), { id: '/a', instances: 1, cpus: -1, mem: 'lots', portDefinitions: [{ port: 0, name: 'http' }] }],
    ['an HTTP check needs a path', form({ id: '/a', healthPath: '/health' }), {
      id: '/a', instances: 1, cpus: 0.1, mem: 64, portDefinitions: [{ port: 0, name: 'http' }],
      healthChecks: [{ protocol: 'HTTP', path: '/health', portIndex: 0, intervalSeconds: 2, gracePeriodSeconds: 30 }],
    }],
    ['TCP, args, disk, image, env, labels, constraints, two ports', form({
      id: '/a', args: 'nginx\n-g\ndaemon off;', disk: '100', image: 'nginx:1.27', ports: '0 http\n8125 metrics udp', healthProtocol: 'TCP', healthPath: '/ignored',
      env: 'A=1\nB = two=2', labels: 'team=blue', constraints: 'hostname:UNIQUE\nagent:LIKE:a:b',
    }), {
      id: '/a', args: ['nginx', '-g', 'daemon off;'], instances: 1, cpus: 0.1, mem: 64, disk: 100,
      container: { type: 'DOCKER', docker: { image: 'nginx:1.27' } },
      portDefinitions: [{ port: 0, name: 'http' }, { port: 8125, name: 'metrics', protocol: 'udp' }],
      healthChecks: [{ protocol: 'TCP', portIndex: 0, intervalSeconds: 2, gracePeriodSeconds: 30 }],
      env: { A: '1', B: 'two=2' }, labels: { team: 'blue' }, constraints: [['hostname', 'UNIQUE'], ['agent', 'LIKE', 'a:b']],
    }],
    ['no ports', form({ id: '/a', ports: '' }), { id: '/a', instances: 1, cpus: 0.1, mem: 64, portDefinitions: [] }],
  ];
  for (const [name, f, expected] of cases) assert.deepEqual(definitionOf(f), expected, name);
});

test('formOf then definitionOf: an edit keeps what the form does not show, and changes what it does', () => {
  const base = {
    id: '/web', cmd: 'serve', instances: 2, cpus: 0.5, mem: 128,
    container: { type: 'MESOS', docker: { image: 'web:1', forcePullImage: true }, volumes: [] },
    portDefinitions: [{ port: 10000, name: 'http', protocol: 'tcp', labels: { VIP: 'x' } }],
    healthChecks: [{ protocol: 'MESOS_HTTP', path: '/h', portIndex: 0, intervalSeconds: 5, gracePeriodSeconds: 60, timeoutSeconds: 3 }, { protocol: 'TCP', portIndex: 0 }],
    env: { A: '1' }, labels: {}, constraints: [['hostname', 'UNIQUE']], upgradeStrategy: { minimumHealthCapacity: 0.5 },
  };
  const shown = formOf(base);
  assert.deepEqual(shown, {
    id: '/web', cmd: 'serve', args: '', instances: '2', cpus: '0.5', mem: '128', disk: '', image: 'web:1', ports: '10000 http tcp',
    healthProtocol: 'HTTP', healthPath: '/h', healthInterval: '5', healthGrace: '60', env: 'A=1', labels: '', constraints: 'hostname:UNIQUE',
  });
  const cases: [name: string, change: Partial<AppForm>, expected: Record<string, unknown>][] = [
    ['unchanged', {}, base],
    ['scaled, image and check changed', { instances: '3', image: 'web:2', healthPath: '/ready' }, {
      ...base, instances: 3,
      container: { type: 'MESOS', docker: { image: 'web:2', forcePullImage: true }, volumes: [] },
      healthChecks: [{ protocol: 'MESOS_HTTP', path: '/ready', portIndex: 0, intervalSeconds: 5, gracePeriodSeconds: 60, timeoutSeconds: 3 }, { protocol: 'TCP', portIndex: 0 }],
    }],
    ['image, check and constraints removed', { image: '', healthProtocol: 'none', constraints: '', env: '' }, (() => {
      const { container: _container, ...rest } = base;
      return { ...rest, healthChecks: [{ protocol: 'TCP', portIndex: 0 }], constraints: [], env: {} };
    })()],
  ];
  for (const [name, change, expected] of cases) assert.deepEqual(definitionOf({ ...shown, ...change }, base), expected, name);
});

test('parsePairs: KEY=value lines', () => {
  const cases: [string, Record<string, string>][] = [['', {}], ['A=1\n\n B = 2 \nC', { A: '1', B: '2', C: '' }], ['URL=http://x/?a=b', { URL: 'http://x/?a=b' }]];
  for (const [input, expected] of cases) assert.deepEqual(parsePairs(input), expected, input);
});

test('formOf: ports one a line, `-` for a port without a name before its protocol', () => {
  const cases: [unknown[], string][] = [
    [[], ''],
    [[{ port: 0, name: 'http' }], '0 http'],
    [[{ port: 0 }, { port: 8125, protocol: 'udp' }, { port: 9000, name: 'x', protocol: 'udp,tcp' }], '0\n8125 - udp\n9000 x udp,tcp'],
  ];
  for (const [portDefinitions, expected] of cases) {
    assert.equal(formOf({ portDefinitions }).ports, expected);
    assert.deepEqual(definitionOf({ ...NEW_APP_FORM, ports: expected }).portDefinitions, portDefinitions, expected);
  }
});
