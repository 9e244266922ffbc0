type Json = Record<string, unknown>;

/** A schedule as one phrase: `0 2 * * * Europe/Berlin`, `(disabled)` when it is off. */
export function scheduleText(schedule: Json): string {
  return `${String(schedule.cron)} ${typeof schedule.timeZone === 'string' ? schedule.timeZone : 'UTC'}${schedule.enabled === false ? ' (disabled)' : ''}`;
}

/** Labels as `k=v k2=v2`, `-` when there are none. */
export function labelsText(labels: unknown): string {
  const entries = typeof labels === 'object' && labels !== null ? Object.entries(labels as Json) : [];
  return entries.map(([k, v]) => `${k}=${String(v)}`).join(' ') || '-';
}

/** One job of `GET /v1/jobs?embed=schedules` as `corral job list` cells: id, description, schedules, labels. */
export function jobCells(job: Json): string[] {
  const schedules = Array.isArray(job.schedules) ? (job.schedules as Json[]) : [];
  return [
    String(job.id),
    typeof job.description === 'string' && job.description !== '' ? job.description : '-',
    schedules.map(scheduleText).join(', ') || '-',
    labelsText(job.labels),
  ];
}

/** A job id as one path segment of `/v1/jobs/{id}`. */
export const jobPath = (id: string): string => `/v1/jobs/${encodeURIComponent(id.trim())}`;
