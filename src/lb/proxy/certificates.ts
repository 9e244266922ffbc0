import { readFileSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';

interface Loaded {
  readonly mtimeMs: number;
  readonly size: number;
  readonly pem?: Buffer;
  readonly context?: SecureContext;
  readonly certificate?: X509Certificate;
  readonly error?: string;
}

/**
 * Certificate files (HAProxy's `crt` format: one PEM holding the certificate chain and the private
 * key), loaded into TLS contexts and reloaded when the file changes. A file that cannot be read
 * or parsed is reported, never thrown: the routes needing it are rejected, the rest serve on.
 */
export class CertificateStore {
  readonly #loaded = new Map<string, Loaded>();

  /** (Re)loads `paths`; returns the ones that failed, with why. Forgets files no longer asked for. */
  refresh(paths: readonly string[]): Map<string, string> {
    const failed = new Map<string, string>();
    const wanted = new Set(paths);
    for (const path of this.#loaded.keys()) if (!wanted.has(path)) this.#loaded.delete(path);
    for (const path of wanted) {
      const loaded = this.#load(path);
      if (loaded.error !== undefined) failed.set(path, loaded.error);
    }
    return failed;
  }

  /** The TLS context of a loaded file. */
  context(path: string): SecureContext | undefined {
    return this.#loaded.get(path)?.context;
  }

  /** The PEM text of a loaded file (a TLS server's default certificate and key). */
  pem(path: string): Buffer | undefined {
    return this.#loaded.get(path)?.pem;
  }

  /** The first of `paths` whose certificate names `servername` (SANs, wildcards included). */
  match(paths: readonly string[], servername: string): string | undefined {
    return paths.find((path) => this.#loaded.get(path)?.certificate?.checkHost(servername) !== undefined);
  }

  #load(path: string): Loaded {
    let stat;
    try {
      stat = statSync(path);
    } catch (err) {
      return this.#remember(path, { mtimeMs: 0, size: 0, error: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    }
    const known = this.#loaded.get(path);
    if (known !== undefined && known.mtimeMs === stat.mtimeMs && known.size === stat.size) return known;
    try {
      const pem = readFileSync(path);
      // The same PEM serves as chain and key: OpenSSL picks the blocks it needs from each.
      const context = createSecureContext({ cert: pem, key: pem });
      return this.#remember(path, { mtimeMs: stat.mtimeMs, size: stat.size, pem, context, certificate: new X509Certificate(pem) });
    } catch (err) {
      return this.#remember(path, { mtimeMs: stat.mtimeMs, size: stat.size, error: `cannot load ${path}: ${(err as Error).message}` });
    }
  }

  #remember(path: string, loaded: Loaded): Loaded {
    this.#loaded.set(path, loaded);
    return loaded;
  }
}
