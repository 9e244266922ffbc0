import { ACTIONS, type Action, type Decision, type Grant, type Identity } from '../types.ts';
import { covers, grantPath, normalizePath } from './paths.ts';

/**
 * Which granted actions also allow which others. `update` allows `scale`, `restart` and
 * `kill-tasks` because an update can change the instance count or force a restart anyway, and
 * DC/OS Marathon asks for `update` on the app for all three; the finer actions exist to grant
 * them WITHOUT `update`. `read` does not allow `logs`: sandboxes hold what the app definition
 * does not show. `run-as-root` is granted by itself alone. `admin` (only ever on `/`) allows everything.
 */
const ALSO_ALLOWED_BY: Readonly<Record<Action, readonly Action[]>> = {
  create: ['admin'],
  read: ['admin'],
  update: ['admin'],
  delete: ['admin'],
  scale: ['update', 'admin'],
  restart: ['update', 'admin'],
  'kill-tasks': ['update', 'admin'],
  logs: ['admin'],
  admin: [],
  // Only itself (or admin): create/update let a team run its code, not run it as root.
  'run-as-root': ['admin'],
};

type Who = Pick<Identity, 'id' | 'groups'>;

function appliesTo(grant: Grant, who: Who): boolean {
  if (grant.identity !== undefined) return grant.identity === who.id;
  return who.groups?.includes(grant.group) ?? false;
}

/** The normalised scope of a grant that gives `action`, or undefined (an invalid grant gives nothing). */
function scopeFor(grant: Grant, action: Action): string | undefined {
  const scope = normalizePath(grant.path);
  if (!scope.ok) return undefined;
  if (grant.actions.includes('admin')) {
    // admin is cluster-wide: a grant of it anywhere but `/` is invalid (validateGrants says so) and gives nothing.
    return scope.path === '/' ? '/' : undefined;
  }
  const granted = grant.actions.some((held) => held === action || ALSO_ALLOWED_BY[action].includes(held));
  return granted && action !== 'admin' ? scope.path : undefined;
}

/**
 * May `who` do `action` on `path` (a group or app path; `/` for cluster-wide actions)? The
 * first grant in list order that allows it is returned, so an audit line can name it.
 */
export function authorize(grants: readonly Grant[], who: Who, action: Action, path: string): Decision {
  const target = normalizePath(path);
  if (!target.ok) return { allowed: false, reason: `cannot decide ${action} on an invalid path: ${target.reason}` };
  for (const grant of grants) {
    if (!appliesTo(grant, who)) continue;
    const scope = scopeFor(grant, action);
    if (scope !== undefined && covers(scope, target.path)) return { allowed: true, grant };
  }
  const enough = [action, ...ALSO_ALLOWED_BY[action]].join(', ');
  const where = action === 'admin' ? 'the cluster' : `${target.path} or a group above it`;
  return { allowed: false, reason: `identity "${who.id}" may not ${action} ${target.path}: it holds no grant of ${enough} on ${where}` };
}

/** The paths `who` may read, in their order; for group listings, task lists and the event stream. */
export function filterReadable(grants: readonly Grant[], who: Who, paths: readonly string[]): string[] {
  const scopes = grants.flatMap((grant) => {
    const scope = appliesTo(grant, who) ? scopeFor(grant, 'read') : undefined;
    return scope === undefined ? [] : [scope];
  });
  return paths.filter((path) => {
    const target = normalizePath(path);
    return target.ok && scopes.some((scope) => covers(scope, target.path));
  });
}

/** What is wrong with each grant (`grant 2: ...`), for refusing a policy before it is stored. */
export function validateGrants(grants: readonly Grant[]): string[] {
  return grants.flatMap((grant, index) => {
    const problems: string[] = [];
    const hasIdentity = typeof grant.identity === 'string' && grant.identity !== '';
    const hasGroup = typeof grant.group === 'string' && grant.group !== '';
    if (hasIdentity === hasGroup) problems.push('name exactly one of identity or group');
    if (grant.actions.length === 0) problems.push('grant at least one action');
    const unknown = grant.actions.filter((action) => !ACTIONS.includes(action));
    if (unknown.length > 0) problems.push(`use only known actions (${ACTIONS.join(', ')}), not ${unknown.join(', ')}`);
    const scope = normalizePath(grantPath(grant.path));
    if (!scope.ok) problems.push(`have a valid path (${scope.reason})`);
    else if (grant.actions.includes('admin') && scope.path !== '/') problems.push(`grant admin on / only (admin is cluster-wide), not on ${scope.path}`);
    return problems.map((problem) => `grant ${index} must ${problem}`);
  });
}
