import { MARATHON_ID_SEGMENT } from '../../shared/marathon-names.ts';

/** Longer than any app id the scheduler accepts; bounds the work a hostile path can cause. */
const MAX_PATH_LENGTH = 1024;

export type PathResult = { ok: true; path: string } | { ok: false; reason: string };

/**
 * The canonical form of a group or app path: absolute, no empty segments (`//`, a trailing `/`),
 * every segment a Marathon id segment. `.` and `..` are refused, not resolved: the scheduler
 * resolves relative ids before asking, so a `..` reaching auth is a trick, and a path must name
 * exactly one place for the answer to mean anything.
 */
export function normalizePath(raw: string): PathResult {
  if (raw.length === 0) return { ok: false, reason: 'the path is empty' };
  if (raw.length > MAX_PATH_LENGTH) return { ok: false, reason: `the path is longer than ${MAX_PATH_LENGTH} characters` };
  const segments = raw.split('/').filter((segment) => segment !== '');
  for (const segment of segments) {
    if (segment === '.' || segment === '..') return { ok: false, reason: `the path ${JSON.stringify(raw)} holds a '${segment}' segment` };
    if (!MARATHON_ID_SEGMENT.test(segment)) {
      return { ok: false, reason: `the segment ${JSON.stringify(segment)} of ${JSON.stringify(raw)} is not a valid id segment` };
    }
  }
  return { ok: true, path: `/${segments.join('/')}` };
}

const DCOS_SERVICES = 'dcos:service:marathon:marathon:services:';

/**
 * The path a grant (or a "may I?" check) names: DC/OS's resource for Marathon's services,
 * `dcos:service:marathon:marathon:services:/team-a`, is the path `/team-a` (its case aside, as
 * DC/OS writes it either way); anything else is taken as a path (and normalizePath judges it).
 */
export function grantPath(raw: string): string {
  const rest = raw.slice(DCOS_SERVICES.length);
  return raw.slice(0, DCOS_SERVICES.length).toLowerCase() === DCOS_SERVICES && rest.startsWith('/') ? rest : raw;
}

/**
 * Whether `scope` covers `path` (both normalised): itself and everything below it, by whole
 * segments, so `/team-a` covers `/team-a/web` but never `/team-ab`.
 */
export function covers(scope: string, path: string): boolean {
  return scope === '/' || path === scope || path.startsWith(`${scope}/`);
}

/** `/team-a/web` → `['/', '/team-a', '/team-a/web']`: every scope that covers a normalised path. */
export function scopesOf(path: string): string[] {
  const segments = path.split('/').filter((segment) => segment !== '');
  return ['/', ...segments.map((_, i) => `/${segments.slice(0, i + 1).join('/')}`)];
}

/** A Metronome job's path for ACLs and quotas: its dotted id with the dots as slashes (`team.nightly` → `/team/nightly`). */
export const jobPath = (jobId: string): string => `/${jobId.split('.').join('/')}`;

/** The job id a path names (`/team/nightly` → `team.nightly`): jobPath's inverse. */
export const jobIdOfPath = (path: string): string => path.replace(/^\//, '').split('/').join('.');
