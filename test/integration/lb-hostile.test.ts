import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { app, httpGet, rawHttp, startNamedBackend, task, view, type NamedBackend } from '../support/lb-fixtures.ts';
import { ProxyHarness } from '../support/lb-proxy-harness.ts';
import { waitFor } from '../support/wait.ts';

/**
 * Hostile and broken clients against the shared vhost port: oversized or too many headers
 * (431), smuggling attempts (400), slow and silent connections (408, closed) — while a
 * well-behaved client keeps being served.
 */

const LIMITS = { maxHeaderBytes: 4096, maxHeaders: 20, headersTimeoutMs: 600, requestTimeoutMs: 1500, idleTimeoutMs: 800 };
let harness: ProxyHarness;
let backend: NamedBackend;
const request = (lines: string[], body = ''): string => `${lines.join('\r\n')}\r\n\r\n${body}`;

before(async () => {
  backend = await startNamedBackend('a');
  harness = await new ProxyHarness(LIMITS).start();
  await harness.route(view([app('/web', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'web.test' }, [10001])], [task('/web', 1, [backend.port], { host: '127.0.0.1' })]));
});

after(async () => {
  await harness.close();
  await backend.close();
});

test('431 for headers over the size limit and for too many header fields', async () => {
  const big = await rawHttp(harness.ports.http, request(['GET / HTTP/1.1', 'Host: web.test', `X-Big: ${'a'.repeat(8000)}`]));
  assert.match(big.statusLine, /^HTTP\/1\.1 431 /);
  const many = Array.from({ length: 25 }, (_, i) => `X-H${i}: ${i}`);
  const count = await rawHttp(harness.ports.http, request(['GET / HTTP/1.1', 'Host: web.test', ...many]));
  assert.match(count.statusLine, /^HTTP\/1\.1 431 /);
  assert.equal(backend.connections, 0, 'neither reached the backend');
});

test('request smuggling attempts get 400 and never reach the backend', async () => {
  const attempts = [
    request(['POST / HTTP/1.1', 'Host: web.test', 'Content-Length: 4', 'Transfer-Encoding: chunked'], '0\r\n\r\n'),
    request(['POST / HTTP/1.1', 'Host: web.test', 'Content-Length: 3', 'Content-Length: 3'], 'abc'),
    request(['POST / HTTP/1.1', 'Host: web.test', 'Content-Length: 3', 'Content-Length: 5'], 'abcde'),
    request(['POST / HTTP/1.1', 'Host: web.test', 'Transfer-Encoding: gzip, chunked'], '0\r\n\r\n'),
    request(['POST / HTTP/1.1', 'Host: web.test', 'Transfer-Encoding: chunked', 'Transfer-Encoding: identity'], '0\r\n\r\n'),
    'GET / HTTP/1.1\r\nHost: web.test\r\nBad Header Line\r\n\r\n',
  ];
  for (const attempt of attempts) {
    const answer = await rawHttp(harness.ports.http, attempt);
    assert.match(answer.statusLine, /^HTTP\/1\.1 400 /, JSON.stringify(attempt));
  }
  assert.equal(backend.connections, 0);
  const counted = harness.stats.snapshot().clientErrors;
  assert.ok((counted.smuggling ?? 0) >= 5, JSON.stringify(counted));
});

test('slowloris and silent connections are answered 408 and closed; other clients are served meanwhile', async () => {
  // A client that sends its headers a few bytes at a time, never finishing.
  const slow = new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: harness.ports.http });
    let received = '';
    const drip = setInterval(() => socket.write('X-a: b\r\n'), 100);
    socket.once('connect', () => socket.write('GET / HTTP/1.1\r\nHost: web.test\r\n'));
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    socket.once('close', () => {
      clearInterval(drip);
      resolve(received.split('\r\n')[0] ?? '');
    });
    socket.setTimeout(10_000, () => reject(new Error('slowloris connection was never closed')));
  });
  const silent = rawHttp(harness.ports.http, '');
  let served = 0;
  let closed = false;
  void slow.finally(() => (closed = true));
  while (!closed) {
    const answer = await httpGet(harness.ports.http, '/', { host: 'web.test' });
    assert.equal(answer.status, 200);
    served += 1;
  }
  assert.match(await slow, /^HTTP\/1\.1 408 /);
  assert.match((await silent).statusLine, /^HTTP\/1\.1 408 /);
  assert.ok(served > 0);
});

test('an idle keep-alive connection is closed after the idle timeout', async () => {
  const closedAfter = await new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: harness.ports.http }, () => socket.write(request(['GET / HTTP/1.1', 'Host: web.test'])));
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.once('error', reject);
    socket.once('close', () => resolve(received));
    socket.setTimeout(10_000, () => reject(new Error('idle connection was never closed')));
  });
  assert.match(closedAfter, /^HTTP\/1\.1 200 /, 'answered, then closed once idle');
  await waitFor('the connection gauge to drop', async () => ((await harness.stats.registry.getSingleMetricAsString('corral_lb_active_connections')).endsWith(' 0') ? true : undefined));
});
