import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { app, freePort, task, view } from '../support/lb-fixtures.ts';
import { ProxyHarness } from '../support/lb-proxy-harness.ts';
import { startWebSocketEcho, webSocketExchange } from '../support/lb-websocket.ts';

/** WebSocket (HTTP Upgrade) through the shared vhost port and an http service port, to a real echo server. */

let harness: ProxyHarness;
let echo: { port: number; close: () => Promise<void> };
let servicePort: number;

before(async () => {
  echo = await startWebSocketEcho('ws');
  servicePort = await freePort();
  harness = await new ProxyHarness().start();
  await harness.route(view(
    [app('/chat', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'chat.test' }, [servicePort]), app('/empty', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'empty.test' }, [10001])],
    [task('/chat', 1, [echo.port], { host: '127.0.0.1' })],
  ));
});

after(async () => {
  await harness.close();
  await echo.close();
});

test('a WebSocket through the vhost port: 101, then messages both ways', async () => {
  const exchange = await webSocketExchange(harness.ports.http, 'chat.test', ['hello', 'x'.repeat(1000), 'bye']);
  assert.match(exchange.statusLine, /^HTTP\/1\.1 101 /);
  assert.match(exchange.headers, /X-Forwarded-Seen: 127\.0\.0\.1/, 'the backend saw X-Forwarded-For');
  assert.deepEqual(exchange.messages, ['ws:hello', `ws:${'x'.repeat(1000)}`, 'ws:bye']);
});

test('a WebSocket through an http service port', async () => {
  const exchange = await webSocketExchange(servicePort, 'whatever', ['ping']);
  assert.deepEqual(exchange.messages, ['ws:ping']);
});

test('an Upgrade with no route or no backend is refused with 503', async () => {
  assert.match((await webSocketExchange(harness.ports.http, 'nobody.test', ['x'])).statusLine, /^HTTP\/1\.1 503 /);
  assert.match((await webSocketExchange(harness.ports.http, 'empty.test', ['x'])).statusLine, /^HTTP\/1\.1 503 /);
});
