import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tar from 'tar';
import { AgentCluster, type EventLog, type Json, type StartedAgent } from '../support/agent-cluster.ts';
import { body, startArtifactServer, type ArtifactServer } from '../support/agent-fetch-server.ts';
import { waitFor } from '../support/wait.ts';

let c: AgentCluster;
let agent: StartedAgent;
let events: EventLog;
let server: ArtifactServer;

/** A real .tar.gz made with node-tar from files on disk, as an operator would build one. */
function buildTarball(dir: string): Buffer {
  const root = join(dir, 'archive-src');
  mkdirSync(join(root, 'bin'), { recursive: true });
  writeFileSync(join(root, 'bin', 'hello.sh'), '#!/bin/sh\necho "hello from the archive: $(cat "$(dirname "$0")/../data/greeting.txt")"\n', { mode: 0o755 });
  mkdirSync(join(root, 'data'));
  writeFileSync(join(root, 'data', 'greeting.txt'), 'bonjour\n');
  const file = join(dir, 'app.tar.gz');
  tar.create({ gzip: true, file, cwd: root, sync: true, portable: true }, ['bin', 'data']);
  return readFileSync(file);
}

before(async () => {
  c = await AgentCluster.start('agent-fetch');
  events = await c.events();
  agent = await c.startAgent();
  server = await startArtifactServer({
    '/app.tar.gz': body(buildTarball(c.dir)),
    '/legacy.sh': body('echo "legacy uri ran"\n', 'text/plain'),
    '/tool': body('#!/bin/sh\necho "tool ran with $# args"\n', 'text/plain'),
  });
});

after(async () => {
  await server?.close();
  await c?.stop();
});

/** Waits until the task's stdout (read through the agent's files API) holds `text`. */
function stdoutOf(taskId: string, text: string): Promise<string> {
  return waitFor(`'${text}' in the stdout of ${taskId}`, async () => {
    const data = await c.readSandboxFile(agent, taskId, 'stdout');
    return data.includes(text) ? data : undefined;
  });
}

test('a tarball served over HTTP is fetched and unpacked into the sandbox; its script runs', { timeout: 30_000 }, async () => {
  await c.postApp({ id: '/tarball', fetch: [{ uri: server.url('/app.tar.gz') }], cmd: `./bin/hello.sh; sleep 1000; : ${c.marker}` });
  const [task] = await c.running('/tarball', 1);
  assert.ok(task);
  const taskId = String(task.id);
  assert.match(await stdoutOf(taskId, 'hello from the archive'), /hello from the archive: bonjour/);
  assert.ok(server.requests.includes('/app.tar.gz'));
  // Mesos semantics: the archive stays beside what it unpacked to.
  const listed = await c.get(`/files/browse?path=${encodeURIComponent(taskId)}`, agent.endpoint);
  const names = (listed as unknown as Json[]).map((e) => String(e.path).split('/').pop());
  for (const name of ['app.tar.gz', 'bin', 'data', 'stdout', 'stderr']) assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
});

test('a fetch of a URI that answers 404 fails the task, naming the URI and the HTTP status', { timeout: 30_000 }, async () => {
  const uri = server.url('/missing.tar.gz');
  await c.postApp({ id: '/missing', fetch: [{ uri }], cmd: `echo never; : ${c.marker}`, backoffSeconds: 60 });
  const failed = await events.waitFor('status_update_event', (e) => e.appId === '/missing' && e.taskStatus === 'TASK_FAILED');
  assert.ok(String(failed.message).includes(uri), `the message names the URI: ${String(failed.message)}`);
  assert.match(String(failed.message), /HTTP 404/);
  // It never ran: no TASK_RUNNING for it, and its command wrote nothing.
  assert.deepEqual(events.find('status_update_event', (e) => e.taskId === failed.taskId && e.taskStatus === 'TASK_RUNNING'), []);
  assert.equal(await c.readSandboxFile(agent, String(failed.taskId), 'stdout').catch(() => ''), '');
  assert.equal((await c.call('DELETE', '/v2/apps/missing?force=true')).status, 200);
});

test('legacy uris are fetched like fetch entries', { timeout: 30_000 }, async () => {
  await c.postApp({ id: '/legacy', uris: [server.url('/legacy.sh')], cmd: `sh legacy.sh; sleep 1000; : ${c.marker}` });
  const [task] = await c.running('/legacy', 1);
  assert.ok(task);
  await stdoutOf(String(task.id), 'legacy uri ran');
  const app = (await c.get('/v2/apps/legacy')).app as Json;
  assert.deepEqual((app.fetch as Json[]).map((f) => f.uri), [server.url('/legacy.sh')]);
});

test('executable: true makes the fetched file runnable as it is', { timeout: 30_000 }, async () => {
  await c.postApp({ id: '/exec', fetch: [{ uri: server.url('/tool'), executable: true }], cmd: `./tool a b; sleep 1000; : ${c.marker}` });
  const [task] = await c.running('/exec', 1);
  assert.ok(task);
  await stdoutOf(String(task.id), 'tool ran with 2 args');
  const listed = (await c.get(`/files/browse?path=${encodeURIComponent(`${String(task.id)}/tool`)}`, agent.endpoint)) as unknown as Json[];
  assert.match(String(listed[0]?.mode), /^-rwx/);
});
