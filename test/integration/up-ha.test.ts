import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { corral } from '../support/cli-run.ts';
import { startCorral } from '../support/corral-up.ts';
import { tempDir } from '../support/parts.ts';
import { pidsOf } from '../support/processes.ts';
import { waitFor } from '../support/wait.ts';

const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** What `corral up --ha` adds to its `ready` line. */
interface HaUrls {
  schedulers: string[];
  master: string;
  leader: string;
  etcd: string;
}

/** The leader a scheduler names (`GET /v2/leader`), as a URL; undefined when it names none or does not answer. */
async function leaderNamedBy(url: string, auth: Record<string, string>): Promise<string | undefined> {
  const response = await request(new URL('/v2/leader', url), { headers: auth, headersTimeout: 2000, bodyTimeout: 2000 }).catch(() => undefined);
  const body = (await response?.body.json().catch(() => undefined)) as { leader?: string } | undefined;
  return response?.statusCode === 200 && typeof body?.leader === 'string' ? `http://${body.leader}` : undefined;
}

/** Whether the scheduler at `url` says it leads (`GET /v2/info`: `elected`). */
async function leads(url: string, auth: Record<string, string>): Promise<boolean> {
  const response = await request(new URL('/v2/info', url), { headers: auth, headersTimeout: 2000, bodyTimeout: 2000 }).catch(() => undefined);
  const body = (await response?.body.json().catch(() => undefined)) as { elected?: boolean } | undefined;
  return response?.statusCode === 200 && body?.elected === true;
}

test('corral up --ha: three schedulers on a local etcd; kill -9 of the leader is restarted, another leads, writes go on; Ctrl-C leaves no process', { timeout: 240_000 }, async () => {
  const stack = await startCorral(['--ha', '--agents', '1', '--etcd-client-port', '0', '--etcd-peer-port', '0']);
  let up = '';
  stack.child.stdout?.on('data', (chunk: Buffer) => (up += chunk.toString()));
  try {
    const ha = stack.urls as RunningUrls;
    assert.equal(ha.schedulers.length, 3);
    assert.equal(ha.master, ha.schedulers.join(','));
    assert.ok(ha.schedulers.includes(ha.leader), `the leader ${ha.leader} is one of ${ha.master}`);
    // Every scheduler names the same leader; the token the first leader wrote works on all of them.
    for (const url of ha.schedulers) assert.equal(await leaderNamedBy(url, stack.auth), ha.leader, url);
    const cli = { master: ha.master, env: { CORRAL_TOKEN_FILE: join(stack.dataDir, 'admin.token') }, timeoutMs: 60_000 };
    const app = (id: string): string => {
      const file = join(stack.dataDir, `${id}.json`);
      writeFileSync(file, JSON.stringify({ id, cmd: 'sleep 1000', instances: 0, cpus: 0.01, mem: 16 }));
      return file;
    };
    const before = await corral(['app', 'add', app('/ha-before')], cli);
    assert.equal(before.code, 0, before.stderr);

    const leaderPort = new URL(ha.leader).port;
    const [leaderPid, ...more] = pidsOf(`scheduler --listen 127.0.0.1:${leaderPort} `);
    assert.ok(leaderPid !== undefined && more.length === 0, `one process listens on the leader's port ${leaderPort}`);
    process.kill(Number(leaderPid), 'SIGKILL');
    // Calls made while the lead changes hands wait for it (through a standby that may take the lead under them).
    const during = corral(['app', 'add', app('/ha-during')], cli);
    const readDuring = corral(['app', 'list', '--json'], cli);

    // A live process leads: another scheduler, or the killed one's restart (corral up restarts it on its port within
    // the lease, and it may win the lock back).
    const others = ha.schedulers.filter((url) => url !== ha.leader);
    const next = await waitFor('a live scheduler to lead', async () => {
      const named = await leaderNamedBy(others[0] ?? '', stack.auth);
      if (named === undefined) return undefined;
      const pids = pidsOf(`scheduler --listen 127.0.0.1:${new URL(named).port} `);
      return pids.length === 1 && pids[0] !== leaderPid && await leads(named, stack.auth) ? named : undefined;
    }, 30_000);
    assert.ok(ha.schedulers.includes(next));
    const [added, read] = await Promise.all([during, readDuring]);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(read.code, 0, read.stderr);
    const after = await corral(['app', 'add', app('/ha-after')], cli);
    assert.equal(after.code, 0, after.stderr);
    const listed = await corral(['app', 'list', '--json'], cli);
    assert.deepEqual((JSON.parse(listed.stdout) as Array<{ id: string }>).map((a) => a.id).sort(), ['/ha-after', '/ha-before', '/ha-during']);

    // The killed one comes back (a new process on its port), naming the leader (itself, if it won the lock back).
    await waitFor('corral up to restart the killed scheduler', () => (/"msg":"scheduler-\d restarted"/.test(up) ? true : undefined), 30_000);
    assert.match(up, new RegExp(`scheduler-\\d \\(pid ${leaderPid}\\) ended on its own \\(signal SIGKILL\\): restarting it in \\d+ ms`));
    const back = pidsOf(`scheduler --listen 127.0.0.1:${leaderPort} `);
    assert.equal(back.length, 1);
    assert.notEqual(back[0], leaderPid);
    assert.equal(await waitFor('the restarted scheduler to name the leader', () => leaderNamedBy(ha.leader, stack.auth), 30_000), next);
    assert.equal(stack.child.exitCode, null, 'corral up still runs');
  } finally {
    const code = await stack.stop();
    assert.equal(code, 0);
  }
  // Every part (etcd too) named the data dir on its command line.
  assert.deepEqual(pidsOf(stack.dataDir), [], 'no part outlives corral up');
});

type RunningUrls = HaUrls & Awaited<ReturnType<typeof startCorral>>['urls'];

/** Runs `corral up --ha` over `dir` (every port left to the OS) to its end: for the starts that must fail. */
async function upHaInto(dir: string, env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'up', '--ha', '--data-dir', dir, '--scheduler-listen', '127.0.0.1:0',
    '--dns-listen', '127.0.0.1:0', '--dns-http', '127.0.0.1:0', '--lb-http-port', '0', '--lb-stats-port', '0', '--agent-http-port-base', '0',
    '--etcd-client-port', '0', '--etcd-peer-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stderr };
}

test('corral up --ha without an etcd binary says how to install it and exits 1', { timeout: 60_000 }, async () => {
  const dir = tempDir('corral-up-ha-noetcd-');
  const { code, stderr } = await upHaInto(dir, { PATH: join(dir, 'no-bin') });
  assert.equal(code, 1);
  assert.match(stderr, /no etcd binary is on the PATH: install it \(apt-get install etcd-server\)/);
  assert.deepEqual(pidsOf(dir), []);
  rmSync(dir, { recursive: true, force: true });
});

test('corral up --ha over the data dir of a plain corral up (its admin token there, no etcd) refuses to start and says why', { timeout: 60_000 }, async () => {
  const dir = tempDir('corral-up-ha-mixed-');
  writeFileSync(join(dir, 'admin.token'), 'a-token-of-another-state\n', { mode: 0o600 });
  const { code, stderr } = await upHaInto(dir);
  assert.equal(code, 1);
  assert.match(stderr, /admin\.token belongs to the state of a plain corral up .*give --ha a --data-dir of its own/);
  assert.deepEqual(pidsOf(dir), []);
  rmSync(dir, { recursive: true, force: true });
});
