import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { after, test } from 'node:test';
import { defaultCertificateIfPossible, describeCertificate, ensureDefaultCertificate, privateCertificateDir } from '../../src/lb/default-certificate.ts';

const dir = mkdtempSync(join(tmpdir(), 'corral-lb-default-cert-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('ensureDefaultCertificate makes one PEM (certificate + key, 0600) once, then reuses it', () => {
  const file = join(dir, 'lb-default-cert.pem');
  assert.deepEqual(ensureDefaultCertificate(file), { path: file, created: true });
  const pem = readFileSync(file);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  // Loads as HAProxy's crt format: the same PEM as chain and key.
  assert.doesNotThrow(() => createSecureContext({ cert: pem, key: pem }));
  assert.equal(describeCertificate(file), `${file} (self-signed)`);
  assert.deepEqual(ensureDefaultCertificate(file), { path: file, created: false });
  assert.deepEqual(readFileSync(file), pem, 'the same key across restarts');
});

test('a default certificate that cannot be written is a start-up error naming --ssl-certs', () => {
  assert.throws(() => ensureDefaultCertificate(join(dir, 'missing', 'cert.pem')), /ERR_LB_DEFAULT_CERT|--ssl-certs/);
});

test('without openssl there is no default certificate, a warning, and no refusal to start; other failures still refuse', () => {
  const path = process.env.PATH;
  const warnings: string[] = [];
  process.env.PATH = join(dir, 'no-tools-here');
  try {
    assert.equal(defaultCertificateIfPossible(() => join(dir, 'without-openssl.pem'), (message) => warnings.push(message)), undefined);
  } finally {
    process.env.PATH = path;
  }
  assert.match(warnings.join('\n'), /openssl command was not found.*--ssl-certs/);
  assert.throws(() => defaultCertificateIfPossible(() => join(dir, 'missing', 'cert.pem'), () => undefined), /ERR_LB_DEFAULT_CERT|--ssl-certs/);
});

test('privateCertificateDir: one directory per user, 0700, reused; refused when others may enter it', () => {
  const base = join(dir, 'tmp');
  mkdirSync(base);
  const own = privateCertificateDir(base);
  assert.equal(statSync(own).mode & 0o777, 0o700);
  assert.equal(privateCertificateDir(base), own);
  chmodSync(own, 0o755);
  assert.throws(() => privateCertificateDir(base), /not a directory only this user may enter/);
});
