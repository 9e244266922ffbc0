import type { ValidationDetail } from '../../errors.ts';
import type { FinishedRun, Job, JobHistory, JobRun, StoredJob } from '../types.ts';

/** What `?embed=` may add to a job on `GET /v1/jobs[/{id}]` (Metronome's names). */
export const EMBEDS = ['activeRuns', 'schedules', 'history', 'historySummary'] as const;
export type Embed = (typeof EMBEDS)[number];

/** The `embed` values of a query (repeated, as Metronome takes them), or the 422 detail for an unknown one. */
export function parseEmbeds(values: readonly string[]): { ok: true; embeds: Set<Embed> } | { ok: false; details: ValidationDetail[] } {
  const unknown = values.filter((v) => !(EMBEDS as readonly string[]).includes(v));
  if (unknown.length > 0) return { ok: false, details: [{ path: '/embed', errors: unknown.map((v) => `unknown embed '${v}'; one of ${EMBEDS.join(', ')}`) }] };
  return { ok: true, embeds: new Set(values as Embed[]) };
}

/**
 * A job as Metronome shows it: its definition, plus what was asked to be embedded.
 * COMPAT(metronome): `lastSuccessAt`/`lastFailureAt` are null before the first.
 */
export function jobView(stored: StoredJob, embeds: ReadonlySet<Embed>, history: JobHistory, activeRuns: readonly JobRun[]): Job & Record<string, unknown> {
  const { schedules, ...job } = stored;
  const summary = { successCount: history.successCount, failureCount: history.failureCount, lastSuccessAt: history.lastSuccessAt ?? null, lastFailureAt: history.lastFailureAt ?? null };
  return {
    ...job,
    ...(embeds.has('schedules') ? { schedules } : {}),
    ...(embeds.has('activeRuns') ? { activeRuns } : {}),
    ...(embeds.has('history') ? { history: { ...history, ...summary } } : {}),
    ...(embeds.has('historySummary') ? { historySummary: summary } : {}),
  };
}

/** A finished run as `GET /v1/jobs/{id}/runs/{runId}` shows it once it left the active runs. */
export function finishedRunView(jobId: string, history: JobHistory, runId: string): Record<string, unknown> | undefined {
  const find = (list: readonly FinishedRun[], status: 'SUCCESS' | 'FAILED'): Record<string, unknown> | undefined => {
    const run = list.find((r) => r.id === runId);
    return run === undefined ? undefined : { ...run, jobId, status, completedAt: run.finishedAt };
  };
  return find(history.successfulFinishedRuns, 'SUCCESS') ?? find(history.failedFinishedRuns, 'FAILED');
}
