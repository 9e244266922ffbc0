import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

test('corral up that cannot start one part exits 1 and leaves no part running', async () => {
  const dir = tempDir('corral-up-fail-');
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const taken = (blocker.address() as { port: number }).port;
  // Every part's command line names the scheduler's address (--listen or --master).
  const scheduler = `127.0.0.1:${await freePort()}`;
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'up', '--data-dir', dir, '--scheduler-listen', scheduler,
      '--dns-listen', '127.0.0.1:0', '--dns-http', '127.0.0.1:0', '--lb-http-port', '0', '--lb-stats-port', String(taken), '--agents', '3',
      '--agent-http-port-base', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1);
    assert.match(stderr, /lb exited \(1\) before it was ready/);
    let left = '';
    try {
      left = execFileSync('pgrep', ['-af', scheduler]).toString();
    } catch {
      // nothing matched
    }
    assert.equal(left, '', 'no part outlives a failed start');
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Pids of the processes whose command line names `text` (the parts of one `corral up`). */
function partsNaming(text: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', text]).toString().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test('corral up told to stop (SIGTERM) while it starts stops every part once they are up and exits 0', { timeout: 90_000 }, async () => {
  const dir = tempDir('corral-up-term-');
  const scheduler = `127.0.0.1:${await freePort()}`;
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'up', '--data-dir', dir, '--scheduler-listen', scheduler, '--no-auth',
      '--dns-listen', '127.0.0.1:0', '--dns-http', '127.0.0.1:0', '--lb-http-port', '0', '--lb-stats-port', '0', '--agents', '1',
      '--agent-http-port-base', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
    // Half-way: its scheduler is ready, the other parts are still starting.
    await waitFor('the stack\'s scheduler ready', () => {
      try {
        return readFileSync(join(dir, 'logs', 'scheduler.log'), 'utf8').includes('"msg":"ready"') ? true : undefined;
      } catch {
        return undefined;
      }
    }, 30_000);
    child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null], 'corral up stopped itself rather than dying of the signal');
    assert.deepEqual(partsNaming(scheduler), [], 'no part outlives corral up');
  } finally {
    for (const pid of partsNaming(scheduler)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
