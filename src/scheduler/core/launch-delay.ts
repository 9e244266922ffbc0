import type { AppDefinition } from '../types.ts';

/** Marathon's launch backoff for one app: the current delay and when launches may resume (epoch ms). */
export interface LaunchDelay {
  /** The app configuration the delay belongs to: a new one starts afresh (a scale does not). */
  configVersion: string;
  delayMs: number;
  until: number;
}

/**
 * After an instance of `app` ended without being asked to: the first failure waits
 * `backoffSeconds`, each further one `backoffFactor` times longer, up to `maxLaunchDelaySeconds`.
 */
export function delayAfterFailure(previous: LaunchDelay | undefined, app: AppDefinition, nowMs: number): LaunchDelay {
  const first = app.backoffSeconds * 1000;
  const delayMs = previous === undefined || previous.configVersion !== app.versionInfo.lastConfigChangeAt
    ? first
    : Math.min(previous.delayMs * app.backoffFactor, app.maxLaunchDelaySeconds * 1000);
  return { configVersion: app.versionInfo.lastConfigChangeAt, delayMs, until: nowMs + delayMs };
}

/** True while launches of the app wait; a delay for an older configuration no longer applies. */
export function isDelayed(delay: LaunchDelay | undefined, app: AppDefinition, nowMs: number): boolean {
  return delay !== undefined && delay.configVersion === app.versionInfo.lastConfigChangeAt && nowMs < delay.until;
}

/** A timer to set: look at the app again at this time (epoch ms), and why (for the log). */
export interface WakeUp {
  appId: string;
  atMs: number;
  reason: string;
}

/** What task failures do to the launch delays: delays to set, delays to drop, and when to look again. */
export interface Backoff {
  set: Map<string, LaunchDelay>;
  /** Apps no longer there: their delays go. */
  drop: string[];
  /** One per delay set: when it is over, the app is evaluated again. */
  wakeUps: WakeUp[];
}

/** Apps whose instances ended unasked wait before their next launch, longer each time (once per app, however many failed). */
export function backOff(failedApps: readonly string[], apps: ReadonlyMap<string, AppDefinition>, delays: ReadonlyMap<string, LaunchDelay>, nowMs: number): Backoff {
  const set = new Map<string, LaunchDelay>();
  const wakeUps: WakeUp[] = [];
  for (const appId of new Set(failedApps)) {
    const app = apps.get(appId);
    if (app === undefined) continue;
    const delay = delayAfterFailure(delays.get(appId), app, nowMs);
    set.set(appId, delay);
    wakeUps.push({ appId, atMs: delay.until, reason: 'launch delayed after a task failure' });
  }
  return { set, drop: [...delays.keys()].filter((appId) => !apps.has(appId)), wakeUps };
}
