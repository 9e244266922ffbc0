import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync, writeFileSync } from 'node:fs';
import { absolutePath, type FieldParser } from '../shared/config.ts';
import { SECRET_BYTES } from './token-secrets.ts';

/** Shorter join tokens are refused: the token is the only thing keeping strangers' agents out. */
const MIN_LENGTH = 16;
// What a Bearer token may be made of (RFC 6750), so that it travels as is.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/** Reads the join token an agent presents on its first registration (`--join-token-file`): the file's one line. */
export function readJoinToken(file: string, what = 'a join token'): string {
  const token = readFileSync(file, 'utf8').trim();
  if (token.length < MIN_LENGTH || token.length > 512 || !B64TOKEN.test(token)) {
    throw new Error(`${file}: ${what} is one line of ${MIN_LENGTH} to 512 characters out of A-Z a-z 0-9 - . _ ~ + / (then = padding)`);
  }
  return token;
}

/** `corral agent --metrics-token-file`: the scrape token Prometheus sends for `/metrics`, as strict as a join token. */
export const metricsTokenFile: FieldParser<string> = (raw) => {
  const file = absolutePath(raw);
  try {
    readJoinToken(file, 'a metrics token');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === undefined ? err : new Error(`${file}: cannot read the metrics token file (${code})`);
  }
  return file;
};

/**
 * Reads the token a service (DNS, LB) presents to the scheduler (`--token-file`): the file's one
 * line. Errors name the file, never its content.
 */
export function readServiceToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`${file}: cannot read the token file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (token === '' || token.length > 1024 || !B64TOKEN.test(token)) {
    throw new Error(`${file}: a token file holds one line (the token from POST /v2/auth/tokens) of A-Z a-z 0-9 - . _ ~ + / (then = padding)`);
  }
  return token;
}

/** `--token-file` of `corral dns` and `corral lb`: an absolute path whose token reads well at start-up. */
export const serviceTokenFile: FieldParser<string> = (raw) => {
  const file = absolutePath(raw);
  readServiceToken(file);
  return file;
};

/** Writes a new random join token to `file` (0600) unless one is there already; the file's token either way. */
export function ensureJoinToken(file: string): string {
  try {
    writeFileSync(file, `${randomBytes(SECRET_BYTES).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readJoinToken(file);
}

/**
 * Writes a secret readable by its owner only, atomically: a crash leaves the old file or the new
 * one, never half of one, and the secret is never in a file others can read, even for a moment.
 * With `overwrite: false` an existing file is kept and the write fails with EEXIST (the link
 * that publishes the file refuses it, so two writers cannot both win).
 */
export function writeSecretFile(file: string, secret: string, options: { overwrite?: boolean } = {}): void {
  const temporary = `${file}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, `${secret}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (options.overwrite !== false) {
    renameSync(temporary, file);
    return;
  }
  try {
    linkSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}
