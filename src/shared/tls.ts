import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { absolutePath, type FieldParser, type RawSetting } from './config.ts';

/**
 * TLS for Corral's own HTTP servers (`--tls-cert`/`--tls-key`) and for the clients that call
 * them (`--ca`). Settings hold file paths only, checked at start-up; the files are read again
 * where a server or client is made (LB workers and DNS UDP helpers get the paths over IPC, never
 * key material). Errors name the file, never its content.
 */

/** The `https` options of a server: a certificate (chain) and its private key, PEM. */
export interface ServerTls {
  readonly cert: string;
  readonly key: string;
}

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the ${what} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The certificates of a PEM file, or an error saying the file holds none (or a broken one). */
function readCertificates(file: string, what: string): X509Certificate[] {
  const pem = readPem(file, what);
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${file}: not a PEM certificate (expected -----BEGIN CERTIFICATE-----)`);
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    throw new Error(`${file}: a certificate in it cannot be parsed`);
  }
}

/** A path setting where `''` means unset (so a default or `CORRAL_*` variable can leave it empty). */
function optionalFile(check: (file: string) => void): FieldParser<string | undefined> {
  return (raw: RawSetting) => {
    if (raw === undefined || raw === '' || raw === false) return undefined;
    const file = absolutePath(raw);
    check(file);
    return file;
  };
}

/** `--tls-cert`: a PEM certificate, the server's first, then any intermediates. */
export const tlsCertFile = optionalFile((file) => void readCertificates(file, 'certificate'));

/** `--tls-key`: the PEM private key of `--tls-cert` (unencrypted: nobody types a passphrase at start-up). */
export const tlsKeyFile = optionalFile((file) => {
  try {
    createPrivateKey(readPem(file, 'private key'));
  } catch (err) {
    if ((err as Error).message.startsWith(file)) throw err;
    throw new Error(`${file}: not an unencrypted PEM private key`);
  }
});

/** `--ca`: the PEM certificate(s) a client trusts instead of the system's authorities. */
export const caFile = optionalFile((file) => void readCertificates(file, 'CA certificate'));

/**
 * The cross-setting rules of a server's TLS, for parseConfig's `check`: both files or neither,
 * and the key is the certificate's.
 */
export function tlsPairProblems(config: { readonly tlsCert?: string | undefined; readonly tlsKey?: string | undefined }): [key: string, message: string][] {
  const { tlsCert, tlsKey } = config;
  if (tlsCert === undefined && tlsKey === undefined) return [];
  if (tlsCert === undefined) return [['tlsCert', 'missing: --tls-key needs --tls-cert']];
  if (tlsKey === undefined) return [['tlsKey', 'missing: --tls-cert needs --tls-key']];
  const [leaf] = readCertificates(tlsCert, 'certificate');
  if (leaf === undefined || !leaf.checkPrivateKey(createPrivateKey(readPem(tlsKey, 'private key')))) {
    return [['tlsKey', `${tlsKey} is not the private key of ${tlsCert}`]];
  }
  return [];
}

/**
 * For parseConfig's `check`: with `--ca` every scheduler URL must be https (a plain one would
 * send tokens and task definitions in the clear although the operator asked for TLS).
 */
export function plainMasterProblems(config: { readonly ca?: string | undefined; readonly masters: readonly string[] }): [key: string, message: string][] {
  if (config.ca === undefined) return [];
  const plain = config.masters.filter((master) => master.startsWith('http:'));
  return plain.length === 0 ? [] : [['master', `${plain.join(', ')} is plain HTTP although --ca is given: use https://`]];
}

/** Reads the server's certificate and key (checked at start-up by the config) for `https.createServer`/fastify. */
export function serverTls(files: { readonly tlsCert?: string | undefined; readonly tlsKey?: string | undefined }): ServerTls | undefined {
  if (files.tlsCert === undefined || files.tlsKey === undefined) return undefined;
  return { cert: readPem(files.tlsCert, 'certificate'), key: readPem(files.tlsKey, 'private key') };
}

/**
 * A fastify server's options with its `https` option when `tls` is given. Typed as the plain
 * options: the routes and hooks are the same either way, only the listener differs.
 */
export function withTls<T extends object>(options: T, tls: ServerTls | undefined): T {
  return tls === undefined ? options : { ...options, https: tls };
}

/** The scheme of a server's own URL (ready lines, the endpoint an agent registers). */
export function schemeOf(tls: ServerTls | undefined): 'http' | 'https' {
  return tls === undefined ? 'http' : 'https';
}

/**
 * Whether an error code (Node's TLS codes: unknown authority, self-signed, wrong name, expired)
 * says the server's certificate was not trusted, so the message can point at `--ca`.
 */
export function isUntrustedCertificate(code: unknown): boolean {
  return typeof code === 'string' && /CERT|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|SELF_SIGNED/.test(code);
}

/** undici's `connect` options of a client: the `--ca` certificates as the only trusted ones, or the system's. */
export function clientConnect(ca: string | undefined): { ca?: string } {
  return ca === undefined ? {} : { ca: readPem(ca, 'CA certificate') };
}

/** A dispatcher for undici's `request`/`fetch` that trusts `--ca` (or the system's authorities). */
export function clientDispatcher(ca: string | undefined, options: Omit<Agent.Options, 'connect'> & { connect?: { timeout?: number } } = {}): Agent {
  return new Agent({ ...options, connect: { ...options.connect, ...clientConnect(ca) } });
}
