import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { App } from '../../src/ui/core/marathon.ts';
import { portLabel, reachView, type ReachAnswer } from '../../src/ui/core/reach.ts';

const app: Pick<App, 'portDefinitions' | 'tasks'> = {
  portDefinitions: [{ port: 10000, name: 'http' }, { port: 10001 }],
  tasks: [{ id: 't1', appId: '/web', host: '127.0.0.11', ports: [31000, 31001], state: 'TASK_RUNNING', version: 'v' }],
};
const OFF: ReachAnswer['lb'] = { configured: false };

test('portLabel names the port when its definition does', () => {
  const cases: [number, string][] = [[0, 'port 0 "http"'], [1, 'port 1'], [7, 'port 7']];
  for (const [index, expected] of cases) assert.equal(portLabel(app, index), expected);
});

test('reachView: DNS names grouped per name, SRV rows labelled with the app port, agent names last', () => {
  const cases: [name: string, dns: ReachAnswer['dns'], expected: unknown][] = [
    ['not configured', { configured: false }, { state: 'off', text: 'No DNS API is configured (the scheduler\'s --dns-api).' }],
    ['unreachable', { configured: true, api: 'http://x', error: 'DNS API unreachable: ECONNREFUSED' }, { state: 'error', text: 'DNS API unreachable: ECONNREFUSED' }],
    ['no instance', { configured: true, api: 'http://x', domain: 'mesos', instances: 0, records: [], skipped: [] },
      { state: 'ok', addresses: [], services: [], note: 'No records: no instance is running (records appear for running instances).' }],
    ['records', {
      configured: true, api: 'http://x', domain: 'mesos', instances: 2, skipped: [],
      records: [
        { name: 'web.marathon.slave.mesos', type: 'A', address: '127.0.0.11' },
        { name: 'web.marathon.mesos', type: 'A', address: '127.0.0.12' },
        { name: 'web.marathon.mesos', type: 'A', address: '127.0.0.11' },
        { name: '_web._tcp.marathon.mesos', type: 'SRV', target: 'web-a.marathon.mesos.', port: 31000 },
        { name: '_http._web._tcp.marathon.mesos', type: 'SRV', target: 'web-a.marathon.mesos.', port: 31000 },
        { name: '_web._udp.marathon.mesos', type: 'SRV', target: 'web-a.marathon.mesos.', port: 31001 },
      ],
    }, {
      state: 'ok',
      addresses: [
        { name: 'web.marathon.mesos', values: ['127.0.0.11', '127.0.0.12'], agent: false },
        { name: 'web.marathon.slave.mesos', values: ['127.0.0.11'], agent: true },
      ],
      services: [
        { name: '_http._web._tcp.marathon.mesos', values: ['web-a.marathon.mesos:31000'], agent: false, port: 'port 0 "http"' },
        { name: '_web._tcp.marathon.mesos', values: ['web-a.marathon.mesos:31000'], agent: false, port: 'port 0 "http"' },
        { name: '_web._udp.marathon.mesos', values: ['web-a.marathon.mesos:31001'], agent: false, port: 'port 1' },
      ],
    }],
  ];
  for (const [name, dns, expected] of cases) assert.deepEqual(reachView(app, { appId: '/web', dns, lb: OFF }).dns, expected, name);
});

test('reachView: LB service ports and vhosts labelled with the app port; rejected routes in words', () => {
  const cases: [name: string, lb: ReachAnswer['lb'], expected: unknown][] = [
    ['not configured', { configured: false }, { state: 'off', text: 'No LB API is configured (the scheduler\'s --lb-api).' }],
    ['error', { configured: true, api: 'http://y', error: 'LB API answered 500' }, { state: 'error', text: 'LB API answered 500' }],
    ['not routed', { configured: true, api: 'http://y', servicePorts: [], vhosts: [], rejected: [] },
      { state: 'ok', ports: [], vhosts: [], rejected: [], note: 'The LB routes none of its ports (HAPROXY_GROUP and HAPROXY_{n}_VHOST labels choose them).' }],
    ['routed', {
      configured: true, api: 'http://y',
      servicePorts: [{ servicePort: 10000, portIndex: 0, mode: 'http', backends: 2, draining: 0 }, { servicePort: 10001, portIndex: 1, mode: 'tcp', bindAddr: '10.0.0.1', backends: 0, draining: 0 }],
      vhosts: [{ host: 'web.test', path: '/api', servicePort: 10000, portIndex: 0 }],
      rejected: [{ portIndex: 1, reason: 'udp-only port' }],
      listening: { http: '127.0.0.1:8081' },
    }, {
      state: 'ok',
      ports: [
        { servicePort: 10000, portIndex: 0, mode: 'http', backends: 2, draining: 0, label: 'port 0 "http"', address: '127.0.0.1:10000' },
        { servicePort: 10001, portIndex: 1, mode: 'tcp', bindAddr: '10.0.0.1', backends: 0, draining: 0, label: 'port 1', address: '10.0.0.1:10001' },
      ],
      vhosts: [{ host: 'web.test', path: '/api', servicePort: 10000, portIndex: 0, url: 'web.test/api', label: 'port 0 "http"', try: "curl -H 'Host: web.test' http://127.0.0.1:8081/api" }],
      rejected: ['port 1: udp-only port'],
    }],
    ['routed, the LB not saying where it listens', {
      configured: true, api: 'http://y', servicePorts: [{ servicePort: 10000, portIndex: 0, mode: 'http', backends: 0, draining: 0 }], vhosts: [{ host: 'web.test', servicePort: 10000, portIndex: 0 }], rejected: [],
    }, {
      state: 'ok',
      ports: [{ servicePort: 10000, portIndex: 0, mode: 'http', backends: 0, draining: 0, label: 'port 0 "http"', address: 'the LB:10000' }],
      vhosts: [{ host: 'web.test', servicePort: 10000, portIndex: 0, url: 'web.test', label: 'port 0 "http"' }],
      rejected: [],
    }],
  ];
  for (const [name, lb, expected] of cases) assert.deepEqual(reachView(app, { appId: '/web', dns: { configured: false }, lb }).lb, expected, name);
});
