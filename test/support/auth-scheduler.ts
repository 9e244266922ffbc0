import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PartProcess } from '../../src/cli/child-process.ts';
import type { Action } from '../../src/auth/types.ts';
import { marathonCall } from './marathon-api.ts';
import { startPart } from './parts.ts';

/** A real `corral scheduler --auth` in `dir`, its admin token, and a way to make team tokens. */
export interface AuthScheduler {
  part: PartProcess;
  base: string;
  /** The bootstrap admin's token (from the data dir's admin.token). */
  admin: string;
  /** Creates `identity` with these grants and returns a token of it. */
  tokenFor(identity: string, grants: ReadonlyArray<{ actions: readonly Action[]; path: string }>): Promise<string>;
}

export async function startAuthScheduler(dir: string): Promise<AuthScheduler> {
  const dataDir = join(dir, 'scheduler');
  const part = await startPart('scheduler', ['scheduler', '--auth', '--listen', '127.0.0.1:0', '--data-dir', dataDir], dir);
  const base = String(part.ready.api);
  const admin = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const tokenFor = async (identity: string, grants: ReadonlyArray<{ actions: readonly Action[]; path: string }>): Promise<string> => {
    assert.equal((await marathonCall(base, 'POST', '/v2/auth/identities', { id: identity }, admin)).status, 201);
    for (const grant of grants) assert.equal((await marathonCall(base, 'POST', '/v2/auth/grants', { identity, ...grant }, admin)).status, 201);
    return String((await marathonCall(base, 'POST', '/v2/auth/tokens', { identity }, admin)).json.token);
  };
  return { part, base, admin, tokenFor };
}
