import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { ProxyHarness } from '../support/lb-proxy-harness.ts';
import { app, closeServer, listenOn, task, view } from '../support/lb-fixtures.ts';
import { waitFor } from '../support/wait.ts';

/**
 * How HttpForwarder streams a backend's answer: big bodies under back-pressure, informational
 * 1xx answers kept from the client, and a client leaving mid-answer ending the backend exchange.
 */

const BIG = 8 * 1024 * 1024;
const closers: (() => Promise<void>)[] = [];
let harness: ProxyHarness;
let backendPort = 0;
/** Backend responses that ended by the connection going away rather than finishing. */
let backendAborted = 0;
const pending: ServerResponse[] = [];

before(async () => {
  const backend = createServer((req, res) => {
    res.once('close', () => {
      if (!res.writableFinished) backendAborted += 1;
    });
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // Far more than socket buffers hold: the proxy must pause reading while the client is slow.
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let sent = 0;
      const pump = (): void => {
        while (sent < BIG) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    } else if (req.url === '/hints') {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      res.end('after hints');
    } else {
      // /hang: headers and part of the body, then nothing until the test lets go.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      pending.push(res);
    }
  });
  backendPort = await listenOn(backend);
  closers.push(() => closeServer(backend));
  harness = await new ProxyHarness().start();
  closers.push(() => harness.close());
  await harness.route(view([app('/stream', { HAPROXY_GROUP: 'g', HAPROXY_0_VHOST: 'stream.test' }, [10000])], [task('/stream', 1, [backendPort], { host: '127.0.0.1' })]));
});

after(async () => {
  for (const res of pending) res.end();
  for (const close of closers.reverse()) await close();
});

/** GET through the vhost port; `onResponse` sees the response as it starts. */
function get(path: string, onResponse: (res: IncomingMessage) => void): void {
  request({ host: '127.0.0.1', port: harness.ports.http, path, headers: { host: 'stream.test' }, agent: false }, onResponse).end();
}

test('a body larger than every buffer arrives whole through a slow client', async () => {
  const received = await new Promise<number>((resolve, reject) => {
    get('/big', (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        // A slow reader: the proxy has to hold back rather than buffer 8 MB.
        res.pause();
        setImmediate(() => res.resume());
      });
      res.once('end', () => resolve(bytes));
      res.once('error', reject);
    });
  });
  assert.equal(received, BIG);
});

test('informational 1xx answers stay between proxy and backend; the final answer reaches the client', async () => {
  const informational: number[] = [];
  const answer = await new Promise<{ status: number; body: string }>((resolve) => {
    const req = request({ host: '127.0.0.1', port: harness.ports.http, path: '/hints', headers: { host: 'stream.test' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('information', (info) => informational.push(info.statusCode));
    req.end();
  });
  assert.deepEqual(answer, { status: 200, body: 'after hints' });
  assert.deepEqual(informational, []);
});

test('a client leaving mid-answer ends the backend exchange and frees the backend for leastconn', async () => {
  const abortedBefore = backendAborted;
  await new Promise<void>((resolve) => {
    get('/hang', (res) => {
      res.once('data', () => {
        res.destroy();
        resolve();
      });
    });
  });
  await waitFor('the backend exchange to be cut', () => (backendAborted > abortedBefore ? true : undefined));
  await waitFor('no request counted as active on the backend', () => (harness.balancer.state('127.0.0.1', backendPort, Date.now()).active === 0 ? true : undefined));
  assert.equal(harness.balancer.state('127.0.0.1', backendPort, Date.now()).ejected, false, 'a client leaving is not the backend failing');
});
