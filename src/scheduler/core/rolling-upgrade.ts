import type { AppDefinition, Instance } from '../types.ts';

export interface UpgradeStep {
  /** New instances that may start now without exceeding floor(N × (1 + maximumOverCapacity)), nor the quota's room. */
  maxLaunch: number;
  /** What maxLaunch would be without the quota's room: more than maxLaunch when the upgrade waits for quota. */
  strategyLaunch: number;
  /** Old instances to stop now, keeping ceil(N × minimumHealthCapacity) ready. */
  stop: Instance[];
}

/**
 * One step of Marathon's rolling replacement of instances of an older configuration (or on a
 * draining agent) by new ones: old instances that are not ready go at once; ready ones go as
 * long as ceil(N × minimumHealthCapacity) instances stay ready; new ones start as long as there
 * are at most floor(N × (1 + maximumOverCapacity)) instances. Called again after every change,
 * it walks the whole upgrade.
 *
 * `room` is how many more instances a quota lets start now (launchRoom). When it leaves no
 * room above N, the upgrade goes as Marathon's does without over-capacity: one old instance
 * first (minimumHealthCapacity permitting more, more), so it never waits forever for a surge
 * the quota refuses, and never starts one the quota has no room for.
 */
export function upgradeStep(
  app: AppDefinition,
  fresh: readonly Instance[],
  old: readonly Instance[],
  ready: (i: Instance) => boolean,
  order: (instances: Instance[]) => Instance[],
  room = Number.POSITIVE_INFINITY,
): UpgradeStep {
  const n = app.instances;
  if (old.length === 0) return { maxLaunch: Number.POSITIVE_INFINITY, strategyLaunch: Number.POSITIVE_INFINITY, stop: [] };
  const { minimumHealthCapacity, maximumOverCapacity } = app.upgradeStrategy;
  const strategyTotal = Math.floor(n * (1 + maximumOverCapacity));
  const maxTotal = Math.min(strategyTotal, fresh.length + old.length + room);
  let minReady = Math.ceil(n * minimumHealthCapacity);
  // COMPAT(marathon): with no room for an extra instance and none to spare, one old instance goes first.
  if (maxTotal <= n && minReady >= n) minReady = Math.max(0, n - 1);
  const readyOld = order(old.filter(ready));
  const notReadyOld = old.filter((i) => !ready(i));
  const readyNow = fresh.filter(ready).length + readyOld.length;
  const stop = [...notReadyOld, ...readyOld.slice(0, Math.max(0, readyNow - minReady))];
  const after = fresh.length + old.length - stop.length;
  return { maxLaunch: Math.max(0, maxTotal - after), strategyLaunch: Math.max(0, strategyTotal - after), stop };
}
