import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';

/**
 * `GET /corral/v1/reach/{appId}` against DNS and LB APIs that fail: one never answers, one is
 * not there. The answer comes within the bound and says so in words; it never hangs.
 */
let scheduler: PartProcess;
let silent: Server;
let master: string;

before(async () => {
  const dir = tempDir('corral-reach-');
  // Accepts, reads, never answers: the DNS API that hangs.
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const closed = await freePort();
  scheduler = await startPart('scheduler', ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler'),
    '--dns-api', `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, '--lb-api', `http://127.0.0.1:${closed}`], dir);
  master = String(scheduler.ready.api);
});

after(async () => {
  await stopParts([scheduler], 5000);
  silent.closeAllConnections();
  await new Promise((resolve) => silent.close(resolve));
});

test('reach: a DNS API that does not answer and an LB API that is not there are reported in words within the bound', async () => {
  assert.equal((await marathonCall(master, 'POST', '/v2/apps', { id: '/team/web', cmd: 'sleep 1000', cpus: 0.01, mem: 16, instances: 0 })).status, 201);
  const started = Date.now();
  const answer = await marathonCall(master, 'GET', '/corral/v1/reach/team/web');
  const took = Date.now() - started;
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.json.dns, { configured: true, api: answer.json.dns.api, error: 'DNS API unreachable: no answer within 2000 ms' });
  assert.match(answer.json.lb.error, /^LB API unreachable: ECONNREFUSED$/);
  assert.equal(answer.json.appId, '/team/web');
  assert.ok(took < 4000, `answered in ${took} ms`);
  assert.equal((await marathonCall(master, 'GET', '/corral/v1/reach/team/nothing')).status, 404);
});
