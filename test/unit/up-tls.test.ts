import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensureUpTls } from '../../src/cli/up-tls.ts';
import { isOpensslMissing } from '../../src/shared/openssl.ts';

const dir = mkdtempSync(join(tmpdir(), 'corral-up-tls-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const mode = (file: string): number => statSync(file).mode & 0o777;

test('ensureUpTls makes a CA and a loopback certificate it signed, keys 0600, once; a second call reuses both', () => {
  const data = join(dir, 'once');
  mkdirSync(data);
  const made = ensureUpTls(data);
  assert.deepEqual(made, { ca: join(data, 'ca.pem'), cert: join(data, 'tls-cert.pem'), key: join(data, 'tls-key.pem'), created: true });
  assert.equal(mode(made.key), 0o600);
  assert.equal(mode(join(data, 'ca.key')), 0o600);
  const ca = new X509Certificate(readFileSync(made.ca));
  const cert = new X509Certificate(readFileSync(made.cert));
  assert.ok(ca.ca, 'the CA may sign');
  assert.ok(!cert.ca);
  assert.ok(cert.verify(ca.publicKey), 'signed by the CA');
  assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(cert.checkHost('localhost'), 'localhost');
  const before = [made.ca, made.cert, made.key].map((file) => readFileSync(file, 'utf8'));
  assert.deepEqual(ensureUpTls(data), { ...made, created: false });
  assert.deepEqual([made.ca, made.cert, made.key].map((file) => readFileSync(file, 'utf8')), before);
});

test('a broken server certificate is made again under the same CA', () => {
  const data = join(dir, 'broken');
  mkdirSync(data);
  const made = ensureUpTls(data);
  const ca = readFileSync(made.ca, 'utf8');
  writeFileSync(made.cert, 'not a certificate');
  assert.equal(ensureUpTls(data).created, false);
  assert.equal(readFileSync(made.ca, 'utf8'), ca);
  assert.ok(new X509Certificate(readFileSync(made.cert)).verify(new X509Certificate(ca).publicKey));
});

test('without openssl, or where it cannot write, a clear error', () => {
  const path = process.env.PATH;
  process.env.PATH = join(dir, 'nothing-here');
  try {
    assert.throws(() => ensureUpTls(join(dir, 'no-openssl')), /openssl command, which is not on the PATH/);
  } finally {
    process.env.PATH = path;
  }
  assert.throws(() => ensureUpTls(join(dir, 'absent', 'dir')), /cannot make corral up --tls's certificates in/);
});

test('isOpensslMissing: only a missing openssl binary', () => {
  const cases: Array<[unknown, boolean]> = [
    [Object.assign(new Error('spawnSync openssl ENOENT'), { code: 'ENOENT', path: 'openssl' }), true],
    [Object.assign(new Error('no such file'), { code: 'ENOENT', path: '/tmp/x/key.pem' }), false],
    [Object.assign(new Error('Command failed: openssl req'), { status: 1 }), false],
  ];
  for (const [err, missing] of cases) assert.equal(isOpensslMissing(err), missing, (err as Error).message);
});
