import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { LogRotator } from '../../src/agent/log-rotation.ts';

const silent = pino({ level: 'silent' });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A task as the agent runs it: stdout and stderr are the sandbox files, opened O_APPEND. */
function startWriter(sandbox: string): ChildProcess {
  const out = openSync(join(sandbox, 'stdout'), 'a');
  const err = openSync(join(sandbox, 'stderr'), 'a');
  try {
    const script = `
      let n = 0;
      setInterval(() => {
        for (let i = 0; i < 20; i += 1) {
          n += 1;
          process.stdout.write('line ' + String(n).padStart(8, '0') + ' ' + 'x'.repeat(40) + '\\n');
        }
        process.stderr.write('err ' + n + '\\n');
      }, 2);
    `;
    return spawn(process.execPath, ['-e', script], { stdio: ['ignore', out, err] });
  } finally {
    // The child holds its own copies.
    closeSync(out);
    closeSync(err);
  }
}

test('log rotation: copytruncate keeps a continuously writing task capped and its output in order', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'corral-logrot-'));
  const sandbox = join(tmp, 'web.1');
  await mkdir(sandbox);
  const maxBytes = 20_000;
  const rotator = new LogRotator({ maxBytes, keep: 2, intervalMs: 25, logger: silent });
  const child = startWriter(sandbox);
  try {
    rotator.watch(sandbox);
    const deadline = Date.now() + 15_000;
    let largest = 0;
    // Rotated at least twice (.1 shifted to .2), then let it run a while longer.
    while (!(await exists(join(sandbox, 'stdout.2')))) {
      assert.ok(Date.now() < deadline, 'never rotated twice');
      largest = Math.max(largest, (await stat(join(sandbox, 'stdout'))).size);
      await sleep(10);
    }
    for (let i = 0; i < 30; i += 1) {
      largest = Math.max(largest, (await stat(join(sandbox, 'stdout'))).size);
      await sleep(10);
    }
    largest = Math.max(largest, (await stat(join(sandbox, 'stdout'))).size);
    // No rotation from here on; one may have just emptied the live file: let the task write again.
    await rotator.close();
    while ((await stat(join(sandbox, 'stdout'))).size === 0) {
      assert.ok(Date.now() < deadline, 'the task never wrote after a rotation');
      await sleep(10);
    }
    // Bounded by the cap plus what the task writes in about one check interval (generous for slow CI).
    assert.ok(largest < maxBytes + 200_000, `stdout reached ${largest} bytes`);

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const names = (await readdir(sandbox)).sort();
    for (const name of ['stdout', 'stdout.1', 'stdout.2', 'stderr']) assert.ok(names.includes(name), name);
    assert.deepEqual(names.filter((n) => n.endsWith('.3')), [], 'no more copies than keep');

    // The task kept writing through its O_APPEND descriptor after each truncate: the live file
    // starts at offset 0 with a whole line, no hole of NUL bytes in front.
    const live = await readFile(join(sandbox, 'stdout'), 'utf8');
    assert.ok(live.length > 0, 'the task wrote after the last rotation');
    assert.ok(!live.includes('\0'), 'a sparse hole: the task was not appending');

    // Oldest to newest, the sequence only goes up; copytruncate may lose the odd line, no more.
    const text = (await readFile(join(sandbox, 'stdout.2'), 'utf8')) + (await readFile(join(sandbox, 'stdout.1'), 'utf8')) + live;
    assert.ok(!text.includes('\0'));
    const numbers = text.split('\n').filter((l) => /^line \d{8} x{40}$/.test(l)).map((l) => Number(l.slice(5, 13)));
    assert.ok(numbers.length > 500, `only ${numbers.length} lines survived`);
    for (let i = 1; i < numbers.length; i += 1) assert.ok((numbers[i] ?? 0) > (numbers[i - 1] ?? 0), `line ${numbers[i]} after ${numbers[i - 1]}`);
    const first = numbers[0] ?? 0;
    const last = numbers.at(-1) ?? 0;
    // Nearly everything between the oldest kept line and the newest is there.
    assert.ok(numbers.length >= (last - first + 1) * 0.95, `${numbers.length} of ${last - first + 1} lines kept`);
  } finally {
    child.kill('SIGKILL');
    await rotator.close();
    await rm(tmp, { recursive: true, force: true });
  }
});

