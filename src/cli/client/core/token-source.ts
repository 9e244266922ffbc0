/** The file `corral up` writes its admin token to, read from the current directory when nothing else is said. */
export const DEFAULT_TOKEN_FILE = './data/admin.token';

/**
 * Where a client command's token comes from, first found wins: `--token`, `--token-file`,
 * `CORRAL_TOKEN`, `CORRAL_TOKEN_FILE`, then `./data/admin.token` (`corral up`'s) if it exists.
 * A file named by a flag or variable must be readable; the default one may be absent (a
 * scheduler without --auth needs no token).
 */
export type TokenSource =
  | { kind: 'token'; token: string; via: '--token' | 'CORRAL_TOKEN' }
  | { kind: 'file'; file: string; via: '--token-file' | 'CORRAL_TOKEN_FILE' | 'default' }
  /** Nothing given and no `./data/admin.token` here. */
  | { kind: 'none' };

const given = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

export function tokenSource(flags: { token?: string; tokenFile?: string }, env: Record<string, string | undefined>): TokenSource {
  if (given(flags.token)) return { kind: 'token', token: flags.token.trim(), via: '--token' };
  if (given(flags.tokenFile)) return { kind: 'file', file: flags.tokenFile, via: '--token-file' };
  if (given(env.CORRAL_TOKEN)) return { kind: 'token', token: env.CORRAL_TOKEN.trim(), via: 'CORRAL_TOKEN' };
  if (given(env.CORRAL_TOKEN_FILE)) return { kind: 'file', file: env.CORRAL_TOKEN_FILE, via: 'CORRAL_TOKEN_FILE' };
  return { kind: 'file', file: DEFAULT_TOKEN_FILE, via: 'default' };
}

/** What to tell the operator after a 401 or 403, given where the token came from (never the token). */
export function authHint(status: number, source: TokenSource): string {
  if (status === 403) {
    return 'the token is valid but its identity lacks the grant: use a token of an identity that has it (an admin adds one: POST /v2/auth/grants)';
  }
  const how = 'pass a token with --token-file FILE, CORRAL_TOKEN or --token (corral up writes its admin token to ./data/admin.token, read by default from the current directory)';
  if (source.kind === 'none') return `the scheduler requires a token and none was sent: ${how}`;
  const where = source.kind === 'token' ? source.via : source.via === 'default' ? source.file : `${source.via} ${source.file}`;
  return `the scheduler refused the token from ${where} (unknown, expired or revoked): ${how}`;
}
