import type { Grant, Identity, TokenRecord } from '../types.ts';
import { hasAdmin } from './admins.ts';

export const ADMIN_ID = 'admin';
export const ADMIN_GRANT_ID = 'admin';

/** What a first start with auth creates: the admin identity, its grant of admin on `/`, and its first token. */
export interface Bootstrap {
  identity: Identity;
  grant: Grant;
  grantId: string;
  token: TokenRecord;
}

/**
 * Whether a start with auth must create the admin (none of the stored identities holds admin on
 * `/`), and what it creates with `token` (made for `admin`). Undefined when an admin exists:
 * its tokens, wherever they went, are the way in.
 */
export function bootstrapAdmin(identities: Iterable<Identity>, grants: readonly Grant[], token: TokenRecord): Bootstrap | undefined {
  if (hasAdmin(identities, grants)) return undefined;
  return { identity: { id: ADMIN_ID, kind: 'user' }, grant: { identity: ADMIN_ID, actions: ['admin'], path: '/' }, grantId: ADMIN_GRANT_ID, token };
}
