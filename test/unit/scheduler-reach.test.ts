import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dnsReach, lbReach, MAX_ITEMS, type Fetched } from '../../src/scheduler/core/reach.ts';

const DNS = 'http://127.0.0.1:8123';
const LB = 'http://127.0.0.1:9090';

test('dnsReach: not configured, unreachable, an error in its words, or the records it makes sense of', () => {
  const cases: [name: string, api: string | undefined, fetched: Fetched | undefined, expected: unknown][] = [
    ['no --dns-api', undefined, undefined, { configured: false }],
    ['refused', DNS, { failure: 'ECONNREFUSED' }, { configured: true, api: DNS, error: 'DNS API unreachable: ECONNREFUSED' }],
    ['timed out', DNS, { failure: 'no answer within 2000 ms' }, { configured: true, api: DNS, error: 'DNS API unreachable: no answer within 2000 ms' }],
    ['404 with a message', DNS, { status: 404, body: { message: 'no route for GET /corral/v1/apps/x' } }, { configured: true, api: DNS, error: 'DNS API answered 404: no route for GET /corral/v1/apps/x' }],
    ['500 without JSON', DNS, { status: 500, body: undefined }, { configured: true, api: DNS, error: 'DNS API answered 500' }],
    ['200 not an object', DNS, { status: 200, body: [1] }, { configured: true, api: DNS, error: 'DNS API answered something other than a JSON object' }],
    ['records, odd ones dropped', DNS, {
      status: 200,
      body: {
        domain: 'mesos', instances: 1, skipped: [{ taskId: 't2', reason: 'no IP' }],
        records: [
          { name: 'web.marathon.mesos', type: 'A', address: '127.0.0.11' },
          { name: '_web._tcp.marathon.mesos', type: 'SRV', target: 'web-x.marathon.mesos.', port: 31000 },
          { name: 'bad', type: 'SRV', target: 'x.' },
          { name: 'bad', type: 'MX' },
          'junk',
        ],
      },
    }, {
      configured: true, api: DNS, domain: 'mesos', instances: 1, skipped: [{ taskId: 't2', reason: 'no IP' }],
      records: [
        { name: 'web.marathon.mesos', type: 'A', address: '127.0.0.11' },
        { name: '_web._tcp.marathon.mesos', type: 'SRV', target: 'web-x.marathon.mesos.', port: 31000 },
      ],
    }],
  ];
  for (const [name, api, fetched, expected] of cases) assert.deepEqual(dnsReach(api, fetched), expected, name);
});

test('lbReach: the service ports, vhosts and rejected routes; failures in words; lists bounded', () => {
  const many = Array.from({ length: MAX_ITEMS + 10 }, (_, i) => ({ host: `h${i}.test`, servicePort: 10000, portIndex: 0 }));
  const cases: [name: string, api: string | undefined, fetched: Fetched | undefined, check: (reach: ReturnType<typeof lbReach>) => void][] = [
    ['no --lb-api', undefined, { status: 200, body: {} }, (r) => assert.deepEqual(r, { configured: false })],
    ['refused', LB, { failure: 'ECONNREFUSED' }, (r) => assert.deepEqual(r, { configured: true, api: LB, error: 'LB API unreachable: ECONNREFUSED' })],
    ['routes', LB, {
      status: 200,
      body: {
        servicePorts: [{ servicePort: 10000, portIndex: 0, mode: 'http', backends: 2, draining: 0 }, { portIndex: 1 }],
        vhosts: [{ host: 'web.test', path: '/api', servicePort: 10000, portIndex: 0 }],
        rejected: [{ portIndex: 1, reason: 'udp-only port' }],
        listening: { http: '127.0.0.1:80', https: 7 },
      },
    }, (r) => assert.deepEqual(r, {
      configured: true, api: LB,
      servicePorts: [{ servicePort: 10000, portIndex: 0, mode: 'http', backends: 2, draining: 0 }],
      vhosts: [{ host: 'web.test', path: '/api', servicePort: 10000, portIndex: 0 }],
      rejected: [{ portIndex: 1, reason: 'udp-only port' }],
      listening: { http: '127.0.0.1:80' },
    })],
    ['bounded', LB, { status: 200, body: { vhosts: many } }, (r) => assert.equal('vhosts' in r ? r.vhosts.length : -1, MAX_ITEMS)],
  ];
  for (const [name, api, fetched, check] of cases) {
    try {
      check(lbReach(api, fetched));
    } catch (err) {
      assert.fail(`${name}: ${(err as Error).message}`);
    }
  }
});
