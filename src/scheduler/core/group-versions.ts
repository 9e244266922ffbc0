import type { AppDefinition, ClusterState, GroupVersion, StateOp } from '../types.ts';

/** COMPAT(marathon): like its `max_versions`, the newest 50 versions of a group are kept. */
export const MAX_GROUP_VERSIONS = 50;

/** Key of one stored group version: group ids hold no spaces. */
export function groupVersionKey(groupId: string, version: string): string {
  return `${groupId} ${version}`;
}

/** The stored versions of one group, newest first. */
export function groupVersionsOf(state: ClusterState, groupId: string): GroupVersion[] {
  const prefix = groupVersionKey(groupId, '');
  return [...state.groupVersions.entries()]
    .filter(([key]) => key.startsWith(prefix))
    .map(([, version]) => version)
    // ISO timestamps: their order is their text's.
    .sort((a, b) => (a.version < b.version ? 1 : a.version > b.version ? -1 : 0));
}

/** Stores the group as `apps` (every app under it after a write) at `version`, dropping the oldest beyond the limit. */
export function recordGroupVersion(state: ClusterState, groupId: string, apps: readonly AppDefinition[], version: string): StateOp[] {
  const dropped = groupVersionsOf(state, groupId).slice(MAX_GROUP_VERSIONS - 1);
  return [
    { op: 'put', coll: 'groupVersions', key: groupVersionKey(groupId, version), value: { id: groupId, version, apps: [...apps] } },
    ...dropped.map((old): StateOp => ({ op: 'del', coll: 'groupVersions', key: groupVersionKey(groupId, old.version) })),
  ];
}

/** A deleted group's versions go with it, and those of the groups under it. */
export function forgetGroupVersions(state: ClusterState, groupId: string): StateOp[] {
  const under = groupId === '/' ? '/' : `${groupId}/`;
  return [...state.groupVersions.values()]
    .filter((v) => v.id === groupId || v.id.startsWith(under))
    .map((v): StateOp => ({ op: 'del', coll: 'groupVersions', key: groupVersionKey(v.id, v.version) }));
}
