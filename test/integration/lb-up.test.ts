import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { startCorral, type RunningCorral } from '../support/corral-up.ts';
import { presentedName } from '../support/lb-certs.ts';
import { freePort, httpGet } from '../support/lb-fixtures.ts';
import { pidsOf } from '../support/processes.ts';
import { waitFor } from '../support/wait.ts';

/**
 * North-south and east-west with `corral up --internal-lb`: the external LB serves the vhost of an
 * `external` app; the internal LB (no shared ports) serves an `internal` app on its service port
 * at 127.0.0.1, as a peer service would reach it; neither LB touches the other's apps.
 */

const MARKER = `corral-lb-up-${randomUUID()}`;
const SERVER = `exec node -e "const m='${MARKER}'; require('http').createServer((q, r) => r.end(process.env.MARATHON_APP_ID)).listen(+process.env.PORT0, process.env.HOST)"`;
let corral: RunningCorral;
let internalStats: string;

before(async () => {
  corral = await startCorral(['--agents', '1', '--internal-lb']);
  internalStats = String((corral.urls as unknown as Record<string, unknown>).lbInternalStats);
});

after(async () => {
  assert.equal(await corral.stop(), 0);
  await waitFor('no task process left', () => (pidsOf(MARKER).length === 0 ? true : undefined), 10_000);
});

async function post(id: string, group: string, servicePort: number, vhost?: string): Promise<void> {
  const labels: Record<string, string> = { HAPROXY_GROUP: group, ...(vhost ? { HAPROXY_0_VHOST: vhost } : {}) };
  const healthChecks = [{ protocol: 'HTTP', path: '/', intervalSeconds: 0.2, delaySeconds: 0, timeoutSeconds: 1 }];
  const response = await request(`${corral.urls.scheduler}/v2/apps`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...corral.auth },
    body: JSON.stringify({ id, cmd: SERVER, cpus: 0.1, mem: 64, instances: 1, labels, healthChecks, portDefinitions: [{ port: servicePort, protocol: 'tcp' }] }),
  });
  assert.equal(response.statusCode, 201, await response.body.text());
}

test('the external LB serves vhosts, the internal LB serves internal service ports', async () => {
  assert.match(internalStats, /^http:\/\/127\.0\.0\.1:\d+$/);
  const [internalPort, externalPort] = [await freePort(), await freePort()];
  await post('/backend', 'internal', internalPort);
  await post('/frontend', 'external', externalPort, 'front.test');

  const lbHttp = Number(new URL(corral.urls.lbHttp).port);
  const front = await waitFor('the frontend behind its vhost', async () => {
    const answer = await httpGet(lbHttp, '/', { host: 'front.test' });
    return answer.status === 200 ? answer.body : undefined;
  }, 30_000);
  assert.equal(front, '/frontend');
  const peer = await waitFor('the backend on 127.0.0.1:<servicePort>', async () => {
    const answer = await httpGet(internalPort, '/');
    return answer.status === 200 ? answer.body : undefined;
  }, 30_000);
  assert.equal(peer, '/backend');

  const routes = async (stats: string): Promise<string[]> => {
    const body = JSON.parse((await httpGet(Number(new URL(stats).port), '/_corral/routes')).body) as { listeners: { open: number[] } };
    return body.listeners.open.map(String);
  };
  assert.deepEqual(await routes(internalStats), [String(internalPort)]);
  assert.deepEqual(await routes(corral.urls.lbStats), [String(externalPort)]);
  assert.equal((await httpGet(lbHttp, '/', { host: 'backend.test' })).status, 503, 'internal apps have no vhost on the external LB');
});

test('HTTPS completes a handshake out of the box: a self-signed default kept in the data dir, 0600', async () => {
  const urls = corral.urls as unknown as Record<string, string>;
  const file = join(corral.dataDir, 'lb-default-cert.pem');
  assert.equal(urls.lbDefaultCertificate, `${file} (self-signed)`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const https = new URL(String(urls.lbHttps));
  assert.equal(await presentedName(https.hostname, Number(https.port), 'front.test'), 'corral-lb-default');
});
