import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { after, test } from 'node:test';
import { describeCertificate, ensureDefaultCertificate } from '../../src/lb/default-certificate.ts';

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
