import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findServicePortPool, findVhostPool, hostOfRequest, pathOfRequest } from '../../src/lb/core/route-lookup.ts';
import { buildRoutingTable } from '../../src/lb/core/routing-table.ts';
import { app, view } from '../support/lb-fixtures.ts';

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
