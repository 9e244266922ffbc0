import type { AppDefinition, ClusterState, StateOp } from '../types.ts';
import { appVersionsOf, instancesOfApp } from './state-ops.ts';

/**
 * COMPAT(marathon): like its `--zk_max_versions` (default 50), an app keeps its newest 50
 * versions; an autoscaler or a CI pipeline writes thousands a day, each a whole definition.
 */
export const DEFAULT_MAX_APP_VERSIONS = 50;

/** Key of one stored app version: app ids hold no spaces. */
export function versionKey(appId: string, version: string): string {
  return `${appId} ${version}`;
}

/**
 * The versions of an app to delete once `next` is stored: the oldest beyond `max`, except those
 * something still uses (the current one, one an instance was launched from or runs the
 * configuration of, one a deployment would roll back to).
 */
export function versionsToDrop(stored: readonly string[], max: number, inUse: ReadonlySet<string>): string[] {
  // ISO timestamps: their order is their text's.
  const newestFirst = [...stored].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
  return newestFirst.slice(Math.max(1, max)).filter((version) => !inUse.has(version));
}

/** The ops that store `next` as a version of its app and drop what the limit no longer keeps. */
export function storeAppVersion(state: ClusterState, next: AppDefinition, max: number): StateOp[] {
  const stored = appVersionsOf(state, next.id).map((app) => app.version);
  const inUse = new Set([next.version, next.versionInfo.lastConfigChangeAt]);
  for (const instance of instancesOfApp(state, next.id)) inUse.add(instance.version).add(instance.configVersion);
  for (const deployment of state.deployments.values()) {
    const original = deployment.original[next.id];
    if (original) inUse.add(original.version).add(original.versionInfo.lastConfigChangeAt);
  }
  const candidates = stored.includes(next.version) ? stored : [...stored, next.version];
  return [
    { op: 'put', coll: 'appVersions', key: versionKey(next.id, next.version), value: next },
    ...versionsToDrop(candidates, max, inUse).map((version): StateOp => ({ op: 'del', coll: 'appVersions', key: versionKey(next.id, version) })),
  ];
}

/** A deleted app's versions go with it. */
export function forgetAppVersions(state: ClusterState, appId: string): StateOp[] {
  return appVersionsOf(state, appId).map((app): StateOp => ({ op: 'del', coll: 'appVersions', key: versionKey(appId, app.version) }));
}
