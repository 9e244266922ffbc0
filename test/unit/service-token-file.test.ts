import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseDnsConfig } from '../../src/dns/config.ts';
import { parseLbConfig } from '../../src/lb/config.ts';
import type { Settings } from '../../src/shared/settings.ts';

const dir = mkdtempSync(join(tmpdir(), 'corral-token-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

const SECRET = 'c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1sZWFr';
const parsers: [command: string, parse: (settings: Settings) => { tokenFile?: string }][] = [
  ['dns', (settings) => parseDnsConfig({ master: 'http://127.0.0.1:8080', ...settings })],
  ['lb', (settings) => parseLbConfig({ master: 'http://127.0.0.1:8080', ...settings })],
];

test('--token-file: an absolute path to a readable one-line token, checked at start-up (table-driven)', () => {
  const good = file('good.token', `  4f1c0ad2-1b7e-4f6b-9d0e-6b1d1e0c9a55.${SECRET}\n`);
  for (const [command, parse] of parsers) {
    assert.equal(parse({}).tokenFile, undefined, `${command}: no token file unless given`);
    assert.equal(parse({ tokenFile: good }).tokenFile, good, command);
    assert.ok(!JSON.stringify(parse({ tokenFile: good })).includes(SECRET), `${command}: the config (served at /v1/config) holds the path, not the token`);
  }
});

test('--token-file: a missing, empty or malformed file is a config error that never shows the content (table-driven)', () => {
  const cases: [tokenFile: string, message: RegExp][] = [
    [join(dir, 'absent.token'), /--token-file: .*absent\.token: cannot read the token file \(ENOENT\)/],
    [dir, /--token-file: .*cannot read the token file \(EISDIR\)/],
    [file('empty.token', '\n'), /--token-file: .*empty\.token: a token file holds one line/],
    [file('two-lines.token', `${SECRET}\n${SECRET}\n`), /--token-file: .*two-lines\.token: a token file holds one line/],
    [file('spaces.token', `Bearer ${SECRET}`), /--token-file: .*spaces\.token: a token file holds one line/],
  ];
  for (const [command, parse] of parsers) {
    for (const [tokenFile, message] of cases) {
      assert.throws(() => parse({ tokenFile }), (err: Error & { code?: string }) => {
        assert.match(err.message, message);
        assert.equal(err.code, 'ERR_CONFIG_INVALID');
        assert.ok(!err.message.includes(SECRET), `${command}: ${tokenFile}: the error does not show the token`);
        return true;
      }, `${command} ${tokenFile}`);
    }
  }
});