test('log rotation: small files stay, keep=0 truncates without copies, unwatch and close stop it', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'corral-logrot-'));
  const a = join(tmp, 'a');
  const b = join(tmp, 'b');
  const missing = join(tmp, 'missing');
  await mkdir(a);
  await mkdir(b);
  const rotator = new LogRotator({ maxBytes: 100, keep: 0, intervalMs: 60_000, logger: silent });
  try {
    await writeFile(join(a, 'stdout'), 'x'.repeat(150));
    await writeFile(join(a, 'stderr'), 'y'.repeat(100));
    await writeFile(join(b, 'stdout'), 'z'.repeat(150));
    rotator.watch(a);
    rotator.watch(b);
    rotator.watch(missing);
    rotator.unwatch(b);
    await rotator.checkNow();
    assert.equal((await stat(join(a, 'stdout'))).size, 0);
    assert.equal((await stat(join(a, 'stderr'))).size, 100, 'at the cap is not above it');
    assert.equal((await stat(join(b, 'stdout'))).size, 150, 'unwatched');
    assert.deepEqual((await readdir(a)).sort(), ['stderr', 'stdout']);
    await rotator.close();
    rotator.watch(b);
    await rotator.checkNow();
    assert.equal((await stat(join(b, 'stdout'))).size, 150, 'closed');
  } finally {
    await rotator.close();
    await rm(tmp, { recursive: true, force: true });
  }
});

test('log rotation: copies shift up to keep and the oldest falls off', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'corral-logrot-'));
  const rotator = new LogRotator({ maxBytes: 5, keep: 3, intervalMs: 60_000, logger: silent, files: ['stdout'] });
  try {
    rotator.watch(tmp);
    for (const generation of ['first!', 'second', 'third!', 'fourth']) {
      await writeFile(join(tmp, 'stdout'), generation, { flag: 'a' });
      await rotator.checkNow();
    }
    assert.equal(await readFile(join(tmp, 'stdout'), 'utf8'), '');
    assert.equal(await readFile(join(tmp, 'stdout.1'), 'utf8'), 'fourth');
    assert.equal(await readFile(join(tmp, 'stdout.2'), 'utf8'), 'third!');
    assert.equal(await readFile(join(tmp, 'stdout.3'), 'utf8'), 'second');
    assert.ok(!(await exists(join(tmp, 'stdout.4'))));
  } finally {
    await rotator.close();
    await rm(tmp, { recursive: true, force: true });
  }
  assert.throws(() => new LogRotator({ maxBytes: 0, keep: 1, intervalMs: 10, logger: silent }), /maxBytes/);
  assert.throws(() => new LogRotator({ maxBytes: 1, keep: -1, intervalMs: 10, logger: silent }), /keep/);
});

test('log rotation: a symlink or FIFO a task put in place of a log is never followed, truncated or written through', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'corral-logrot-'));
  const sandbox = join(tmp, 'sandbox');
  const outside = join(tmp, 'precious');
  const rotator = new LogRotator({ maxBytes: 5, keep: 2, intervalMs: 60_000, logger: silent, files: ['stdout', 'stderr', 'fifo'] });
  try {
    await mkdir(sandbox);
    await writeFile(outside, 'a file outside the sandbox, larger than maxBytes');
    // stdout points outside; stderr is real but its first copy's name points outside.
    await symlink(outside, join(sandbox, 'stdout'));
    await writeFile(join(sandbox, 'stderr'), 'task output over the limit');
    await symlink(outside, join(sandbox, 'stderr.1'));
    execFileSync('mkfifo', [join(sandbox, 'fifo')]);
    rotator.watch(sandbox);
    await rotator.checkNow();
    assert.equal(await readFile(outside, 'utf8'), 'a file outside the sandbox, larger than maxBytes');
    assert.equal((await lstat(join(sandbox, 'stdout'))).isSymbolicLink(), true, 'the link is left as it is');
    assert.equal(await readFile(join(sandbox, 'stderr.1'), 'utf8'), 'task output over the limit', 'the copy is a new file');
    assert.equal((await lstat(join(sandbox, 'stderr.1'))).isSymbolicLink(), false);
    assert.equal(await readFile(join(sandbox, 'stderr'), 'utf8'), '');
  } finally {
    await rotator.close();
    await rm(tmp, { recursive: true, force: true });
  }
});

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
