import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request } from 'undici';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { freePort, startPart, tempDir } from '../support/parts.ts';

const dir = tempDir('corral-store-integrity-');
const dataDir = join(dir, 'scheduler');
const running: PartProcess[] = [];

after(() => stopParts(running, 5000));

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const response = await request(`${base}${path}`, { method: method as 'GET', ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  return { status: response.statusCode, json: (await response.body.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function scheduler(name: string, port: number, extra: string[] = []): Promise<PartProcess> {
  const part = await startPart(name, ['scheduler', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, ...extra], dir);
  running.push(part);
  return part;
}

/** Starts a scheduler that must refuse to start; its exit status and what it printed. */
async function refused(name: string, port: number, extra: string[] = []): Promise<{ status: number | string; output: string }> {
  const error = await scheduler(name, port, extra).then(() => undefined, (err: unknown) => err as Error);
  assert.ok(error !== undefined, `${name} started`);
  const output = readFileSync(join(dir, `${name}.log`), 'utf8');
  const status = Number(/exited \((\w+)\)/.exec(error.message)?.[1]);
  return { status, output };
}

test('one scheduler per data dir (an flock the kernel drops with the process); damage stops start-up until --repair', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const first = await scheduler('first', port);
  for (const id of ['/a', '/b', '/c']) assert.equal((await call(base, 'POST', '/v2/apps', { id, cmd: 'sleep 100', instances: 0 })).status, 201);

  const second = await refused('second', await freePort());
  assert.equal(second.status, 1);
  assert.match(second.output, new RegExp(`locked by another running scheduler \\(.*"pid":${first.child.pid}.*"listen":"127\\.0\\.0\\.1:${port}"`));
  assert.equal((await call(base, 'GET', '/v2/apps')).json.apps.length, 3, 'the first one goes on');

  // kill -9 leaves the lock file, but not the lock.
  first.child.kill('SIGKILL');
  await first.exited;
  const third = await scheduler('third', port);
  assert.deepEqual((await call(base, 'GET', '/v2/apps')).json.apps.map((app: { id: string }) => app.id), ['/a', '/b', '/c']);
  assert.deepEqual((await call(base, 'GET', '/v2/info')).json.corral_store, { type: 'file', skippedSnapshots: [], removedLeftovers: [] });
  await stopParts([third], 5000);

  // One changed byte in the second record of the log.
  const logPath = join(dataDir, 'state.log');
  const lines = readFileSync(logPath, 'utf8').split('\n');
  assert.ok(lines.length > 4, `${lines.length} lines`);
  lines[1] = lines[1]!.replace('"op"', '"oq"');
  writeFileSync(logPath, lines.join('\n'));
  const damaged = readFileSync(logPath);

  const fourth = await refused('fourth', port);
  assert.equal(fourth.status, 1);
  assert.match(fourth.output, /state store in .* is damaged: state\.log at byte \d+: checksum mismatch; \d+ valid record\(s\) follow it .*--repair/);
  assert.deepEqual(readFileSync(logPath), damaged, 'nothing was changed');

  await scheduler('repaired', port, ['--repair']);
  const info = (await call(base, 'GET', '/v2/info')).json.corral_store;
  assert.equal(info.repair.file, 'state.log');
  assert.ok(info.repair.droppedRecords > 0);
  assert.deepEqual(readFileSync(join(info.repair.savedTo, 'state.log')), damaged, 'the damaged log was saved first');
  const metrics = await (await request(`${base}/metrics`)).body.text();
  assert.match(metrics, new RegExp(`corral_scheduler_store_recovery\\{kind="repair_dropped_records"\\} ${info.repair.droppedRecords}\\n`));
  assert.equal((await call(base, 'POST', '/v2/apps', { id: '/d', cmd: 'sleep 100', instances: 0 })).status, 201, 'writes go on after a repair');
});
