import type { Grant, Identity } from '../types.ts';
import { filterReadable } from './policy.ts';

type Who = Pick<Identity, 'id' | 'groups'>;

interface GroupNode {
  id: string;
  apps?: unknown[];
  groups?: unknown[];
  [key: string]: unknown;
}

const record = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function keepReadable(items: unknown, field: 'id' | 'appId' | 'group', readable: (path: string) => boolean): unknown {
  if (!Array.isArray(items)) return items;
  return items.filter((item) => record(item) && typeof item[field] === 'string' && readable(item[field]));
}

/** A group tree with only the readable apps, and the groups on the way to them (a readable group is kept whole). */
function pruneGroup(node: GroupNode, readable: (path: string) => boolean): GroupNode | undefined {
  if (readable(node.id)) return node;
  const apps = keepReadable(node.apps, 'id', readable) as unknown[] | undefined;
  const groups = (node.groups ?? []).flatMap((child) => {
    const kept = record(child) && typeof child.id === 'string' ? pruneGroup(child as GroupNode, readable) : undefined;
    return kept === undefined ? [] : [kept];
  });
  if ((apps?.length ?? 0) === 0 && groups.length === 0 && node.id !== '/') return undefined;
  return { ...node, apps: apps ?? [], groups };
}

/**
 * A listing answer (`/v2/apps`, `/v2/tasks`, a `/v2/groups` tree) with only what `who` may
 * read; other answers (errors, plain text) pass as they are.
 */
export function filterListing(route: string, payload: unknown, grants: readonly Grant[], who: Who): unknown {
  if (!record(payload)) return payload;
  const readable = (path: string): boolean => filterReadable(grants, who, [path]).length === 1;
  if (route === '/v2/apps' && Array.isArray(payload.apps)) return { ...payload, apps: keepReadable(payload.apps, 'id', readable) };
  if (route === '/v2/tasks' && Array.isArray(payload.tasks)) return { ...payload, tasks: keepReadable(payload.tasks, 'appId', readable) };
  if (route === '/v2/quotas' && Array.isArray(payload.quotas)) return { ...payload, quotas: keepReadable(payload.quotas, 'group', readable) };
  if (route.startsWith('/v2/groups') && typeof payload.id === 'string') {
    return pruneGroup(payload as GroupNode, readable) ?? { ...payload, apps: [], groups: [] };
  }
  return payload;
}
