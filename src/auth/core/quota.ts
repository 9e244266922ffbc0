import { QUOTA_RESOURCES, type AppFootprint, type QuotaLimits, type QuotaRefusal, type Quotas, type Usage } from '../types.ts';
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

/** What a write would do to one quota on the path of an app it touches (`?dryRun=true`). */
export interface QuotaEffect {
  group: string;
  limit: QuotaLimits;
  /** What everything under the group declares now, and would after the write. */
  used: Usage;
  after: Usage;
  fits: boolean;
  /** The resources the write would take over the limit (empty when it fits). */
  refusals: QuotaRefusal[];
}

/**
 * The effect of a write on every quota on the path of the apps it touches (`touched`: app ids
 * written or removed), judged as checkWrite judges it.
 */
export function quotaEffect(quotas: Quotas, currentApps: readonly AppFootprint[], nextApps: readonly AppFootprint[], touched: readonly string[]): QuotaEffect[] {
  const groups = sortedGroups(quotas).filter((group) => touched.some((id) => covers(group, id)));
  if (groups.length === 0) return [];
  const scoped = Object.fromEntries(groups.map((g) => [g, quotas[g] ?? {}]));
  const check = checkWrite(scoped, currentApps, nextApps);
  const used = usageByGroup(currentApps, groups);
  const after = usageByGroup(nextApps, groups);
  return groups.map((group) => {
    const refusals = check.ok ? [] : check.refusals.filter((r) => r.group === group);
    return { group, limit: quotas[group] ?? {}, used: used[group] as Usage, after: after[group] as Usage, fits: refusals.length === 0, refusals };
  });
}

/**
 * An app as a quota sees it while it runs: what it declares (instances × per-instance
 * resources) and what its live instances hold now (`live`: summed over the instances that hold
 * resources on an agent, stopping ones included). Whichever is larger counts against its
 * groups: a write reserves the declared amount, and an instance above it (a rolling upgrade's
 * surge, a replacement started before the one it replaces has ended) takes more.
 */
export interface HeldApp {
  declared: AppFootprint;
  live: Usage;
}

const liveUnits = (live: Usage): Usage => Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, toUnits(live[r])])) as Usage;

function heldUnits(app: HeldApp): Usage {
  const one = perInstance(app.declared);
  const live = liveUnits(app.live);
  return Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, Math.max(one[r] * app.declared.instances, live[r])])) as Usage;
}

/** What the apps under each group hold (see HeldApp), for launchRoom. */
export function heldByGroup(quotas: Quotas, apps: Iterable<HeldApp>): Record<string, Usage> {
  const groups = sortedGroups(quotas);
  const sums = new Map(groups.map((g): [string, Usage] => [g, { cpus: 0, mem: 0, disk: 0, gpus: 0, instances: 0 }]));
  for (const app of apps) {
    const held = heldUnits(app);
    for (const group of groups) {
      if (!covers(group, app.declared.id)) continue;
      const sum = sums.get(group) as Usage;
      for (const r of QUOTA_RESOURCES) sum[r] += held[r];
    }
  }
  return Object.fromEntries([...sums].map(([g, u]) => [g, Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, fromUnits(u[r])])) as Usage]));
}

export interface LaunchRoom {
  count: number;
  waiting?: Extract<SurgeCheck, { ok: false }>;
}

/**
 * How many more instances of `app` may start now without what its groups hold (`held`, from
 * heldByGroup) going over a quota: instances up to the declared count always may (the write
 * that declared them was checked); above it (surge, or a replacement while the instance it
 * replaces still holds its resources) only as far as the limit leaves room. When fewer than
 * `wanted` may start, `waiting` says why (surgeAllowed's reason for the next one).
 */
export function launchRoom(quotas: Quotas, held: Readonly<Record<string, Usage>>, app: HeldApp, wanted: number): LaunchRoom {
  const one = perInstance(app.declared);
  const live = liveUnits(app.live);
  const mine = heldUnits(app);
  let count = wanted;
  const usage: Record<string, Usage> = {};
  for (const group of sortedGroups(quotas).filter((g) => covers(g, app.declared.id))) {
    const others = {} as Usage;
    for (const r of QUOTA_RESOURCES) {
      others[r] = toUnits(held[group]?.[r] ?? 0) - mine[r];
      const limit = quotas[group]?.[r];
      if (limit === undefined || one[r] === 0) continue;
      const cap = Math.max(one[r] * app.declared.instances, toUnits(limit) - others[r]);
      count = Math.min(count, Math.max(0, Math.floor((cap - live[r]) / one[r])));
    }
    usage[group] = others;
  }
  if (count >= wanted) return { count: wanted };
  // What the groups would hold with `count` more started: the reason is about the one after.
  const next = Object.fromEntries(Object.entries(usage).map(([g, others]) => [g, Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, fromUnits(others[r] + live[r] + count * one[r])])) as Usage]));
  const waiting = surgeAllowed(quotas, next, app.declared.id, app.declared);
  return waiting.ok ? { count } : { count, waiting };
}

/** `held` after `count` instances of `app` started (launchRoom's next caller in the same evaluation sees them). */
export function heldAfterLaunch(quotas: Quotas, held: Readonly<Record<string, Usage>>, app: HeldApp, count: number): { held: Record<string, Usage>; app: HeldApp } {
  const one = perInstance(app.declared);
  const started: HeldApp = { ...app, live: Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, fromUnits(toUnits(app.live[r]) + count * one[r])])) as Usage };
  const before = heldUnits(app);
  const after = heldUnits(started);
  const next: Record<string, Usage> = { ...held };
  for (const group of sortedGroups(quotas).filter((g) => covers(g, app.declared.id))) {
    const sum = held[group] ?? { cpus: 0, mem: 0, disk: 0, gpus: 0, instances: 0 };
    next[group] = Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, fromUnits(toUnits(sum[r]) + after[r] - before[r])])) as Usage;
  }
  return { held: next, app: started };
}
