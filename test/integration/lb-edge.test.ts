import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { DiscoveryStandIn, appPosted, statusUpdate } from '../support/discovery-stand-in.ts';
import { presentedName } from '../support/lb-certs.ts';
import { app, freePort, httpGet, rawHttp, startNamedBackend, task, type NamedBackend } from '../support/lb-fixtures.ts';
import { startPart, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

/**
 * The real `corral lb` at its edges: what a client sends that is not an ordinary request
 * (`OPTIONS *`, no or two `Host`, absolute-form targets), the HTTPS port with no certificate
 * given, the stats port on its own address (`--stats-bind`), and HAProxy's stats CSV.
 */

const VHOST = 'web.test';
const STATS_IP = '127.0.0.2';
const dir = tempDir('corral-lb-edge-it-');
const parts: PartProcess[] = [];
let discovery: DiscoveryStandIn;
let backend: NamedBackend;
let lb: PartProcess;
let webPort: number;

const portOf = (field: 'http' | 'https' | 'stats'): number => Number(String(lb.ready[field]).split(':').at(-1));
const raw = (lines: string[]): Promise<{ statusLine: string; text: string }> => rawHttp(portOf('http'), `${lines.join('\r\n')}\r\n\r\n`);
const statsGet = (path: string): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    // httpGet dials 127.0.0.1: the stats port must be reached on its own address.
    const req = request({ host: STATS_IP, port: portOf('stats'), path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

before(async () => {
  discovery = await DiscoveryStandIn.start();
  backend = await startNamedBackend('a');
  webPort = await freePort();
  discovery.publish(appPosted(app('/web', { HAPROXY_GROUP: 'external', HAPROXY_0_VHOST: VHOST }, [webPort])));
  discovery.publish(statusUpdate(task('/web', 1, [backend.port], { host: '127.0.0.1' }), 'TASK_RUNNING'));
  lb = await startPart('lb', ['lb', '--master', discovery.url, '--http-port', '0', '--https-port', '0', '--app-id-port', '0', '--stats-port', '0',
    '--stats-bind', STATS_IP, '--group', 'external'], dir);
  parts.push(lb);
  await waitFor('the vhost to route', async () => ((await httpGet(portOf('http'), '/', { host: VHOST })).status === 200 ? true : undefined));
});

after(async () => {
  await stopParts(parts, 5000);
  await backend.close();
  await discovery.close();
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
});

test('OPTIONS * is answered by the LB and never counts against a backend', async () => {
  for (let i = 0; i < 4; i += 1) {
    const answer = await raw(['OPTIONS * HTTP/1.1', `Host: ${VHOST}`, 'Connection: close']);
    assert.match(answer.statusLine, /^HTTP\/1\.1 200 /, answer.text);
    assert.match(answer.text, /\r\nallow: [A-Z, ]*OPTIONS/i);
  }
  // A target no backend could be sent is the client's fault: 400, and the backend keeps its place.
  for (let i = 0; i < 4; i += 1) {
    const answer = await raw(['GET nonsense HTTP/1.1', `Host: ${VHOST}`, 'Connection: close']);
    assert.match(answer.statusLine, /^HTTP\/1\.1 400 /, answer.text);
  }
  const stats = JSON.parse((await statsGet('/_corral/stats')).body) as { ejected: string[] };
  assert.deepEqual(stats.ejected, []);
  assert.equal((await httpGet(portOf('http'), '/', { host: VHOST })).status, 200);
});

test('HTTP/1.1 without Host, or with two, or one naming no host, is answered 400 (RFC 9112)', async () => {
  const none = await raw(['GET / HTTP/1.1', 'Connection: close']);
  assert.match(none.statusLine, /^HTTP\/1\.1 400 /, none.text);
  const two = await raw(['GET / HTTP/1.1', `Host: ${VHOST}`, 'Host: other.test', 'Connection: close']);
  assert.match(two.statusLine, /^HTTP\/1\.1 400 /, two.text);
  const twoSame = await raw(['GET / HTTP/1.1', `Host: ${VHOST}`, `Host: ${VHOST}`, 'Connection: close']);
  assert.match(twoSame.statusLine, /^HTTP\/1\.1 400 /, twoSame.text);
  const invalid = await raw(['GET / HTTP/1.1', 'Host: web test', 'Connection: close']);
  assert.match(invalid.statusLine, /^HTTP\/1\.1 400 /, invalid.text);
  // An Upgrade request is held to the same rules.
  const upgrade = await raw(['GET /ws HTTP/1.1', `Host: ${VHOST}`, 'Host: other.test', 'Connection: Upgrade', 'Upgrade: websocket']);
  assert.match(upgrade.statusLine, /^HTTP\/1\.1 400 /, upgrade.text);
});

test('an absolute-form target is routed by its authority and forwarded in origin form', async () => {
  // node:http sends an absolute URL given as the path as it is: the proxy form of a request.
  const answer = await httpGet(portOf('http'), `http://${VHOST}/a/b?c=1`, { host: 'elsewhere.test' });
  assert.equal(answer.status, 200, answer.body);
  const seen = JSON.parse(answer.body) as { url: string; headers: Record<string, string> };
  assert.equal(seen.url, '/a/b?c=1');
  assert.equal(seen.headers.host, VHOST);
  const unknown = await raw(['GET http://elsewhere.test/ HTTP/1.1', `Host: ${VHOST}`, 'Connection: close']);
  assert.match(unknown.statusLine, /^HTTP\/1\.1 503 /, unknown.text);
});

test('with no --ssl-certs the HTTPS port completes a handshake with a generated self-signed certificate', async () => {
  assert.match(String(lb.ready.defaultCertificate), /self-signed/);
  assert.equal(await presentedName('127.0.0.1', portOf('https'), VHOST), 'corral-lb-default');
});

test('--stats-bind puts the stats port on its own address, away from the routes', async () => {
  assert.equal(String(lb.ready.stats), `${STATS_IP}:${portOf('stats')}`);
  assert.match(String(lb.ready.http), /^127\.0\.0\.1:/);
  assert.equal((await statsGet('/_corral/health')).status, 200);
  await assert.rejects(httpGet(portOf('stats'), '/_corral/health'), /ECONNREFUSED/);
});

test('/haproxy?stats;csv: FRONTEND, server and BACKEND rows with HAProxy\'s columns and statuses', async () => {
  const before = (await statsGet('/_corral/stats')).body;
  const served = (JSON.parse(before) as { pools: Record<string, { requests: number }> }).pools[`/web:${webPort}`]?.requests ?? 0;
  for (let i = 0; i < 3; i += 1) assert.equal((await httpGet(portOf('http'), '/', { host: VHOST })).status, 200);
  const [header = '', ...lines] = (await statsGet('/haproxy?stats;csv')).body.trimEnd().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const rows = lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [columns[i], value])));
  const web = rows.filter((row) => row.pxname === `web_${webPort}`);
  assert.deepEqual(web.map((row) => [row.svname, row.status]), [['FRONTEND', 'OPEN'], [`127_0_0_1_${backend.port}`, 'no check'], ['BACKEND', 'UP']]);
  const [frontend, server, total] = web;
  assert.equal(Number(frontend?.req_tot), served + 3);
  assert.equal(Number(total?.stot), served + 3);
  assert.equal(Number(server?.stot), served + 3);
  assert.ok(Number(frontend?.hrsp_2xx) >= 3, JSON.stringify(frontend));
});
