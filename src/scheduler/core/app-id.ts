import { MARATHON_ID_SEGMENT as SEGMENT } from '../../shared/marathon-names.ts';
import { LIMITS } from './app-limits.ts';

const RESERVED = ['restart', 'tasks', 'versions'];

/** Makes an id absolute (`web` → `/web`) and returns the problem with it, if any. */
export function normalizeAppId(raw: string): { id: string; error?: string } {
  const id = raw.startsWith('/') ? raw : `/${raw}`;
  const segments = id.slice(1).split('/');
  if (id === '/' || segments.some((s) => !SEGMENT.test(s))) {
    return {
      id,
      error: `must fully match regular expression '${SEGMENT.source}' in every path segment`,
    };
  }
  // COMPAT(marathon): these would clash with the API's own paths under /v2/apps/{id}/.
  if (RESERVED.includes(segments.at(-1) ?? '')) return { id, error: `must not end with any of the following reserved keywords: ${RESERVED.join(', ')}` };
  if (id.length > LIMITS.idLength) return { id, error: `must be at most ${LIMITS.idLength} characters (task ids, sandboxes and cgroups are named after it)` };
  return { id };
}

/** Marathon's task id prefix: `/shop/web` → `shop_web`. */
export function taskIdPrefix(appId: string): string {
  return appId.replace(/^\//, '').replaceAll('/', '_');
}

/** The app id a task id belongs to, per Marathon's `<prefix>.<uuid>` form. */
export function appIdOfTask(taskId: string): string {
  const dot = taskId.lastIndexOf('.');
  return `/${taskId.slice(0, dot === -1 ? undefined : dot).replaceAll('_', '/')}`;
}

/**
 * Resolves a group or app id against the group it is written in, as Marathon's PathId does:
 * absolute ids stay, relative ones are appended, `.` and `..` segments are followed. Undefined when
 * `..` climbs above the root.
 */
export function resolveId(raw: string, base: string): string | undefined {
  const joined = raw.startsWith('/') ? raw : `${base}/${raw}`;
  const segments: string[] = [];
  for (const segment of joined.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.pop() === undefined) return undefined;
      continue;
    }
    segments.push(segment);
  }
  return `/${segments.join('/')}`;
}
