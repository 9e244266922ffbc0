import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { caOf } from '../../src/cli/client/command-kit.ts';
import { ensureUpTls } from '../../src/cli/up-tls.ts';

/** The CLI reads `corral up --tls`'s ./data/ca.pem when nothing else names a CA, as it reads ./data/admin.token. */

const dir = mkdtempSync(join(tmpdir(), 'corral-cli-ca-'));
const cwd = process.cwd();
const other = join(dir, 'other.pem');
before(() => {
  mkdirSync(join(dir, 'data'));
  copyFileSync(ensureUpTls(join(dir, 'data')).ca, other);
  process.chdir(dir);
});
after(() => {
  process.chdir(cwd);
  rmSync(dir, { recursive: true, force: true });
});

test('caOf: --ca over CORRAL_CA over ./data/ca.pem, which only https masters pick up', () => {
  const https = 'https://127.0.0.1:8080';
  const cases: Array<[string, Parameters<typeof caOf>[0], Record<string, string>, string | undefined]> = [
    ['https master, nothing given: ./data/ca.pem', { master: https }, {}, join(dir, 'data', 'ca.pem')],
    ['https master via CORRAL_MASTER', {}, { CORRAL_MASTER: https }, join(dir, 'data', 'ca.pem')],
    ['--ca wins', { master: https, ca: other }, {}, other],
    ['CORRAL_CA wins', { master: https }, { CORRAL_CA: other }, other],
    ['plain master (the default): no CA', {}, {}, undefined],
    ['one plain master among https ones: no CA', { master: `${https},http://127.0.0.1:8081` }, {}, undefined],
  ];
  for (const [name, flags, env, expected] of cases) assert.equal(caOf(flags, env), expected, name);
});

test('caOf: without ./data/ca.pem an https master has no CA (the system\'s authorities)', () => {
  process.chdir(tmpdir());
  try {
    assert.equal(caOf({ master: 'https://127.0.0.1:8080' }, {}), undefined);
  } finally {
    process.chdir(dir);
  }
});
