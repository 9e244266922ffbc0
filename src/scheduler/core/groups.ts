import { invalidObject, type SchedulerError, type SchedulerErrorOf, type ValidationDetail } from '../errors.ts';
import type { AppDefinition, ClusterState } from '../types.ts';
import { removeApps, scaleApps, writeApps, type AppChange, type ChangeContext } from './app-changes.ts';
import { resolveId } from './app-id.ts';
import { forgetGroupVersions, groupVersionKey, recordGroupVersion } from './group-versions.ts';
import { applyOps } from './state-ops.ts';
import { groupOf } from './marathon-json.ts';

export { resolveId };

/**
 * Marathon's groups over app ids. Corral stores no groups: a group is the set of apps whose ids
 * lie under its path (`/shop` holds `/shop/web` and, as subgroup `/shop/db`, `/shop/db/pg`). So a
 * group exists exactly while an app lives under it, and the root always exists.
 */
export interface GroupTree {
  id: string;
  /** Apps directly in this group, by id. */
  apps: AppDefinition[];
  /** Subgroups that hold apps, by id. */
  groups: GroupTree[];
  /** The newest version of an app under the group (groups have no version of their own yet); undefined when empty. */
  version: string | undefined;
}

export const groupNotFound = (groupId: string): SchedulerErrorOf<'ERR_SCHED_GROUP_NOT_FOUND'> => ({ code: 'ERR_SCHED_GROUP_NOT_FOUND', groupId });

/** Whether `id` lies strictly under the group `groupId`. */
export function isUnder(id: string, groupId: string): boolean {
  return groupId === '/' ? id !== '/' : id.startsWith(`${groupId}/`);
}

export function appsUnder(apps: Iterable<AppDefinition>, groupId: string): AppDefinition[] {
  return [...apps].filter((app) => isUnder(app.id, groupId));
}

/** The group `groupId` built from the apps under it; undefined when none is (except for the root, which always exists). */
export function buildGroupTree(apps: Iterable<AppDefinition>, groupId: string): GroupTree | undefined {
  const under = appsUnder(apps, groupId);
  if (under.length === 0 && groupId !== '/') return undefined;
  return treeOf(groupId, under);
}

function treeOf(groupId: string, under: readonly AppDefinition[]): GroupTree {
  const prefix = groupId === '/' ? '/' : `${groupId}/`;
  const direct: AppDefinition[] = [];
  const children = new Map<string, AppDefinition[]>();
  for (const app of under) {
    const rest = app.id.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash === -1) {
      direct.push(app);
      continue;
    }
    const childId = `${prefix}${rest.slice(0, slash)}`;
    const list = children.get(childId);
    if (list === undefined) children.set(childId, [app]);
    else list.push(app);
  }
  const versions = under.map((app) => app.version).sort();
  return {
    id: groupId,
    apps: direct.sort((a, b) => compare(a.id, b.id)),
    groups: [...children.keys()].sort(compare).map((id) => treeOf(id, children.get(id) ?? [])),
    version: versions[versions.length - 1],
  };
}

/**
 * Marathon's group JSON; `renderApp` gives each app's JSON (with what `embed=group.apps.*` asks
 * for). `fallbackVersion` stands in for the version of an empty root.
 */
export function groupJson(tree: GroupTree, renderApp: (app: AppDefinition) => Record<string, unknown>, fallbackVersion: string): Record<string, unknown> {
  return {
    id: tree.id,
    apps: tree.apps.map(renderApp),
    groups: tree.groups.map((group) => groupJson(group, renderApp, fallbackVersion)),
    pods: [],
    dependencies: [],
    version: tree.version ?? fallbackVersion,
  };
}

/** Instances after `scaleBy`: the brief's rounding, never below 0. */
export function scaledInstances(instances: number, factor: number): number {
  return Math.max(0, Math.round(instances * factor));
}

/** One app of a posted group: its body with the id made absolute, and where it sat in the group body. */
export interface GroupApp {
  pointer: string;
  body: Record<string, unknown>;
}

/**
 * Flattens a posted group into its apps, ids made absolute against the group each app sits in.
 * Ids must stay under that group. A group's `dependencies` become dependencies of every app
 * under it (Corral stores no groups); `pods` are refused (rather than accepted and dropped).
 */
