import type { Grant, Identity } from '../types.ts';
import { authorize } from './policy.ts';

/** Whether any of `identities` holds `admin` on `/` (directly or through an identity group). */
export function hasAdmin(identities: Iterable<Identity>, grants: readonly Grant[]): boolean {
  for (const identity of identities) if (authorize(grants, identity, 'admin', '/').allowed) return true;
  return false;
}

interface Policy {
  identities: Iterable<Identity>;
  grants: readonly Grant[];
}

/**
 * Why a change of identities or grants through `/v2/auth` must be refused: it would leave nobody
 * holding admin on `/`, so nobody could grant, revoke or administer anything again (the bootstrap
 * only runs when no identity holds it, at the next start). Undefined when the change may go.
 */
export function adminLockout(before: Policy, after: Policy): string | undefined {
  if (!hasAdmin(before.identities, before.grants) || hasAdmin(after.identities, after.grants)) return undefined;
  return 'nobody would hold admin on / after this change, and nobody could administer the cluster any more: grant admin on / to another identity first';
}
