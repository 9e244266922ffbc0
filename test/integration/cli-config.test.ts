import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { corral } from '../support/cli-run.ts';

// Each part refuses to start on bad settings and names every bad one, so one run is enough to fix them all.
const cases: [args: string[], env: Record<string, string>, expected: RegExp[]][] = [
  [['scheduler', '--agent-timeout', 'x', '--listen', 'nope'], {}, [/--listen: expected host:port, got 'nope'/, /--agent-timeout: expected a duration like 15s or 500ms, got 'x'/]],
  [['scheduler', '--log-level', 'loud', '--listen', 'nope'], {}, [/--listen: expected host:port/, /--log-level: expected one of fatal, /]],
  [['scheduler', '--listen', 'nope'], { CORRAL_MAX_VERSIONS: '0' }, [/--listen: expected host:port/, /--max-versions \(CORRAL_MAX_VERSIONS\): expected a whole number >= 1, got '0'/]],
  // Refused before anything listens: nothing is ever served on 0.0.0.0.
  [['scheduler', '--listen', '0.0.0.0:0'], {}, [/--listen: 0\.0\.0\.0 is not a loopback address: without --auth .* add --auth \(or --insecure/]],
  [['scheduler', '--listen', '0.0.0.0:0', '--auth'], {}, [/--join-token-file: 0\.0\.0\.0 is not a loopback address: without agent admission .* add --join-token-file \(or --insecure/]],
  [['agent', '--master', 'ftp://x', '--log-keep', 'many'], {}, [/--master: 'ftp:\/\/x' must be http/, /--log-keep: expected a whole number >= 0, got 'many'/]],
  [['dns', '--master', 'x', '--ttl', '-1'], {}, [/--master: 'x' is not a URL/, /--ttl: expected whole seconds/]],
  [['lb', '--bind', 'localhost', '--workers', '99'], {}, [/--bind: expected an IP address/, /--workers: expected a whole number from 0 to 64/]],
  [['up', '--agents', '0', '--lb-http-port', 'eighty'], {}, [/--agents: expected a whole number from 1 to 200/, /--lb-http-port: expected a port/]],
];

for (const [args, env, expected] of cases) {
  test(`corral ${args.join(' ')} exits 1 naming every bad setting`, { timeout: 30_000 }, async () => {
    const result = await corral(args, { env });
    assert.equal(result.code, 1, result.stderr);
    const line = result.stderr.split('\n').find((l) => l.startsWith(`corral ${args[0]}: invalid settings: `));
    assert.ok(line !== undefined, result.stderr);
    for (const pattern of expected) assert.match(line, pattern);
  });
}

test('corral app list --master with a bad URL is a usage error (exit 2) from the same --master parser', { timeout: 30_000 }, async () => {
  const result = await corral(['app', 'list'], { master: 'localhost' });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /--master \(CORRAL_MASTER\): 'localhost' is not a URL/);
});

test('an unreadable or non-object --config FILE exits 1 with one line, no stack trace', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'corral-config-'));
  try {
    writeFileSync(join(dir, 'list.json'), '[1, 2]');
    const cases: Array<[file: string, expected: RegExp]> = [
      [join(dir, 'missing.json'), /^corral scheduler: cannot read --config .*missing\.json: ENOENT/],
      [join(dir, 'list.json'), /^corral scheduler: --config .*list\.json must hold a JSON object/],
    ];
    for (const [file, expected] of cases) {
      const result = await corral(['scheduler', '--config', file]);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, expected);
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
