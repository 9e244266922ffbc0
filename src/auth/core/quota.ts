import { QUOTA_RESOURCES, type AppFootprint, type QuotaRefusal, type Quotas, type Usage } from '../types.ts';
import { covers, normalizePath } from './paths.ts';

// COMPAT(mesos): scalar resources are fixed-point with three decimals, so 0.1 cpus ten times is
// exactly 1 and a quota of 1 is not refused for a rounding error.
const SCALE = 1000;
const toUnits = (value: number): number => Math.round(value * SCALE);
const fromUnits = (units: number): number => units / SCALE;

export type WriteCheck = { ok: true } | { ok: false; refusals: QuotaRefusal[]; message: string };
export type SurgeCheck = { ok: true } | { ok: false; refusals: QuotaRefusal[]; reason: string };

/** One instance's share of each resource, in units. */
function perInstance(app: Omit<AppFootprint, 'id' | 'instances'>): Usage {
  return { cpus: toUnits(app.cpus), mem: toUnits(app.mem), disk: toUnits(app.disk), gpus: toUnits(app.gpus ?? 0), instances: SCALE };
}

function unitsByGroup(apps: readonly AppFootprint[], groups: readonly string[]): Map<string, Usage> {
  const usage = new Map<string, Usage>();
  for (const group of groups) {
    const sum: Usage = { cpus: 0, mem: 0, disk: 0, gpus: 0, instances: 0 };
    for (const app of apps) {
      if (!covers(group, app.id)) continue;
      const one = perInstance(app);
      for (const resource of QUOTA_RESOURCES) sum[resource] += one[resource] * app.instances;
    }
    usage.set(group, sum);
  }
  return usage;
}

/**
 * What everything under each group uses (app ids as the scheduler stores them, canonical), by
 * whole segments: `/team-a` counts `/team-a/web`, never `/team-ab`.
 */
export function usageByGroup(apps: readonly AppFootprint[], groups: readonly string[]): Record<string, Usage> {
  const result: Record<string, Usage> = {};
  for (const [group, units] of unitsByGroup(apps, groups)) {
    result[group] = Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, fromUnits(units[r])])) as Usage;
  }
  return result;
}

/** `quota of /team-a: cpus 3.5 used + 1 requested = 4.5, over the limit of 4` */
export function describeRefusal(refusal: QuotaRefusal): string {
  const { group, resource, used, requested, limit } = refusal;
  const total = fromUnits(toUnits(used) + toUnits(requested));
  return `quota of ${group}: ${resource} ${used} used + ${requested} requested = ${total}, over the limit of ${limit}`;
}

/** Groups by path, so `/` is reported before `/team-a` and the order never depends on how quotas were stored. */
const sortedGroups = (quotas: Quotas): string[] => Object.keys(quotas).sort();

/**
 * Does the state after a write (every app, as it would be) fit every quota? Each quota on the
 * path of a changed app must hold (`/`, `/team-a`, `/team-a/sub`). A resource already over its
 * limit (the limit was lowered) refuses only a write that makes it grow, so a team over quota
 * can still scale down or change anything else.
 */
export function checkWrite(quotas: Quotas, currentApps: readonly AppFootprint[], nextApps: readonly AppFootprint[]): WriteCheck {
  const groups = sortedGroups(quotas);
  const before = unitsByGroup(currentApps, groups);
  const after = unitsByGroup(nextApps, groups);
  const refusals: QuotaRefusal[] = [];
  for (const group of groups) {
    for (const resource of QUOTA_RESOURCES) {
      const limit = quotas[group]?.[resource];
      const used = before.get(group)?.[resource] ?? 0;
      const next = after.get(group)?.[resource] ?? 0;
      if (limit === undefined || next <= toUnits(limit) || next <= used) continue;
      refusals.push({ group, resource, used: fromUnits(used), requested: fromUnits(next - used), limit });
    }
  }
  if (refusals.length === 0) return { ok: true };
  return { ok: false, refusals, message: refusals.map(describeRefusal).join('; ') };
}

/**
 * May a rolling upgrade start one more instance of `appId` above what runs now (`usage`, as
 * usageByGroup counts the instances that hold resources)? When not, the reason is what
 * /v2/queue and `corral why` show while the upgrade waits.
 */
export function surgeAllowed(quotas: Quotas, usage: Readonly<Record<string, Usage>>, appId: string, extraInstance: Omit<AppFootprint, 'id' | 'instances'>): SurgeCheck {
  const one = perInstance(extraInstance);
  const refusals: QuotaRefusal[] = [];
  for (const group of sortedGroups(quotas).filter((g) => covers(g, appId))) {
    for (const resource of QUOTA_RESOURCES) {
      const limit = quotas[group]?.[resource];
      const used = toUnits(usage[group]?.[resource] ?? 0);
      if (limit === undefined || one[resource] === 0 || used + one[resource] <= toUnits(limit)) continue;
      refusals.push({ group, resource, used: fromUnits(used), requested: fromUnits(one[resource]), limit });
    }
  }
  if (refusals.length === 0) return { ok: true };
  return { ok: false, refusals, reason: `waiting for quota before starting one more instance of ${appId}: ${refusals.map(describeRefusal).join('; ')}` };
}

/** What is wrong with quotas before they are stored: canonical group paths, known resources, finite limits ≥ 0. */
export function validateQuotas(quotas: Quotas): string[] {
  return Object.entries(quotas).flatMap(([group, limits]) => {
    const path = normalizePath(group);
    if (!path.ok) return [`quota ${JSON.stringify(group)}: ${path.reason}`];
    if (path.path !== group) return [`quota ${JSON.stringify(group)}: write the group as ${path.path}`];
    return Object.entries(limits).flatMap(([resource, limit]) => {
      if (!(QUOTA_RESOURCES as readonly string[]).includes(resource)) return [`quota ${group}: unknown resource ${resource} (known: ${QUOTA_RESOURCES.join(', ')})`];
      if (typeof limit !== 'number' || !Number.isFinite(limit) || limit < 0) return [`quota ${group}: ${resource} must be a finite number ≥ 0`];
      if (resource === 'instances' && !Number.isInteger(limit)) return [`quota ${group}: instances must be a whole number`];
      return [];
    });
  });
}
