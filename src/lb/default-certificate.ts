import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inScratchDir, isOpensslMissing, openssl, opensslFailure, writeWhole } from '../shared/openssl.ts';
import { LbError } from './errors.ts';

/** The subject of the certificates made here, so that an operator recognises one in a browser. */
export const DEFAULT_CERT_NAME = 'corral-lb-default';

/**
 * COMPAT(marathon-lb): it ships a default certificate, so its HTTPS port completes a handshake
 * before anyone configures one. Ours is made per installation instead of shipped (a shipped
 * key is everyone's key): a self-signed EC P-256 certificate written to `file` (certificate and
 * key in one PEM, HAProxy's `crt` format, mode 0600) with the openssl CLI, unless `file` already
 * holds one, which is reused, so clients that pinned it keep working across restarts.
 */
export function ensureDefaultCertificate(file: string): { path: string; created: boolean } {
  if (existsSync(file)) {
    chmodSync(file, 0o600);
    return { path: file, created: false };
  }
  try {
    const pem = inScratchDir('corral-lb-cert-', (work) => {
      openssl([
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
        '-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem'), '-subj', `/CN=${DEFAULT_CERT_NAME}`,
        '-addext', `subjectAltName=DNS:${DEFAULT_CERT_NAME},DNS:localhost`,
      ]);
      return readFileSync(join(work, 'cert.pem'), 'utf8') + readFileSync(join(work, 'key.pem'), 'utf8');
    });
    // Two LBs starting at once each rename a whole one (the loser's is replaced, both valid).
    writeWhole(file, pem, 0o600);
    return { path: file, created: true };
  } catch (err) {
    // Without openssl the HTTPS port still serves the certificates of --ssl-certs and the apps' SNI ones.
    if (isOpensslMissing(err)) {
      throw new LbError('ERR_LB_NO_OPENSSL', 'the openssl command was not found, so there is no default certificate: HTTPS handshakes fail until one is given with --ssl-certs (or apt-get install openssl)');
    }
    throw new LbError('ERR_LB_DEFAULT_CERT', `cannot make a default certificate in ${file} (${opensslFailure(err)}); give one with --ssl-certs`);
  }
}

/**
 * `corral lb`'s own place for its default certificate (`corral up` uses its data dir): one
 * directory per user under the temp dir, so that restarts reuse the certificate and a killed LB
 * leaves nothing new behind. Refused unless it is a directory of this user that nobody else may
 * enter: another user's directory there could hold a key they know.
 */
export function privateCertificateDir(base = tmpdir()): string {
  const uid = process.getuid?.();
  const dir = join(base, `corral-lb-${uid ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o077) !== 0) {
    throw new LbError('ERR_LB_DEFAULT_CERT', `${dir} is not a directory only this user may enter; give a certificate with --ssl-certs`);
  }
  return dir;
}

/** The default certificate's path, or undefined (and `warn` told why) on a machine without openssl: no reason to refuse to route. */
export function defaultCertificateIfPossible(file: () => string, warn: (message: string) => void): string | undefined {
  try {
    return ensureDefaultCertificate(file()).path;
  } catch (err) {
    if ((err as LbError).code !== 'ERR_LB_NO_OPENSSL') throw err;
    warn((err as Error).message);
    return undefined;
  }
}

/** How the ready line names the default certificate: its file, and whether it vouches only for itself. */
export function describeCertificate(path: string): string {
  try {
    const cert = new X509Certificate(readFileSync(path));
    return cert.issuer === cert.subject ? `${path} (self-signed)` : path;
  } catch {
    return path;
  }
}
