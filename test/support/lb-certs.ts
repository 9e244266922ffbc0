import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';

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

/** A certificate authority made with the openssl CLI: its certificate (what `--ca` names) and key. */
export interface TestAuthority {
  readonly cert: string;
  readonly key: string;
}

export function makeAuthority(dir: string, name = 'corral-test-ca'): TestAuthority {
  const base = join(dir, name);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', `${base}.key`, '-out', `${base}.crt`, '-subj', `/CN=${name}`,
  ], { stdio: 'ignore' });
  return { cert: `${base}.crt`, key: `${base}.key` };
}

/**
 * A server certificate signed by `authority` for `names` (IP addresses get IP entries, others DNS
 * entries), as `--tls-cert`/`--tls-key` expect: certificate and key in two files.
 */
export function issueCertificate(authority: TestAuthority, dir: string, names: readonly string[]): { cert: string; key: string } {
  const base = join(dir, `${names[0] ?? 'server'}-server`);
  const san = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-CA', authority.cert, '-CAkey', authority.key,
    '-keyout', `${base}.key`, '-out', `${base}.crt`, '-subj', `/CN=${names[0] ?? 'server'}`,
    '-addext', `subjectAltName=${san}`, '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth',
  ], { stdio: 'ignore' });
  return { cert: `${base}.crt`, key: `${base}.key` };
}

/** The common name of the certificate a TLS server presents for `servername` (not verified: self-signed ones too). */
export function presentedName(host: string, port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, servername, rejectUnauthorized: false }, () => {
      const name = String(socket.getPeerCertificate().subject?.CN);
      socket.destroy();
      resolve(name);
    });
    socket.once('error', reject);
  });
}
