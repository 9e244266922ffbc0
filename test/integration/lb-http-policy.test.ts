import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { backendKey } from '../../src/lb/core/balancer.ts';
import { app, freePort, httpGet, startNamedBackend, task, view, type NamedBackend } from '../support/lb-fixtures.ts';
import { ProxyHarness } from '../support/lb-proxy-harness.ts';

/**
 * The HTTP labels, end to end through the real proxy listeners to real backends on loopback:
 * auth, redirects, network ACL, stickiness, path rewriting, the app-id port, pooling, retries
 * and passive ejection.
 */

const BCRYPT = '$2b$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK'; // "s3cret"
const SHA512 = '$6$saltsalt$As4wrv0kZlfch1du9WeH7qhskyLriQWySXrZzynnvi46nFnNxjdpl6ksRegrrKexvhIa/Iny8S8uF3fVWTMuC1'; // "s3cret"

let harness: ProxyHarness;
let a: NamedBackend;
let b: NamedBackend;
let dead: number;
let boundPort: number;
const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const via = (host: string, path = '/', headers: Record<string, string> = {}) => httpGet(harness.ports.http, path, { host, ...headers });
const nameOf = (body: string): string => (JSON.parse(body) as { name: string }).name;

before(async () => {
  [a, b] = await Promise.all([startNamedBackend('a'), startNamedBackend('b')]);
  dead = await freePort();
  boundPort = await freePort();
  harness = await new ProxyHarness().start();
  const g = (labels: Record<string, string>) => ({ HAPROXY_GROUP: 'g', ...labels });
  const apps = [
    app('/bcrypt', g({ HAPROXY_0_VHOST: 'bcrypt.test', HAPROXY_0_AUTH: `Shop "admin":admin:${BCRYPT}` }), [10001]),
    app('/sha', g({ HAPROXY_0_VHOST: 'sha.test', HAPROXY_0_AUTH: `r:ops:${SHA512}` }), [10002]),
    app('/secure', g({ HAPROXY_0_VHOST: 'secure.test', HAPROXY_0_REDIRECT_TO_HTTPS: 'true' }), [10003]),
    app('/home', g({ HAPROXY_0_VHOST: 'home.test', HAPROXY_0_HTTP_BACKEND_REDIR: '/welcome' }), [10004]),
    app('/closed', g({ HAPROXY_0_VHOST: 'closed.test', HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8 192.168.0.1' }), [10005]),
    app('/open', g({ HAPROXY_0_VHOST: 'open.test', HAPROXY_0_BACKEND_NETWORK_ALLOWED_ACL: '10.0.0.0/8, 127.0.0.0/8' }), [10006]),
    app('/sticky', g({ HAPROXY_0_VHOST: 'sticky.test', HAPROXY_0_STICKY: 'true' }), [10007]),
    app('/mounted', g({ HAPROXY_0_VHOST: 'mounted.test', HAPROXY_0_PATH: '/app', HAPROXY_0_HTTP_BACKEND_PROXYPASS_PATH: '/app', HAPROXY_0_HTTP_BACKEND_REVPROXY_PATH: '/app' }), [10008]),
    app('/flaky', g({ HAPROXY_0_VHOST: 'flaky.test' }), [10009]),
    app('/web', g({}), [10010], { healthChecks: [{ protocol: 'HTTP' }] }),
    app('/bound', g({ HAPROXY_0_BIND_ADDR: '127.0.0.2', HAPROXY_0_MODE: 'http' }), [boundPort]),
  ];
  const onA = ['/bcrypt', '/sha', '/secure', '/home', '/closed', '/open', '/mounted'].map((id) => task(id, 1, [a.port], { host: '127.0.0.1' }));
  const tasks = [
    ...onA,
    task('/sticky', 1, [a.port], { host: '127.0.0.1' }),
    task('/sticky', 2, [b.port], { host: '127.0.0.1' }),
    task('/flaky', 1, [dead], { host: '127.0.0.1' }),
    task('/flaky', 2, [b.port], { host: '127.0.0.1' }),
    task('/web', 1, [b.port], { host: '127.0.0.1', healthy: true }),
    task('/bound', 1, [b.port], { host: '127.0.0.1' }),
  ];
  await harness.route(view(apps, tasks));
});

after(async () => {
  await harness.close();
  await Promise.all([a.close(), b.close()]);
});

test('HAPROXY_n_AUTH: Basic credentials checked against bcrypt and SHA-512 crypt hashes', async () => {
  const none = await via('bcrypt.test');
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Basic realm="Shop admin"');
  assert.equal((await via('bcrypt.test', '/', { authorization: basic('admin', 'wrong') })).status, 401);
  assert.equal((await via('bcrypt.test', '/', { authorization: basic('root', 's3cret') })).status, 401);
  assert.equal((await via('bcrypt.test', '/', { authorization: 'Bearer x' })).status, 401);
  const ok = await via('bcrypt.test', '/', { authorization: basic('admin', 's3cret') });
  assert.equal(ok.status, 200);
  assert.equal((await via('sha.test', '/', { authorization: basic('ops', 's3cret') })).status, 200);
  assert.equal((await via('sha.test', '/', { authorization: basic('ops', 's3cret!') })).status, 401);
  assert.equal(harness.stats.snapshot().pools['/bcrypt:10001']?.denied, 4);
});

test('REDIRECT_TO_HTTPS answers 301 to the same host and target on https', async () => {
  const answer = await via('secure.test:8080', '/cart?id=1');
  assert.equal(answer.status, 301);
  assert.equal(answer.headers.location, 'https://secure.test/cart?id=1');
});

test('HTTP_BACKEND_REDIR sends / elsewhere and proxies the rest', async () => {
  const root = await via('home.test', '/?x=1');
  assert.equal(root.status, 301);
  assert.equal(root.headers.location, '/welcome');
  assert.equal((await via('home.test', '/welcome')).status, 200);
});

test('BACKEND_NETWORK_ALLOWED_ACL: 403 outside the ranges, served inside them', async () => {
  const closed = await via('closed.test');
  assert.equal(closed.status, 403);
  assert.equal((await via('open.test')).status, 200);
});

test('STICKY: the mesosphere_server_id cookie pins a client to one instance', async () => {
  const first = await via('sticky.test');
  const cookie = String(first.headers['set-cookie']?.[0] ?? '');
  assert.match(cookie, /^mesosphere_server_id=sticky\.task-[12]; Path=\//);
  const pinned = cookie.split(';')[0] ?? '';
  const names = new Set<string>();
  for (let i = 0; i < 6; i += 1) {
    const answer = await via('sticky.test', '/', { cookie: `other=1; ${pinned}` });
    names.add(nameOf(answer.body));
    assert.equal(answer.headers['set-cookie'], undefined, 'no new cookie while pinned');
  }
  assert.deepEqual([...names], [nameOf(first.body)]);
});

test('PROXYPASS_PATH strips the public prefix; REVPROXY_PATH puts it back into Location', async () => {
  const inner = await via('mounted.test', '/app/orders?page=2');
  assert.equal(JSON.parse(inner.body).url, '/orders?page=2');
  assert.equal(JSON.parse((await via('mounted.test', '/app')).body).url, '/');
  const redirect = await via('mounted.test', '/app/redirect');
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.location, '/app/login');
});

test('the X-Marathon-App-Id port routes by app id to its first http port', async () => {
  const answer = await httpGet(harness.ports.appId, '/x', { 'x-marathon-app-id': '/web' });
  assert.equal(answer.status, 200);
  assert.equal(nameOf(answer.body), 'b');
  assert.equal((await httpGet(harness.ports.appId, '/x', { 'x-marathon-app-id': 'web' })).status, 200, 'the leading / is optional');
  assert.equal((await httpGet(harness.ports.appId, '/x', { 'x-marathon-app-id': '/nope' })).status, 503);
  assert.equal((await httpGet(harness.ports.appId, '/x', {})).status, 503);
});

test('backend connections are pooled: many client connections, few backend connections', async () => {
  const before = a.connections;
  for (let i = 0; i < 20; i += 1) assert.equal((await via('open.test')).status, 200);
  assert.ok(a.connections - before <= 2, `${a.connections - before} backend connections for 20 requests`);
});

test('a refused connection is retried on another instance; the failing one is ejected', async () => {
  for (let i = 0; i < 8; i += 1) {
    const answer = await via('flaky.test');
    assert.equal(answer.status, 200, `request ${i}`);
    assert.equal(nameOf(answer.body), 'b');
  }
  assert.deepEqual(harness.balancer.ejected(Date.now()), [backendKey({ taskId: '', host: '127.0.0.1', port: dead })]);
});

test('BIND_ADDR: the service port listens on that address only', async () => {
  const answer = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.2', port: boundPort, path: '/', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
  assert.equal(answer, 200);
  await assert.rejects(httpGet(boundPort, '/'), /ECONNREFUSED/, 'not on --bind (127.0.0.1)');
});
