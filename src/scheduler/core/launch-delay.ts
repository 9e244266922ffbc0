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
