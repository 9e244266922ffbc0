import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import type { PartProcess } from '../../src/cli/child-process.ts';
import { startEtcd } from '../support/etcd.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';

/**
 * The web UI served by a standby (#19) writes through it: the browser's Origin is the standby's
 * own, which the leader (seeing its own Host) would call foreign. The standby judges the Origin
 * against the Host it was asked by, as the leader does, and forwards only what passed.
 */
test('through a standby: a write from a page of the standby passes, one from a foreign page is refused', async () => {
  const etcd = await startEtcd();
  const dir = tempDir('corral-standby-origin-');
  const parts: PartProcess[] = [];
  try {
    const [portA, portB] = [await freePort(), await freePort()];
    for (const [name, port] of [['scheduler-a', portA], ['scheduler-b', portB]] as const) {
      parts.push(await startPart(name, ['scheduler', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, name), '--store', 'etcd', '--etcd', etcd.url,
        '--etcd-prefix', '/corral-origin', '--allowed-origins', 'https://ops.example.com'], dir));
    }
    assert.equal(parts[1]?.ready.standby, true);
    const standby = `http://127.0.0.1:${portB}`;
    const post = async (origin: string, id: string) => {
      const response = await request(`${standby}/v2/apps`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin },
        body: JSON.stringify({ id, cmd: 'sleep 1000', cpus: 0.01, mem: 16, instances: 0 }),
      });
      return { status: response.statusCode, body: await response.body.text() };
    };
    const own = await post(standby, '/from-the-standby-page');
    assert.equal(own.status, 201, own.body);
    const allowed = await post('https://ops.example.com', '/from-an-allowed-origin');
    assert.equal(allowed.status, 201, allowed.body);
    const foreign = await post('http://evil.example', '/from-elsewhere');
    assert.equal(foreign.status, 403, foreign.body);
    assert.match(foreign.body, /Origin http:\/\/evil\.example is not this scheduler's/);
    // A page of the leader's origin is not the standby's: the standby refuses it (the browser was on the standby's address).
    assert.equal((await post(`http://127.0.0.1:${portA}`, '/from-the-leader-page')).status, 403);
    const apps = await request(`http://127.0.0.1:${portA}/v2/apps`);
    assert.deepEqual(((await apps.body.json()) as { apps: Array<{ id: string }> }).apps.map((a) => a.id), ['/from-an-allowed-origin', '/from-the-standby-page']);
  } finally {
    for (const part of parts) {
      if (part.child.exitCode === null && part.child.signalCode === null) part.child.kill('SIGTERM');
      await part.exited;
    }
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
