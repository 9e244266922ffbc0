import { rm } from 'node:fs/promises';
import { ADMIN_ID, bootstrapAdmin } from '../../auth/core/bootstrap.ts';
import { writeSecretFile } from '../../auth/secret-files.ts';
import { newToken } from '../../auth/token-secrets.ts';
import type { Logger } from '../../shared/log.ts';
import type { SchedulerState } from '../state.ts';

export const ADMIN_TOKEN_FILE = 'admin.token';

/**
 * On a start with --auth and no admin yet: creates `admin` (admin on `/`) and writes its token to
 * `path` (`<dataDir>/admin.token` unless --admin-token-file says otherwise), mode 0600, never over an existing file. The file is written before the
 * commit so that a failed write leaves no admin nobody can use; a failed commit removes the file.
 */
export async function bootstrapAuth(state: SchedulerState, path: string, logger: Logger): Promise<void> {
  const current = state.current;
  const { token, record } = newToken(ADMIN_ID, Date.now());
  const plan = bootstrapAdmin(current.identities.values(), [...current.grants.values()], record);
  if (plan === undefined) return;
  try {
    writeSecretFile(path, token, { overwrite: false });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    throw new Error(`${path} exists but the state holds no admin: it belongs to another state; move it away to bootstrap a new admin`);
  }
  try {
    await state.transact(() => ({
      ops: [
        { op: 'put', coll: 'identities', key: plan.identity.id, value: plan.identity },
        { op: 'put', coll: 'grants', key: plan.grantId, value: plan.grant },
        { op: 'put', coll: 'tokens', key: plan.token.id, value: plan.token },
      ],
      events: [],
      result: undefined,
    }));
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  logger.child({ component: 'audit' }).info({ identity: ADMIN_ID, tokenId: plan.token.id, tokenFile: path }, 'auth bootstrap: admin identity created, its token written');
}
