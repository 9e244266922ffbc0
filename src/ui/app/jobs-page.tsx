import { useEffect, useState } from 'preact/hooks';
import { formatAge } from '../core/format.ts';
import { historyEntries, jobPath, jobStatus, lastRun, type Job, type JobRun, type JobRunTask } from '../core/jobs.ts';
import { routeHash } from '../core/routes.ts';
import { api, errorText } from './api.ts';
import { LogTail } from './logs.tsx';
import { store, useNow, type State } from './store.ts';
import { ErrorNote } from './widgets.tsx';

const jobApi = (id: string, sub = ''): string => `/v1/jobs/${encodeURIComponent(id)}${sub}`;
const statusClass = (status: string): string => `badge badge-job-${status.toLowerCase().replace(/\s+/g, '-')}`;
const when = (iso: string | null | undefined, now: number): string => (iso === null || iso === undefined ? '—' : `${formatAge(iso, now)} ago`);

/** Skipped slots come with no event: the page reads the jobs once when it opens. */
function useJobsRead(): void {
  useEffect(() => store.refresh('jobs'), []);
}

export function JobsPage({ state }: { state: State }) {
  useJobsRead();
  const now = useNow();
  const jobs = [...state.view.jobs.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>Jobs</h1>
      <ErrorNote error={state.error} />
      {!state.loaded ? <p>Loading…</p> : jobs.length === 0 ? <p class="empty">No jobs yet (<code>POST /v1/jobs</code> or <code>corral job create</code>).</p> : (
        <table class="jobs">
          <caption class="visually-hidden">Jobs</caption>
          <thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">Last run</th><th scope="col">Schedules</th><th scope="col">Runs</th></tr></thead>
          <tbody>
            {jobs.map((job) => {
              const last = lastRun(job.history);
              const status = jobStatus(job);
              return (
                <tr key={job.id} data-job={job.id}>
                  <th scope="row"><a href={routeHash({ page: 'job', id: job.id })}>{job.id}</a>{job.description !== undefined && job.description !== '' && <div class="sub">{job.description}</div>}</th>
                  <td data-label="Status"><span class={statusClass(status)}>{status}</span></td>
                  <td data-label="Last run">{last.status === 'NEVER' ? '—' : `${last.status === 'SUCCESS' ? 'succeeded' : 'failed'} ${when(last.at, now)}`}</td>
                  <td data-label="Schedules" class="mono">{job.schedules.length === 0 ? '—' : job.schedules.map((s) => `${s.cron} ${s.timeZone ?? 'UTC'}${s.enabled === false ? ' (off)' : ''}`).join(', ')}</td>
                  <td data-label="Runs">{job.history.successCount} ok · {job.history.failureCount} failed{job.activeRuns.length > 0 ? ` · ${job.activeRuns.length} active` : ''}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

const currentTask = (tasks: readonly JobRunTask[]): JobRunTask | undefined => tasks[tasks.length - 1];

export function JobPage({ state, id }: { state: State; id: string }) {
  useJobsRead();
  const now = useNow();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const [logsOf, setLogsOf] = useState<{ taskId: string; live: boolean }>();
  const job: Job | undefined = state.view.jobs.get(id);
  if (job === undefined) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>{id}</h1>
        {state.loaded ? <p class="empty">There is no job {id}. <a href="#/jobs">All jobs</a></p> : <p>Loading…</p>}
      </section>
    );
  }
  const act = async (what: string, method: string, path: string): Promise<void> => {
    setOutcome(undefined);
    try {
      const answer = await api<{ id?: string }>(method, path, {});
      setOutcome({ ok: true, text: `${what}${answer?.id !== undefined ? `: run ${answer.id}` : ''}.` });
    } catch (err) {
      setOutcome({ ok: false, text: `${what}: ${errorText(err)}` });
    }
  };
  const logsButton = (runId: string, tasks: readonly JobRunTask[], live: boolean) => {
    const task = currentTask(tasks);
    if (task === undefined) return null;
    const shown = logsOf?.taskId === task.id;
    return <button type="button" aria-label={`Logs of run ${runId}`} aria-pressed={shown} onClick={() => setLogsOf(shown ? undefined : { taskId: task.id, live })}>Logs</button>;
  };
  const status = jobStatus(job);
  return (
    <section aria-labelledby="page-title">
      <p class="crumbs"><a href="#/jobs">Jobs</a> / {job.id}</p>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>{job.id}</h1>
        <span class={statusClass(status)}>{status}</span>
      </div>
      <div class="summary">
        <span class="mono">{job.run.cmd ?? job.run.args?.join(' ')}</span>
        <span>{job.run.cpus ?? 1} cpus · {job.run.mem ?? 128} MiB · path {jobPath(job.id)}</span>
      </div>
      <div class="toolbar" role="group" aria-label="Job actions">
        <button type="button" class="primary" onClick={() => void act('Run now', 'POST', jobApi(job.id, '/runs'))}>Run now</button>
      </div>
      {outcome !== undefined && <p class={outcome.ok ? 'note' : 'error'} role={outcome.ok ? 'status' : 'alert'}>{outcome.text}</p>}

      <h2>Schedules</h2>
      {job.schedules.length === 0 ? <p class="empty">None: it runs when asked.</p> : (
        <ul>{job.schedules.map((s) => <li key={s.id}><span class="mono">{s.id}: {s.cron}</span> in {s.timeZone ?? 'UTC'}{s.enabled === false ? ' (disabled)' : ''}, {s.concurrencyPolicy ?? 'ALLOW'}</li>)}</ul>
      )}

      <h2>Active runs</h2>
      {job.activeRuns.length === 0 ? <p class="empty">No run is active.</p> : (
        <table class="runs">
          <thead><tr><th scope="col">Run</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col">Message</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {job.activeRuns.map((run: JobRun) => (
              <tr key={run.id} data-run={run.id}>
                <th scope="row" class="mono">{run.id}</th>
                <td data-label="Status"><span class={statusClass(run.status)}>{run.status}</span></td>
                <td data-label="Started">{when(run.createdAt, now)}{run.scheduleId !== undefined ? ` (${run.scheduleId})` : ' (by hand)'}</td>
                <td data-label="Message">{run.message ?? ''}</td>
                <td class="row-actions">
                  {logsButton(run.id, run.tasks, true)}
                  <button type="button" aria-label={`Stop run ${run.id}`} onClick={() => void act(`Stop ${run.id}`, 'POST', jobApi(job.id, `/runs/${encodeURIComponent(run.id)}/actions/stop`))}>Stop</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2>History</h2>
      <p>{job.history.successCount} succeeded, {job.history.failureCount} failed (the last 50 of each and of the skipped slots are listed).</p>
      {(() => {
        const entries = historyEntries(job.history);
        if (entries.length === 0) return <p class="empty">Nothing yet.</p>;
        return (
          <table class="history">
            <thead><tr><th scope="col">When</th><th scope="col">Outcome</th><th scope="col">Run or slot</th><th scope="col">Message</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {entries.map((e) => e.kind === 'skipped' ? (
                <tr key={`skip-${e.slot.scheduleId}-${e.at}`} class="history-skipped">
                  <td data-label="When">{when(e.at, now)}</td>
                  <td data-label="Outcome"><span class="badge badge-job-skipped">SKIPPED</span></td>
                  <td data-label="Slot" class="mono">{e.slot.scheduleId} at {e.slot.scheduledAt}{e.slot.until !== undefined ? ` to ${e.slot.until}` : ''}</td>
                  <td data-label="Reason">{e.slot.reason}</td>
                  <td />
                </tr>
              ) : (
                <tr key={e.run.id} data-run={e.run.id}>
                  <td data-label="When">{when(e.at, now)}</td>
                  <td data-label="Outcome"><span class={statusClass(e.kind === 'success' ? 'SUCCESS' : 'FAILED')}>{e.kind === 'success' ? 'SUCCESS' : 'FAILED'}</span></td>
                  <td data-label="Run" class="mono">{e.run.id}</td>
                  <td data-label="Message">{e.run.message ?? ''}</td>
                  <td class="row-actions">{logsButton(e.run.id, e.run.tasks, false)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        );
      })()}
      {logsOf !== undefined && <LogTail key={logsOf.taskId} taskId={logsOf.taskId} live={logsOf.live} />}
    </section>
  );
}
