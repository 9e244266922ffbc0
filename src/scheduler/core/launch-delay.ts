import type { AppDefinition } from '../types.ts';

/** Marathon's launch backoff for one app: the current delay and when launches may resume (epoch ms). */
export interface LaunchDelay {
  /** The app version the delay belongs to: a new version starts afresh. */
  version: string;
  delayMs: number;
  until: number;
}

/**
 * After an instance of `app` ended without being asked to: the first failure waits
 * `backoffSeconds`, each further one `backoffFactor` times longer, up to `maxLaunchDelaySeconds`.
 */
export function delayAfterFailure(previous: LaunchDelay | undefined, app: AppDefinition, nowMs: number): LaunchDelay {
  const first = app.backoffSeconds * 1000;
  const delayMs = previous === undefined || previous.version !== app.version
    ? first
    : Math.min(previous.delayMs * app.backoffFactor, app.maxLaunchDelaySeconds * 1000);
  return { version: app.version, delayMs, until: nowMs + delayMs };
}

/** True while launches of the app wait; a delay for an older version of the app no longer applies. */
export function isDelayed(delay: LaunchDelay | undefined, app: AppDefinition, nowMs: number): boolean {
  return delay !== undefined && delay.version === app.version && nowMs < delay.until;
}
