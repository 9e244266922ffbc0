import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appRoutes, findServicePortPool, findVhostPool, hostOfRequest, pathOfRequest, type AppRoutes } from '../../src/lb/core/route-lookup.ts';
import { buildRoutingTable } from '../../src/lb/core/routing-table.ts';
import { app, task, view } from '../support/lb-fixtures.ts';

test('hostOfRequest lower-cases and drops a :port suffix', () => {
  const cases: [string | undefined, string | undefined][] = [
    ['shop.example.com', 'shop.example.com'],
    ['Shop.Example.COM', 'shop.example.com'],
    ['shop.example.com:1234', 'shop.example.com'],
    ['shop.example.com:', 'shop.example.com'],
    ['[::1]:8080', '[::1]'],
    ['[::1]', '[::1]'],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [header, expected] of cases) assert.equal(hostOfRequest(header), expected, String(header));
});

test('pathOfRequest handles origin and absolute form', () => {
  const cases: [string | undefined, string][] = [
    ['/a/b?x=1', '/a/b'],
    ['/a#frag', '/a'],
    ['http://host:80/a/b?q', '/a/b'],
    ['http://host', '/'],
    ['*', '*'],
    [undefined, '/'],
  ];
  for (const [target, expected] of cases) assert.equal(pathOfRequest(target), expected, String(target));
});

test('findVhostPool matches host, then the longest path prefix', () => {
  const table = buildRoutingTable(
    view(
      [
        app('/root', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'x.com,www.x.com' }, [10001]),
        app('/api', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'x.com', HAPROXY_0_PATH: '/api' }, [10002]),
        app('/ci', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'ci.com', HAPROXY_0_PATH: '-i /Admin' }, [10003]),
      ],
      [],
    ),
    { groups: ['g'] },
  );
  const cases: [host: string | undefined, url: string, app: string | undefined][] = [
    ['x.com', '/', '/root'],
    ['X.COM:8080', '/api/users', '/api'],
    ['x.com', '/apix', '/api'], // path_beg is a plain prefix
    ['www.x.com', '/api', '/root'],
    ['ci.com', '/admin/panel', '/ci'],
    ['ci.com', '/other', undefined],
    ['unknown.com', '/', undefined],
    [undefined, '/', undefined],
  ];
  for (const [host, url, expected] of cases) {
    assert.equal(findVhostPool(table, host, url)?.appId, expected, `${host} ${url}`);
  }
  assert.equal(findServicePortPool(table, 10002)?.appId, '/api');
  assert.equal(findServicePortPool(table, 9), undefined);
});

test('appRoutes: one app\'s service ports, vhost rules and rejected routes', () => {
  const table = buildRoutingTable(
    view(
      [
        app('/root', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'x.com,www.x.com' }, [10001]),
        app('/api', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'x.com', HAPROXY_0_PATH: '/api', HAPROXY_1_GROUP: 'g', HAPROXY_1_MODE: 'tcp', HAPROXY_1_VHOST: 'no.com' }, [10002, 10003]),
      ],
      [task('/api', 1, [31000, 31001])],
    ),
    { groups: ['g'] },
  );
  const cases: [appId: string, expected: AppRoutes][] = [
    ['/root', {
      appId: '/root',
      servicePorts: [{ servicePort: 10001, portIndex: 0, mode: 'http', backends: 0, draining: 0 }],
      vhosts: [{ host: 'www.x.com', servicePort: 10001, portIndex: 0 }, { host: 'x.com', servicePort: 10001, portIndex: 0 }],
      rejected: [],
    }],
    ['/api', {
      appId: '/api',
      servicePorts: [{ servicePort: 10002, portIndex: 0, mode: 'http', backends: 1, draining: 0 }],
      vhosts: [{ host: 'x.com', path: '/api', servicePort: 10002, portIndex: 0 }],
      rejected: [{ portIndex: 1, reason: 'HAPROXY_1_VHOST needs http mode, but HAPROXY_1_MODE is tcp' }],
    }],
    ['/none', { appId: '/none', servicePorts: [], vhosts: [], rejected: [] }],
  ];
  for (const [appId, expected] of cases) assert.deepEqual(appRoutes(table, appId), expected, appId);
});
