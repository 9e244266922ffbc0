import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeSecretFile } from '../../src/auth/secret-files.ts';

const dir = mkdtempSync(join(tmpdir(), 'corral-secret-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('writeSecretFile: 0600, replaces by default, never over an existing file with overwrite false', () => {
  const cases: Array<[name: string, existing: string | undefined, overwrite: boolean | undefined, expected: string | RegExp]> = [
    ['a new file', undefined, undefined, 'new\n'],
    ['replaces an old secret', 'old\n', undefined, 'new\n'],
    ['a new file, exclusive', undefined, false, 'new\n'],
    ['an existing file, exclusive: refused, kept', 'old\n', false, /EEXIST/],
  ];
  for (const [i, [name, existing, overwrite, expected]] of cases.entries()) {
    const file = join(dir, `secret-${i}`);
    if (existing !== undefined) writeFileSync(file, existing, { mode: 0o600 });
    const write = () => writeSecretFile(file, 'new', overwrite === undefined ? {} : { overwrite });
    if (expected instanceof RegExp) {
      assert.throws(write, (err: NodeJS.ErrnoException) => expected.test(String(err.code)), name);
      assert.equal(readFileSync(file, 'utf8'), existing, name);
    } else {
      write();
      assert.equal(readFileSync(file, 'utf8'), expected, name);
      assert.equal(statSync(file).mode & 0o777, 0o600, name);
    }
  }
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left behind');
});
