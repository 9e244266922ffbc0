import type { App, QueueEntry } from './marathon.ts';
import { appStatus, healthCounts, type AppStatus, type Health, type HealthCounts, type StatusView } from './status.ts';

export interface AppRow { app: App; status: StatusView; health: HealthCounts }

export interface AppFilter {
  /** Matches a part of the id, or a label: `key`, `key=value`, or a part of a label's value. */
  search: string;
  status: AppStatus | 'all';
  /** Apps with at least one task of this health. */
  health: Health | 'all';
}

export const NO_FILTER: AppFilter = { search: '', status: 'all', health: 'all' };

function matchesSearch(app: App, search: string): boolean {
  const text = search.trim().toLowerCase();
  if (text === '') return true;
  if (app.id.toLowerCase().includes(text)) return true;
  const labels = Object.entries(app.labels ?? {});
  const eq = text.indexOf('=');
  if (eq > 0) {
    const [key, value] = [text.slice(0, eq).trim(), text.slice(eq + 1).trim()];
    return labels.some(([k, v]) => k.toLowerCase() === key && v.toLowerCase() === value);
  }
  return labels.some(([k, v]) => k.toLowerCase() === text || v.toLowerCase().includes(text));
}

/** The apps list: each app with its status and health, filtered, by id. */
export function appRows(apps: Iterable<App>, queue: ReadonlyMap<string, QueueEntry>, filter: AppFilter): AppRow[] {
  const rows: AppRow[] = [];
  for (const app of apps) {
    if (!matchesSearch(app, filter.search)) continue;
    const row = { app, status: appStatus(app, queue.get(app.id)), health: healthCounts(app) };
    if (filter.status !== 'all' && row.status.status !== filter.status) continue;
    if (filter.health !== 'all' && row.health[filter.health] === 0) continue;
    rows.push(row);
  }
  return rows.sort((a, b) => (a.app.id < b.app.id ? -1 : a.app.id > b.app.id ? 1 : 0));
}

/** `/web/api/v1` → `/web/api`: the group an app sits in (`/` at the root). */
export function groupOf(appId: string): string {
  const slash = appId.lastIndexOf('/');
  return slash <= 0 ? '/' : appId.slice(0, slash);
}

/** Rows grouped by their group, groups in id order (the list's tree, one level of headings). */
export function byGroup(rows: readonly AppRow[]): Array<{ group: string; rows: AppRow[] }> {
  const groups = new Map<string, AppRow[]>();
  for (const row of rows) {
    const group = groupOf(row.app.id);
    const list = groups.get(group) ?? [];
    list.push(row);
    groups.set(group, list);
  }
  return [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([group, list]) => ({ group, rows: list }));
}
