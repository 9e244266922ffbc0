import { X509Certificate, createPrivateKey } from 'node:crypto';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inScratchDir, isOpensslMissing, openssl, opensslFailure, writeWhole } from '../shared/openssl.ts';

/** `corral up --tls`'s files in its data dir: the CA the clients trust (`--ca`), and the one certificate every part serves. */
export const UP_CA_FILE = 'ca.pem';
const CA_KEY_FILE = 'ca.key';
const CERT_FILE = 'tls-cert.pem';
const KEY_FILE = 'tls-key.pem';
const CA_NAME = 'corral-up-ca';
/** Every part of the stack listens on loopback: one certificate for the addresses its clients dial. */
const SERVER_NAMES = 'IP:127.0.0.1,DNS:localhost';
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650'];

export interface UpTls {
  /** What the clients (agents, dns, lb, the CLI) take as `--ca`. */
  ca: string;
  /** What the servers take as `--tls-cert` and `--tls-key`. */
  cert: string;
  key: string;
  /** Whether this call made the CA (a first `corral up --tls` over this data dir). */
  created: boolean;
}

const usable = (certFile: string, keyFile: string, issuer?: X509Certificate): boolean => {
  if (!existsSync(certFile) || !existsSync(keyFile)) return false;
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    return cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile))) && (issuer === undefined || cert.verify(issuer.publicKey));
  } catch {
    return false;
  }
};

/** Makes a certificate and its key with `openssl req -x509 extra…` and writes them (the key 0600) to the data dir. */
function make(certFile: string, keyFile: string, extra: readonly string[]): void {
  inScratchDir('corral-up-tls-', (work) => {
    openssl(['req', '-x509', ...EC, '-keyout', join(work, 'key.pem'), '-out', join(work, 'cert.pem'), ...extra]);
    // The key first: a certificate on disk always has its key beside it.
    writeWhole(keyFile, readFileSync(join(work, 'key.pem'), 'utf8'), 0o600);
    writeWhole(certFile, readFileSync(join(work, 'cert.pem'), 'utf8'), 0o644);
  });
}

/**
 * The CA and server certificate of `corral up --tls` in `dataDir`, made with the openssl CLI on
 * the first run and reused after (so a CLI or browser told to trust `ca.pem` keeps trusting the
 * stack). A server certificate that is missing, broken or not the CA's is made again; keys are 0600.
 */
export function ensureUpTls(dataDir: string): UpTls {
  const ca = join(dataDir, UP_CA_FILE);
  const caKey = join(dataDir, CA_KEY_FILE);
  const cert = join(dataDir, CERT_FILE);
  const key = join(dataDir, KEY_FILE);
  try {
    const created = !usable(ca, caKey);
    if (created) make(ca, caKey, ['-subj', `/CN=${CA_NAME}`]);
    if (created || !usable(cert, key, new X509Certificate(readFileSync(ca)))) {
      make(cert, key, ['-CA', ca, '-CAkey', caKey, '-subj', '/CN=127.0.0.1', '-addext', `subjectAltName=${SERVER_NAMES}`,
        '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=serverAuth']);
    }
    chmodSync(caKey, 0o600);
    chmodSync(key, 0o600);
    return { ca, cert, key, created };
  } catch (err) {
    if (isOpensslMissing(err)) throw new Error('corral up --tls makes its certificates with the openssl command, which is not on the PATH: install it (apt-get install openssl) and try again');
    throw new Error(`cannot make corral up --tls's certificates in ${dataDir} (${opensslFailure(err)})`);
  }
}
