import { existsSync } from 'node:fs';
import { request, type Dispatcher } from 'undici';
import { readServiceToken, writeSecretFile } from '../auth/secret-files.ts';

/** The read-only identity `corral up` makes for its DNS and LB (a `service`, `read` on `/`). */
export const FOLLOWERS_ID = 'corral-up-followers';
const FOLLOWERS_GRANT_ID = 'corral-up-followers-read';

/** The admin token the scheduler's bootstrap wrote; a clear error when a state with an admin outlived its file. */
export function readAdminToken(file: string): string {
  if (!existsSync(file)) {
    throw new Error(`${file} is missing, but the scheduler's state already has an admin (its token went there on the first start): put that token back in ${file}, or start over with an empty data dir`);
  }
  return readServiceToken(file);
}

async function call(master: string, token: string, dispatcher: Dispatcher | undefined, method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await request(new URL(path, master), {
    method,
    ...(dispatcher === undefined ? {} : { dispatcher }),
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.body.text();
  return { status: response.statusCode, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function mayReadAll(master: string, token: string, dispatcher: Dispatcher | undefined): Promise<boolean> {
  const answer = await call(master, token, dispatcher, 'POST', '/v2/auth/check', { action: 'read', path: '/' });
  return answer.status === 200 && answer.json.allowed === true;
}

/**
 * Makes sure `file` (0600) holds a token that may read everything, for `corral dns|lb --token-file`:
 * a token already there that still works is kept (a second `corral up` over the same data dir adds
 * nothing); otherwise the followers' identity and grant are put (idempotent) and one token issued.
 * Returns whether a new token was issued. `dispatcher` trusts the stack's CA under `corral up --tls`.
 */
export async function ensureFollowersToken(master: string, adminToken: string, file: string, dispatcher?: Dispatcher): Promise<boolean> {
  if (existsSync(file)) {
    let current: string | undefined;
    try {
      current = readServiceToken(file);
    } catch {
      current = undefined;
    }
    if (current !== undefined && (await mayReadAll(master, current, dispatcher))) return false;
  }
  const steps: Array<[string, unknown]> = [
    ['/v2/auth/identities', { id: FOLLOWERS_ID, kind: 'service' }],
    ['/v2/auth/grants', { id: FOLLOWERS_GRANT_ID, identity: FOLLOWERS_ID, actions: ['read'], path: '/' }],
    ['/v2/auth/tokens', { identity: FOLLOWERS_ID }],
  ];
  let token: unknown;
  for (const [path, body] of steps) {
    const answer = await call(master, adminToken, dispatcher, 'POST', path, body);
    if (answer.status !== 201) throw new Error(`POST ${path} with the admin token answered ${answer.status}: ${String(answer.json.message ?? '')}`);
    token = answer.json.token;
  }
  writeSecretFile(file, String(token));
  return true;
}
