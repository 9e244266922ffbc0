import { checkWrite, quotaEffect, usageByGroup, type HeldApp, type QuotaEffect } from '../../auth/core/quota.ts';
import { covers, jobPath } from '../../auth/core/paths.ts';
import { TERMINAL_TASK_STATES } from '../../events/types.ts';
import type { AppFootprint, QuotaLimits, Quotas, Usage } from '../../auth/types.ts';
import { heldByGroup } from '../../auth/core/quota.ts';
import type { Refused } from '../errors.ts';
import type { AppDefinition, ClusterState, Instance, StateOp } from '../types.ts';
import { countInstances, instancesOfApp, instancesOfJob } from './state-ops.ts';
import { reservedDisk } from './launched-instance.ts';
import type { StoredJob } from '../jobs/types.ts';

/** The scheduler's side of quotas (src/auth/core/quota.ts does the arithmetic): apps as footprints, the stored quotas as one record. */

export const quotasOf = (state: ClusterState): Quotas => Object.fromEntries(state.quotas);

/** A resident app's volumes count as disk (core/resident.ts reservedDisk). */
export const footprintOf = (app: AppDefinition): AppFootprint => ({ id: app.id, instances: app.instances, cpus: app.cpus, mem: app.mem, disk: reservedDisk(app), gpus: app.gpus });

const footprints = (apps: Iterable<AppDefinition>): AppFootprint[] => [...apps].map(footprintOf);

/** The apps after a write: `written` stored (by id), `removed` gone. */
function appsAfter(state: ClusterState, written: readonly AppDefinition[], removed: readonly string[]): AppDefinition[] {
  const next = new Map(state.apps);
  for (const id of removed) next.delete(id);
  for (const app of written) next.set(app.id, app);
  return [...next.values()];
}

/** Refuses a write whose apps would not fit a quota (checkWrite, on the snapshot the write is computed from). */
export function checkAppsWrite(state: ClusterState, written: readonly AppDefinition[], removed: readonly string[]): { ok: true } | Refused {
  if (state.quotas.size === 0) return { ok: true };
  const check = checkWrite(quotasOf(state), footprints(state.apps.values()), footprints(appsAfter(state, written, removed)));
  return check.ok ? check : { ok: false, error: { code: 'ERR_SCHED_QUOTA_EXCEEDED', refusals: check.refusals, message: check.message } };
}

/** What a write would do to the quotas on the path of the apps it touches (`?dryRun=true`). */
export function writeEffect(state: ClusterState, written: readonly AppDefinition[], removed: readonly string[]): QuotaEffect[] {
  if (state.quotas.size === 0) return [];
  return quotaEffect(quotasOf(state), footprints(state.apps.values()), footprints(appsAfter(state, written, removed)), [...written.map((a) => a.id), ...removed]);
}

/** What a computed change (its ops) would do to the quotas: the apps it puts and deletes. */
export function changeEffect(state: ClusterState, ops: readonly StateOp[]): QuotaEffect[] {
  const written = ops.flatMap((op) => (op.op === 'put' && op.coll === 'apps' ? [op.value] : []));
  const removed = ops.flatMap((op) => (op.op === 'del' && op.coll === 'apps' ? [op.key] : []));
  return writeEffect(state, written, removed);
}

/** One row of `GET /v2/quotas`. */
export interface QuotaRow {
  group: string;
  limit: QuotaLimits;
  /** What every app under the group declares (instances × per-instance resources). */
  used: Usage;
  /**
   * What launches are counted against now (heldByGroup): per app the larger of what it declares
   * and what its instances hold on agents (starting, running or stopping), so a rolling upgrade's
   * surge, or a replacement started before the old instance has ended, shows here and not in `used`.
   */
  held: Usage;
}

export function quotaRows(state: ClusterState, groups: readonly string[] = [...state.quotas.keys()].sort()): QuotaRow[] {
  const used = usageByGroup(footprints(state.apps.values()), groups);
  const held = heldByGroup(quotasOf(state), heldAppsUnderQuota(state).values());
  return groups.map((group) => ({ group, limit: state.quotas.get(group) ?? {}, used: used[group] as Usage, held: held[group] as Usage }));
}

/** Holds resources on its agent: neither ended nor unreachable (an unreachable agent's resources are not counted, as Mesos does). */
// A resident instance holds its reservation whatever its task does, until released.
const holdsResources = (instance: Instance): boolean => (instance.reservation !== undefined && instance.reservation.destroy !== true)
  || (!TERMINAL_TASK_STATES.has(instance.state) && instance.state !== 'TASK_UNREACHABLE');

const NOT_HOLDING = [...TERMINAL_TASK_STATES, 'TASK_UNREACHABLE'] as const;

/** An app as a quota sees it while it runs (HeldApp): stopping instances still hold their share until they have ended. */
export function heldApp(state: ClusterState, app: AppDefinition): HeldApp {
  const all = countInstances(state, app.id, 'all');
  // The common case from the app's counts alone: every instance meant to run, of the current configuration (so of its resources).
  // (Not for a resident app: its ended instances still hold their reservations.)
  if (app.persistentVolumes === undefined && all <= app.instances && countInstances(state, app.id, `config:${app.versionInfo.lastConfigChangeAt}`) === all) {
    const n = all - NOT_HOLDING.reduce((sum, s) => sum + countInstances(state, app.id, `state:${s}`), 0);
    return { declared: footprintOf(app), live: { cpus: n * app.cpus, mem: n * app.mem, disk: n * app.disk, gpus: n * app.gpus, instances: n } };
  }
  return { declared: footprintOf(app), live: liveUsage(instancesOfApp(state, app.id), app.gpus) };
}

/** What the instances that hold resources hold, each with `gpus` (instances do not record theirs). */
function liveUsage(instances: Iterable<Instance>, gpus: number): Usage {
  const live: Usage = { cpus: 0, mem: 0, disk: 0, gpus: 0, instances: 0 };
  for (const instance of instances) {
    if (!holdsResources(instance)) continue;
    live.cpus += instance.cpus;
    live.mem += instance.mem;
    live.disk += instance.disk;
    live.gpus += gpus;
    live.instances += 1;
  }
  return live;
}

/**
 * A job as a quota sees it (jobs count by their path, `team.nightly` → `/team/nightly`): it
 * declares nothing, so its runs' tasks start only while the limit leaves room, and what they
 * hold counts against the groups like an app's surge.
 */
export function heldJob(state: ClusterState, job: StoredJob): HeldApp {
  const { cpus, mem, disk, gpus = 0 } = job.run;
  return { declared: { id: jobPath(job.id), instances: 0, cpus, mem, disk, gpus }, live: liveUsage(instancesOfJob(state, job.id), gpus) };
}

/** The key of a job in heldAppsUnderQuota (apart from apps': a job and an app may share a path). */
export const heldJobKey = (jobId: string): string => `job ${jobId}`;

/** Every app and job under some quota, as HeldApp (only those: what no quota covers never waits for one). */
export function heldAppsUnderQuota(state: ClusterState): Map<string, HeldApp> {
  const groups = [...state.quotas.keys()];
  const held = new Map<string, HeldApp>();
  if (groups.length === 0) return held;
  for (const app of state.apps.values()) if (groups.some((g) => covers(g, app.id))) held.set(app.id, heldApp(state, app));
  for (const job of state.jobs.values()) if (groups.some((g) => covers(g, jobPath(job.id)))) held.set(heldJobKey(job.id), heldJob(state, job));
  return held;
}
