import { useEffect, useState } from 'preact/hooks';
import { parsePairs } from '../core/app-form.ts';
import { formatAge } from '../core/format.ts';
import { NEW_JOB_FORM, jobDefinitionOf } from '../core/job-form.ts';
import { describeSlot, nextSlot } from '../core/job-schedule.ts';
import { historyEntries, jobPath, jobStatus, lastRun, type Job, type JobRun, type JobRunTask, type JobSchedule } from '../core/jobs.ts';
import { routeHash } from '../core/routes.ts';
import { api, ApiError, errorText } from './api.ts';
import { JobDefinitionEditor } from './job-form.tsx';
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
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>Jobs</h1>
        <a class="button primary" href="#/new-job">Create job</a>
      </div>
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
                  <td data-label="Schedules">{job.schedules.length === 0 ? '—' : job.schedules.map((s) => (
                    <div key={s.id}><span class="mono">{s.cron} {s.timeZone ?? 'UTC'}{s.enabled === false ? ' (off)' : ''}</span>{s.enabled !== false && <div class="sub">next {nextOf(s, now)}</div>}</div>
                  ))}</td>
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

const nextOf = (schedule: JobSchedule, now: number): string => describeSlot(nextSlot(schedule, new Date(now)), schedule.timeZone ?? 'UTC', now);

/** Create job: the form or JSON; POST /v1/jobs (one schedule may come inline). */
export function NewJobPage() {
  const create = async (body: Record<string, unknown>): Promise<void> => {
    const job = await api<{ id: string }>('POST', '/v1/jobs', body);
    location.hash = routeHash({ page: 'job', id: job.id });
  };
  return (
    <section aria-labelledby="page-title">
      <p class="crumbs"><a href="#/jobs">Jobs</a> / new</p>
      <h1 id="page-title" tabIndex={-1}>Create a job</h1>
      <JobDefinitionEditor base={jobDefinitionOf(NEW_JOB_FORM)} submitLabel="Create job" send={create} />
      <p><a class="button" href="#/jobs">Cancel</a></p>
    </section>
  );
}

/** A schedule call's 422 names paths in the schedule (`/cron`): the form's are in the job (`/schedules/0/cron`). */
async function asSchedule<T>(index: number, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    throw new ApiError({ ...err.problem, details: err.problem.details.map((d) => ({ ...d, path: `/schedules/${index}${d.path === '/' ? '' : d.path}` })) });
  }
}

/**
 * A job's Edit: its definition (PUT, which leaves schedules alone, as Metronome's) and then its
 * schedules through their own routes, by id: changed ones replaced, new ones added, missing ones
 * removed (the form edits the first; the JSON all of them).
 */
function JobEdit({ job, done }: { job: Job; done: (text: string) => void }) {
  const [base, setBase] = useState<Record<string, unknown>>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api<Record<string, unknown>>('GET', `${jobApi(job.id)}?embed=schedules`).then((definition) => {
      const { activeRuns: _a, history: _h, historySummary: _s, ...rest } = definition;
      setBase(rest);
    }, (err) => setError(errorText(err)));
  }, [job.id]);
  if (error !== undefined) return <ErrorNote error={error} />;
  if (base === undefined) return <p>Loading…</p>;
  const save = async (body: Record<string, unknown>): Promise<void> => {
    const { schedules, ...definition } = body;
    await api('PUT', jobApi(job.id), { ...definition, id: job.id });
    const before = (base.schedules as JobSchedule[] | undefined) ?? [];
    const after = Array.isArray(schedules) ? (schedules as Array<Record<string, unknown>>) : [];
    for (const [index, schedule] of after.entries()) {
      const id = String(schedule.id ?? '');
      const known = before.find((b) => b.id === id);
      if (known === undefined) await asSchedule(index, api('POST', jobApi(job.id, '/schedules'), schedule));
      else if (JSON.stringify(known) !== JSON.stringify(schedule)) await asSchedule(index, api('PUT', jobApi(job.id, `/schedules/${encodeURIComponent(id)}`), schedule));
    }
    for (const gone of before.filter((b) => !after.some((a) => a.id === b.id))) await api('DELETE', jobApi(job.id, `/schedules/${encodeURIComponent(gone.id)}`));
    done('Saved.');
  };
  return <JobDefinitionEditor base={base} fixedId submitLabel="Save job" send={save} />;
}

const currentTask = (tasks: readonly JobRunTask[]): JobRunTask | undefined => tasks[tasks.length - 1];

export function JobPage({ state, id }: { state: State; id: string }) {
  useJobsRead();
  const now = useNow();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const [logsOf, setLogsOf] = useState<{ taskId: string; live: boolean }>();
  const [runEnv, setRunEnv] = useState('');
  const [editing, setEditing] = useState(false);
  const job: Job | undefined = state.view.jobs.get(id);
  if (job === undefined) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>{id}</h1>
        {state.loaded ? <p class="empty">There is no job {id}. <a href="#/jobs">All jobs</a></p> : <p>Loading…</p>}
      </section>
    );
  }
  const act = async (what: string, method: string, path: string, body: Record<string, unknown> = {}): Promise<void> => {
    setOutcome(undefined);
    try {
      const answer = await api<{ id?: string }>(method, path, body);
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
      <form class="toolbar run-now" aria-label="Job actions" onSubmit={(e) => {
        e.preventDefault();
        const env = parsePairs(runEnv);
        void act('Run now', 'POST', jobApi(job.id, '/runs'), Object.keys(env).length === 0 ? {} : { env });
      }}>
        <label>Environment for this run <textarea rows={1} spellcheck={false} value={runEnv} placeholder="DAY=2026-12-01" onInput={(e) => setRunEnv(e.currentTarget.value)} /></label>
        <button type="submit" class="primary">Run now</button>
        <button type="button" aria-expanded={editing} onClick={() => setEditing(!editing)}>{editing ? 'Close the editor' : 'Edit'}</button>
      </form>
      {outcome !== undefined && <p class={outcome.ok ? 'note' : 'error'} role={outcome.ok ? 'status' : 'alert'}>{outcome.text}</p>}
      {editing && <JobEdit job={job} done={(text) => { setEditing(false); setOutcome({ ok: true, text }); }} />}

      <h2>Schedules</h2>
      {job.schedules.length === 0 ? <p class="empty">None: it runs when asked.</p> : (
        <ul class="schedules">{job.schedules.map((s) => (
          <li key={s.id} data-schedule={s.id}><span class="mono">{s.id}: {s.cron}</span> in {s.timeZone ?? 'UTC'}{s.enabled === false ? ' (disabled)' : ''}, {s.concurrencyPolicy ?? 'ALLOW'}; next slot: <span class="next-slot">{nextOf(s, now)}</span></li>
        ))}</ul>
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
