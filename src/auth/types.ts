/**
 * The auth room's data: who is asking (identity), what they may do where (grant), how much a
 * group may use (quota) and the stored form of a token. Plain, JSON-shaped, so the state store
 * can hold them and the API can return them.
 */

export type IdentityKind = 'user' | 'service' | 'agent';

/** Someone or something that authenticates: a person, a consumer such as DNS or the LB, or an agent. */
export interface Identity {
  id: string;
  kind: IdentityKind;
  /** Names of identity groups (teams) it belongs to; a grant to a group applies to each member. */
  groups?: readonly string[];
}

/**
 * DC/OS Marathon's four actions on `dcos:service:marathon:marathon:services:<path>`, Corral's
 * finer ones, and the cluster-wide `admin` (agents, drain, leader, auth itself). `run-as-root`:
 * writing an app whose tasks run as root (`user: "root"`), on top of the write's own action.
 */
export const ACTIONS = ['create', 'read', 'update', 'delete', 'scale', 'restart', 'kill-tasks', 'logs', 'admin', 'run-as-root'] as const;
export type Action = (typeof ACTIONS)[number];

interface GrantRule {
  actions: readonly Action[];
  /** A group or app path; covers itself and everything below it, by whole segments. */
  path: string;
}

/** Actions on a path, given to one identity or to every member of an identity group. */
export type Grant = GrantRule & ({ identity: string; group?: never } | { group: string; identity?: never });

/** The answer to "may this identity do this action on this path?", as data for a 403 or a "can I?" check. */
export type Decision = { allowed: true; grant: Grant } | { allowed: false; reason: string };

/** The resources a quota counts. cpus, mem (MB), disk (MB) and gpus are per instance in an app, summed over instances. */
export const QUOTA_RESOURCES = ['cpus', 'mem', 'disk', 'gpus', 'instances'] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

/** Limits for one group; a resource left out is not limited. */
export type QuotaLimits = Partial<Record<QuotaResource, number>>;

/** Quotas by group path (`/`, `/team-a`, `/team-a/sub`). */
export type Quotas = Readonly<Record<string, QuotaLimits>>;

/** What a group uses, every resource counted. */
export type Usage = Record<QuotaResource, number>;

/** The part of an app a quota counts. */
export interface AppFootprint {
  id: string;
  instances: number;
  cpus: number;
  mem: number;
  disk: number;
  gpus?: number;
}

/** One resource of one group that a write or a surge would take over its limit. */
export interface QuotaRefusal {
  group: string;
  resource: QuotaResource;
  used: number;
  requested: number;
  limit: number;
}

/**
 * A token as stored: never the secret, only its sha256 (hex), so a copy of the state store
 * lets nobody in. Times are epoch milliseconds.
 */
export interface TokenRecord {
  id: string;
  identityId: string;
  hash: string;
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
}
