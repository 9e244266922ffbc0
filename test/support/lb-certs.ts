import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A self-signed certificate for `names` made with the openssl CLI, written in HAProxy's `crt`
 * format (certificate and key in one PEM), as `HAPROXY_{n}_SSL_CERT` and `--ssl-certs` expect.
 * Returns the file and the certificate alone (for the client's trust store).
 */
export function makeCertificate(dir: string, names: readonly string[]): { path: string; cert: string } {
  const base = join(dir, names[0] ?? 'cert');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', `${base}.key`, '-out', `${base}.crt`, '-subj', `/CN=${names[0] ?? 'cert'}`,
    '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
  ], { stdio: 'ignore' });
  const cert = readFileSync(`${base}.crt`, 'utf8');
  const path = `${base}.pem`;
  writeFileSync(path, cert + readFileSync(`${base}.key`, 'utf8'));
  return { path, cert };
}