export function flattenGroup(body: unknown, groupId: string): { ok: true; apps: GroupApp[] } | { ok: false; details: ValidationDetail[] } {
  const apps: GroupApp[] = [];
  const details: ValidationDetail[] = [];
  const visit = (node: unknown, pointer: string, id: string, inherited: readonly string[]): void => {
    if (!isObject(node)) {
      details.push({ path: pointer || '/', errors: ['expected a group object'] });
      return;
    }
    // A group's dependencies are written relative to the group holding it, and hold for every app under it.
    const dependencies = [...inherited, ...absoluteIds(node.dependencies, groupOf(id), `${pointer}/dependencies`, details)];
    if (!isEmptyList(node.pods)) details.push({ path: `${pointer}/pods`, errors: ['pods are not supported'] });
    for (const key of ['apps', 'groups'] as const) {
      if (node[key] !== undefined && !Array.isArray(node[key])) details.push({ path: `${pointer}/${key}`, errors: ['expected an array'] });
    }
    for (const [index, item] of (Array.isArray(node.apps) ? node.apps : []).entries()) {
      const at = `${pointer}/apps/${index}`;
      const appId = childId(item, id, at, details);
      if (appId === undefined || !isObject(item)) continue;
      const own = absoluteIds(item.dependencies, id, `${at}/dependencies`, details);
      apps.push({ pointer: at, body: { ...item, id: appId, ...(dependencies.length + own.length > 0 ? { dependencies: [...new Set([...dependencies, ...own])] } : {}) } });
    }
    for (const [index, item] of (Array.isArray(node.groups) ? node.groups : []).entries()) {
      const at = `${pointer}/groups/${index}`;
      const subgroupId = childId(item, id, at, details);
      if (subgroupId !== undefined) visit(item, at, subgroupId, dependencies);
    }
  };
  visit(body, '', groupId, []);
  return details.length > 0 ? { ok: false, details } : { ok: true, apps };
}

/** Dependency ids written in group `base`, made absolute; the bad ones are noted in `details`. */
function absoluteIds(value: unknown, base: string, pointer: string, details: ValidationDetail[]): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '')) {
    details.push({ path: pointer, errors: ['expected an array of app or group ids'] });
    return [];
  }
  const ids: string[] = [];
  for (const [index, raw] of (value as string[]).entries()) {
    const id = resolveId(raw, base);
    if (id === undefined) details.push({ path: `${pointer}/${index}`, errors: [`${raw} climbs above the root group`] });
    else ids.push(id);
  }
  return ids;
}

/** The absolute id of an app or subgroup written in group `parent`, or undefined after noting why not. */
function childId(item: unknown, parent: string, pointer: string, details: ValidationDetail[]): string | undefined {
  if (!isObject(item) || typeof item.id !== 'string' || item.id === '') {
    details.push({ path: `${pointer}/id`, errors: ['an id is required'] });
    return undefined;
  }
  const id = resolveId(item.id, parent);
  if (id === undefined || !isUnder(id, parent)) {
    details.push({ path: `${pointer}/id`, errors: [`must be under the group ${parent}`] });
    return undefined;
  }
  return id;
}

/**
 * `POST /v2/groups` (`create`: the group must not exist) and `PUT /v2/groups/{id}` (`update`):
 * creates or replaces the apps in the body, and stops those it leaves out (see `leftOut`), all in
 * one deployment. `{"scaleBy": f}` scales every app under the group instead.
 */
export function writeGroup(state: ClusterState, groupId: string, body: unknown, mode: 'create' | 'update', context: ChangeContext): AppChange {
  const change = changeGroup(state, groupId, body, mode, context);
  if (!change.ok) return change;
  // Every write through /v2/groups is a version of the group, kept for rollback.
  const after = applyOps(state, change.ops);
  return { ...change, ops: [...change.ops, ...recordGroupVersion(state, groupId, appsUnder(after.apps.values(), groupId), context.now)] };
}

function changeGroup(state: ClusterState, groupId: string, body: unknown, mode: 'create' | 'update', context: ChangeContext): AppChange {
  if (!isObject(body)) return { ok: false, error: invalidObject([{ path: '/', errors: ['expected a group object'] }]) };
  const existing = appsUnder(state.apps.values(), groupId);
  if (mode === 'create' && existing.length > 0) return { ok: false, error: { code: 'ERR_SCHED_GROUP_EXISTS', groupId } };
  if (body.scaleBy !== undefined) return scaleGroup(state, groupId, body, mode, context);
  if (mode === 'update' && 'version' in body && body.apps === undefined && body.groups === undefined) return rollbackGroup(state, groupId, body, existing, context);
  const flattened = flattenGroup(body, groupId);
  if (!flattened.ok) return { ok: false, error: invalidObject(flattened.details) };
  if (flattened.apps.length === 0) {
    // Groups are only their apps: an empty one could not be stored, so it is refused rather than lost.
    return { ok: false, error: invalidObject([{ path: '/apps', errors: ['a group needs at least one app: groups are not stored apart from their apps yet'] }]) };
  }
  const removed = mode === 'update' ? leftOut(body, groupId, existing) : [];
  const change = writeApps(state, flattened.apps.map((a) => a.body), 'replace', context, removed);
  return change.ok ? change : { ok: false, error: repointDetails(change.error, flattened.apps.map((a) => a.pointer)) };
}

/**
 * The apps a group update removes, Marathon's way: where a group in the body lists `apps`, its
 * other direct apps go; where it lists `groups`, the apps of its other subgroups go; a group
 * that lists neither keeps what it has.
 */
