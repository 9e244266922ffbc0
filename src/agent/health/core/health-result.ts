import type { HealthCheck, HealthResult } from '../../../shared/agent-protocol.ts';

/**
 * What one probe found, in Marathon's words: Healthy, Unhealthy (with a cause), or Ignored —
 * an answer that says nothing either way (an HTTP 1xx with `ignoreHttp1xx`).
 */
export type ProbeOutcome =
  | { readonly kind: 'healthy' }
  | { readonly kind: 'unhealthy'; readonly cause: string }
  | { readonly kind: 'ignored'; readonly cause: string };

export interface HealthClock {
  /** When the probe finished, in epoch milliseconds. */
  nowMs: number;
  /** When checking began (the task was running): the grace period counts from here. */
  startedMs: number;
}

export interface HealthTransition {
  result: HealthResult;
  /** True when the scheduler must hear of it: the first result, `alive` flipped, or a counted failure. */
  report: boolean;
  /** Why the probe did not change the result, for the log (grace period, ignored answer). */
  skipped?: 'grace-period' | 'ignored';
}

/** The result of a check that has not counted any probe yet (Marathon's empty `Health`). */
export function initialHealthResult(): HealthResult {
  return { alive: false, consecutiveFailures: 0, firstSuccess: null, lastSuccess: null, lastFailure: null, lastFailureCause: null };
}

function hasCounted(result: HealthResult): boolean {
  return result.lastSuccess !== null || result.lastFailure !== null;
}

/**
 * Folds one probe outcome into a check's result, as Marathon's HealthCheckActor does.
 *
 * - A success sets `firstSuccess` once, `lastSuccess`, resets the failure count, and makes the check alive.
 * - A failure within `gracePeriodSeconds` of the start is dropped entirely, but only until the first
 *   success: after that every failure counts, grace period or not.
 * - A counted failure records `lastFailure` and its cause, increments the count and makes the check dead.
 * - An ignored outcome changes nothing.
 */
export function nextResult(previous: HealthResult, outcome: ProbeOutcome, check: HealthCheck, clock: HealthClock): HealthTransition {
  if (outcome.kind === 'ignored') return { result: previous, report: false, skipped: 'ignored' };
  const at = new Date(clock.nowMs).toISOString();
  let result: HealthResult;
  if (outcome.kind === 'healthy') {
    result = { ...previous, alive: true, consecutiveFailures: 0, firstSuccess: previous.firstSuccess ?? at, lastSuccess: at };
  } else {
    // COMPAT(marathon): `ignoreFailures` — failures in the grace period leave no trace (not even
    // lastFailure) until the task has been healthy once.
    const inGrace = previous.firstSuccess === null && clock.nowMs < clock.startedMs + check.gracePeriodSeconds * 1000;
    if (inGrace) return { result: previous, report: false, skipped: 'grace-period' };
    result = { ...previous, alive: false, consecutiveFailures: previous.consecutiveFailures + 1, lastFailure: at, lastFailureCause: outcome.cause };
  }
  // COMPAT(marathon): every counted failure is a failed_health_check_event (and may reach
  // maxConsecutiveFailures), so each one is reported; successes only when something changed.
  const report = !hasCounted(previous) || previous.alive !== result.alive || !result.alive;
  return { result, report };
}
