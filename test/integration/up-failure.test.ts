import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, tempDir } from '../support/parts.ts';

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