export function leftOut(body: unknown, groupId: string, existing: readonly AppDefinition[]): string[] {
  if (!isObject(body)) return [];
  const removed: string[] = [];
  const childIds = (list: unknown): Set<string> => new Set((Array.isArray(list) ? list : []).flatMap((item) => {
    const id = isObject(item) && typeof item.id === 'string' ? resolveId(item.id, groupId) : undefined;
    return id === undefined ? [] : [id];
  }));
  const direct = existing.filter((app) => groupOf(app.id) === groupId);
  if (Array.isArray(body.apps)) {
    const kept = childIds(body.apps);
    removed.push(...direct.filter((app) => !kept.has(app.id)).map((app) => app.id));
  }
  const nested = existing.filter((app) => groupOf(app.id) !== groupId);
  const subgroupOf = (appId: string): string => `${groupId === '/' ? '' : groupId}/${appId.slice(groupId === '/' ? 1 : groupId.length + 1).split('/')[0] ?? ''}`;
  if (Array.isArray(body.groups)) {
    const kept = childIds(body.groups);
    removed.push(...nested.filter((app) => !kept.has(subgroupOf(app.id))).map((app) => app.id));
  }
  for (const sub of Array.isArray(body.groups) ? body.groups : []) {
    const subId = isObject(sub) && typeof sub.id === 'string' ? resolveId(sub.id, groupId) : undefined;
    if (subId !== undefined) removed.push(...leftOut(sub, subId, nested.filter((app) => isUnder(app.id, subId))));
  }
  return removed;
}

function scaleGroup(state: ClusterState, groupId: string, body: Record<string, unknown>, mode: 'create' | 'update', context: ChangeContext): AppChange {
  const factor = body.scaleBy;
  if (mode === 'create' || body.apps !== undefined || body.groups !== undefined) {
    return { ok: false, error: invalidObject([{ path: '/scaleBy', errors: ['scaleBy goes alone in a PUT of an existing group'] }]) };
  }
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 0) {
    return { ok: false, error: invalidObject([{ path: '/scaleBy', errors: ['must be a number of at least 0'] }]) };
  }
  const apps = appsUnder(state.apps.values(), groupId);
  if (apps.length === 0) return { ok: false, error: groupNotFound(groupId) };
  return scaleApps(state, new Map(apps.map((app) => [app.id, scaledInstances(app.instances, factor)])), context);
}

/**
 * COMPAT(marathon): `PUT /v2/groups/{id}` with only `{"version"}`: the apps the group had then
 * become a new version (changed ones redeploy, missing ones come back, newer ones stop).
 */
function rollbackGroup(state: ClusterState, groupId: string, body: Record<string, unknown>, existing: readonly AppDefinition[], context: ChangeContext): AppChange {
  if (typeof body.version !== 'string') return { ok: false, error: invalidObject([{ path: '/version', errors: ['must be a version timestamp'] }]) };
  const stored = state.groupVersions.get(groupVersionKey(groupId, body.version));
  if (stored === undefined) return { ok: false, error: { code: 'ERR_SCHED_GROUP_VERSION_NOT_FOUND', groupId, version: body.version } };
  // The stored definitions are validated again as new ones; buildApp fills in defaults in place, so it gets copies.
  const bodies = stored.apps.map(({ version: _version, versionInfo: _versionInfo, ...definition }) => structuredClone(definition));
  const kept = new Set(stored.apps.map((app) => app.id));
  return writeApps(state, bodies, 'replace', context, existing.filter((app) => !kept.has(app.id)).map((app) => app.id));
}

/** `DELETE /v2/groups/{id}`: every app under the group goes, in one deployment, and the group's versions. */
export function removeGroup(state: ClusterState, groupId: string, context: ChangeContext): AppChange {
  const apps = appsUnder(state.apps.values(), groupId);
  if (apps.length === 0) return { ok: false, error: groupNotFound(groupId) };
  const change = removeApps(state, apps.map((app) => app.id), context);
  return change.ok ? { ...change, ops: [...change.ops, ...forgetGroupVersions(state, groupId)] } : change;
}

/** writeApps names a bad app by its index in the batch (`/3/cpus`); name it by where it sat in the group (`/groups/0/apps/1/cpus`). */
function repointDetails(error: SchedulerError, pointers: readonly string[]): SchedulerError {
  if (error.code !== 'ERR_SCHED_INVALID') return error;
  return invalidObject(error.details.map((d) => {
    const match = /^\/(\d+)(.*)$/.exec(d.path);
    const pointer = match === null ? undefined : pointers[Number(match[1])];
    return pointer === undefined || match === null ? d : { ...d, path: `${pointer}${match[2] ?? ''}` };
  }));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isEmptyList(value: unknown): boolean {
  return value === undefined || (Array.isArray(value) && value.length === 0);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
