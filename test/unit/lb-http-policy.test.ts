import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { buildRoutingTable, type BackendPool } from '../../src/lb/core/routing-table.ts';
import { backendPath, shapeResponseHeaders, stickyCookie } from '../../src/lb/proxy/http-policy.ts';
import { app, view } from '../support/lb-fixtures.ts';

function pool(labels: Record<string, string>): BackendPool {
  const built = buildRoutingTable(view([app('/p', { HAPROXY_GROUP: 'g', HAPROXY_0_MODE: 'http', ...labels }, [10000])], []), { groups: ['g'] }).servicePorts['10000'];
  assert.ok(built);
  return built;
}

test('backendPath strips HTTP_BACKEND_PROXYPASS_PATH', () => {
  const cases: [prefix: string | undefined, url: string, expected: string][] = [
    [undefined, '/app/x', '/app/x'],
    ['/app', '/app/x?y=1', '/x?y=1'],
    ['/app', '/app', '/'],
    ['/app', '/app?y=1', '/?y=1'],
    ['/app/', '/app/x', '/x'],
    ['/app', '/apple', '/apple'],
    ['/app', '/other', '/other'],
  ];
  for (const [prefix, url, expected] of cases) {
    const labels: Record<string, string> = prefix === undefined ? {} : { HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: prefix };
    assert.equal(backendPath(url, pool(labels).http), expected, `${prefix ?? '-'} ${url}`);
  }
});

test('shapeResponseHeaders: Location rewriting, HSTS, sticky cookie', () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  const rev = pool({ HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/app', HAPROXY_0_USE_HSTS: 'true' });
  const locations: [location: string, expected: string][] = [
    ['/login', '/app/login'],
    ['/app/login', '/app/login'],
    ['http://shop.test/login', 'http://shop.test/app/login'],
    ['http://SHOP.test:80/login', 'http://SHOP.test:80/login'],
    ['https://elsewhere.test/login', 'https://elsewhere.test/login'],
    ['relative', 'relative'],
  ];
  for (const [location, expected] of locations) {
    const headers: Record<string, string | string[] | undefined> = { location };
    shapeResponseHeaders(headers, req({ host: 'shop.test' }), rev, { port: 80, proto: 'http' }, undefined);
    assert.equal(headers.location, expected, location);
    assert.equal(headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
  }
  const secure: Record<string, string | string[] | undefined> = { 'set-cookie': 'a=1' };
  shapeResponseHeaders(secure, req({ cookie: 'mesosphere_server_id=t1' }), rev, { port: 443, proto: 'https' }, 't2');
  assert.equal(secure['strict-transport-security'], 'max-age=15768000');
  assert.deepEqual(secure['set-cookie'], ['a=1', 'mesosphere_server_id=t2; Path=/']);
  const pinned: Record<string, string | string[] | undefined> = {};
  shapeResponseHeaders(pinned, req({ cookie: 'x=1; mesosphere_server_id=t2' }), rev, { port: 443, proto: 'https' }, 't2');
  assert.equal(pinned['set-cookie'], undefined);
});

test('stickyCookie reads mesosphere_server_id among other cookies', () => {
  assert.equal(stickyCookie({ cookie: 'a=1; mesosphere_server_id=web.task-1; b=2' }), 'web.task-1');
  assert.equal(stickyCookie({ cookie: 'a=1' }), undefined);
  assert.equal(stickyCookie({}), undefined);
});
