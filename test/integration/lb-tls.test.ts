import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import type { IncomingHttpHeaders } from 'node:http';
import { makeCertificate } from '../support/lb-certs.ts';
import { app, freePort, startNamedBackend, startTcpEcho, task, view, type NamedBackend } from '../support/lb-fixtures.ts';
import { ProxyHarness, TEST_LIMITS } from '../support/lb-proxy-harness.ts';
import { tempDir } from '../support/parts.ts';

/**
 * TLS with certificates made by openssl in the test: the shared HTTPS port picks a certificate by
 * SNI (the route's HAPROXY_n_SSL_CERT, else the default), service ports terminate TLS in http
 * and tcp mode, and an unreadable certificate disables only its route.
 */

const dir = tempDir('corral-lb-tls-');
let harness: ProxyHarness;
let backend: NamedBackend;
let echo: { port: number; close: () => Promise<void> };
let certs: Record<'default' | 'shop' | 'blog', { path: string; cert: string }>;
let ports: { https: number; tcp: number };

interface TlsAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The CN of the certificate the server presented. */
  subject: string;
}

function httpsGet(port: number, servername: string, ca: string, host = servername, anyName = false): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const nameCheck = anyName ? { checkServerIdentity: () => undefined } : {};
    const req = request({ host: '127.0.0.1', port, path: '/', servername, ca, headers: { host }, agent: false, ...nameCheck }, (res) => {
      const subject = (res.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, subject: String(subject) }));
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  certs = {
    default: makeCertificate(dir, ['default.test']),
    shop: makeCertificate(dir, ['shop.test', 'www.shop.test']),
    blog: makeCertificate(dir, ['blog.test']),
  };
  backend = await startNamedBackend('a');
  echo = await startTcpEcho('echo');
  ports = { https: await freePort(), tcp: await freePort() };
  harness = await new ProxyHarness(TEST_LIMITS, undefined, certs.default.path).start();
  const g = (labels: Record<string, string>) => ({ HAPROXY_GROUP: 'g', ...labels });
  const apps = [
    app('/shop', g({ HAPROXY_0_VHOST: 'shop.test,www.shop.test', HAPROXY_0_SSL_CERT: certs.shop.path, HAPROXY_0_USE_HSTS: 'true' }), [10001]),
    app('/blog', g({ HAPROXY_0_VHOST: 'blog.test', HAPROXY_0_SSL_CERT: certs.blog.path }), [10002]),
    app('/plain', g({ HAPROXY_0_VHOST: 'plain.test' }), [10003]),
    app('/tlsport', g({ HAPROXY_0_MODE: 'http', HAPROXY_0_SSL_CERT: certs.blog.path }), [ports.https]),
    app('/tlstcp', g({ HAPROXY_0_SSL_CERT: certs.shop.path }), [ports.tcp]),
    app('/broken', g({ HAPROXY_0_VHOST: 'broken.test', HAPROXY_0_SSL_CERT: join(dir, 'missing.pem') }), [10004]),
  ];
  const tasks = [
    ...['/shop', '/blog', '/plain', '/tlsport', '/broken'].map((id) => task(id, 1, [backend.port], { host: '127.0.0.1' })),
    task('/tlstcp', 1, [echo.port], { host: '127.0.0.1' }),
  ];
  await harness.route(view(apps, tasks));
});

after(async () => {
  await harness.close();
  await Promise.all([backend.close(), echo.close()]);
  rmSync(dir, { recursive: true, force: true });
});

test('the shared HTTPS port presents the route\'s certificate chosen by SNI', async () => {
  const shop = await httpsGet(harness.ports.https, 'www.shop.test', certs.shop.cert);
  assert.equal(shop.status, 200);
  assert.equal(shop.subject, 'shop.test');
  const blog = await httpsGet(harness.ports.https, 'blog.test', certs.blog.cert);
  assert.equal(blog.status, 200);
  assert.equal(blog.subject, 'blog.test');
});

test('a vhost without its own certificate gets the default one', async () => {
  // The default certificate does not name plain.test: the chain is checked, the name is not.
  const plain = await httpsGet(harness.ports.https, 'plain.test', certs.default.cert, 'plain.test', true);
  assert.equal(plain.subject, 'default.test');
  assert.equal(plain.status, 200);
});

test('over HTTPS the backend sees X-Forwarded-Proto https, and USE_HSTS adds the header', async () => {
  const shop = await httpsGet(harness.ports.https, 'shop.test', certs.shop.cert);
  assert.equal(JSON.parse(shop.body).headers['x-forwarded-proto'], 'https');
  assert.equal(shop.headers['strict-transport-security'], 'max-age=15768000');
  const blog = await httpsGet(harness.ports.https, 'blog.test', certs.blog.cert);
  assert.equal(blog.headers['strict-transport-security'], undefined);
});

test('service ports terminate TLS in http mode and in tcp mode', async () => {
  const answer = await httpsGet(ports.https, 'blog.test', certs.blog.cert, 'anything');
  assert.equal(answer.status, 200);
  assert.equal(answer.subject, 'blog.test');
  const reply = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: ports.tcp, servername: 'shop.test', ca: certs.shop.cert }, () => socket.write('ping'));
    socket.once('data', (chunk) => {
      resolve(chunk.toString());
      socket.destroy();
    });
    socket.once('error', reject);
  });
  assert.equal(reply, 'echo:ping');
});

test('an unreadable certificate disables only its route, with the reason', async () => {
  const rejected = harness.tables.current.rejected.map((r) => `${r.appId}: ${r.reason}`);
  assert.equal(rejected.length, 1);
  assert.match(rejected[0] ?? '', /^\/broken: HAPROXY_0_SSL_CERT .*missing\.pem: cannot read .*ENOENT/);
  assert.equal(harness.tables.current.vhosts['broken.test'], undefined);
  assert.equal((await httpsGet(harness.ports.https, 'shop.test', certs.shop.cert)).status, 200);
});
