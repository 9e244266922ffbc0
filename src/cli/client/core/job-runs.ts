import { formatAge } from './durations.ts';

/**
 * Job runs as the CLI shows them (`corral job run|runs|history|logs`): what a run's JSON and its
 * task's status events say, folded into progress lines and table rows. Pure: the time comes in.
 */

type Json = Record<string, unknown>;

const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const tasksOf = (run: Json): Json[] => (Array.isArray(run.tasks) ? (run.tasks as Json[]) : []);

/** `K=V` words as a run's env overrides (values stay strings; `=` may appear in a value). */
export function parseEnvPairs(words: readonly string[]): { ok: true; env: Record<string, string> } | { ok: false; error: string } {
  const env: Record<string, string> = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) return { ok: false, error: `--env takes NAME=value, not '${word}'` };
    env[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return { ok: true, env };
}

/** Where a run stands, as one progress line shows it. */
export interface RunView {
  status: string;
  message: string;
  /** Its current (last) task and that task's agent; '' before the first launch. */
  taskId: string;
  agentId: string;
  /** Tasks launched so far: more than one after ON_FAILURE restarts. */
  attempts: number;
}

/** The order a task moves a launched run through; an ended task moves it no further (the scheduler decides how the run goes on). */
const RANK: Record<string, number> = { INITIAL: 0, STARTING: 1, ACTIVE: 2 };

function statusOfTask(state: string | undefined): string | undefined {
  if (state === 'TASK_STAGING' || state === 'TASK_STARTING') return 'STARTING';
  if (state === 'TASK_RUNNING' || state === 'TASK_KILLING' || state === 'TASK_UNREACHABLE') return 'ACTIVE';
  return undefined;
}

/**
 * A run's JSON (from `GET …/runs/{runId}` or a `job_run_*` event), moved on by what the status
 * events of its current task say: those arrive sooner than the run's own status changes.
 */
export function runView(run: Json, taskStates: ReadonlyMap<string, string>): RunView {
  const tasks = tasksOf(run);
  const task = tasks.at(-1);
  const taskId = str(task?.id);
  let status = str(run.status) || 'INITIAL';
  const byTask = status in RANK && status !== 'INITIAL' ? statusOfTask(taskStates.get(taskId)) : undefined;
  if (byTask !== undefined && (RANK[byTask] ?? 0) > (RANK[status] ?? 0)) status = byTask;
  return { status, message: str(run.message), taskId, agentId: str(task?.agentId), attempts: tasks.length };
}

export const runEnded = (view: RunView): boolean => view.status === 'SUCCESS' || view.status === 'FAILED';

/** The lines that tell what changed from `before` to `now` (none when nothing did). */
export function progressLines(before: RunView | undefined, now: RunView): string[] {
  if (before !== undefined && before.status === now.status && before.message === now.message && before.taskId === now.taskId) return [];
  const status = now.status.padEnd(8);
  if (runEnded(now)) return [`${status} ${now.message}`.trimEnd()];
  if (now.status === 'INITIAL') return [`${status} ${now.message === '' ? 'waiting to be placed' : now.message}`];
  const attempt = now.attempts > 1 ? ` (attempt ${now.attempts})` : '';
  return [`${status} task ${now.taskId} on agent ${now.agentId}${attempt}`];
}

/** A job's runs from `GET /v1/jobs/{id}?embed=activeRuns&embed=history`: active and finished, newest first, with their status. */
export function runsOfJob(job: Json): Json[] {
  const history = (job.history ?? {}) as Json;
  const list = (value: unknown, status?: string): Json[] =>
    (Array.isArray(value) ? (value as Json[]) : []).map((r) => (status === undefined ? r : { ...r, status }));
  const runs = [...list(job.activeRuns), ...list(history.successfulFinishedRuns, 'SUCCESS'), ...list(history.failedFinishedRuns, 'FAILED')];
  return runs.sort((a, b) => str(b.createdAt).localeCompare(str(a.createdAt)) || str(b.id).localeCompare(str(a.id)));
}

/** The task whose logs `corral job logs` prints: the run's last one. */
export function logTaskOf(run: Json): Json | undefined {
  return tasksOf(run).at(-1);
}

/** A slot time, or `-` for a run started by hand. */
const slotText = (run: Json): string => str(run.scheduledAt) || '-';

/** One active run of `GET /v1/jobs/{id}/runs` as `corral job runs` cells: id, status, age, slot, task, agent, message. */
export function activeRunCells(run: Json, nowMs: number): string[] {
  const task = tasksOf(run).at(-1);
  return [str(run.id), str(run.status), formatAge(Date.parse(str(run.createdAt)), nowMs), slotText(run), str(task?.id) || '-', str(task?.agentId) || '-', str(run.message) || '-'];
}

/** A duration between two ISO times: `850ms`, `12s`, `3m4s`, `2h5m`; `-` when either is unknown. */
export function durationText(from: string, to: string): string {
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${ms}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** A job's history (`embed=history`) as `corral job history` shows it: a summary line, finished runs newest first, skipped slots. */
export function historyView(history: Json): { summary: string; finished: string[][]; skipped: string[][] } {
  const count = (value: unknown): number => (typeof value === 'number' ? value : 0);
  const last = (value: unknown): string => (typeof value === 'string' ? ` (last ${value})` : '');
  const summary = `${count(history.successCount)} succeeded${last(history.lastSuccessAt)}, ${count(history.failureCount)} failed${last(history.lastFailureAt)}`;
  const runs = runsOfJob({ history }).sort((a, b) => str(b.finishedAt).localeCompare(str(a.finishedAt)));
  const finished = runs.map((r) => [str(r.id), str(r.status), str(r.createdAt), durationText(str(r.createdAt), str(r.finishedAt)), slotText(r), str(r.message) || '-']);
  const skippedList = Array.isArray(history.skippedSlots) ? (history.skippedSlots as Json[]) : [];
  const skipped = skippedList.map((s) => [str(s.scheduleId), str(s.until) === '' ? str(s.scheduledAt) : `${str(s.scheduledAt)} .. ${str(s.until)}`, str(s.reason)]);
  return { summary, finished, skipped };
}
