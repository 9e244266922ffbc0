import type { Command } from 'commander';
import { action, EXIT, family, leaf, readJsonInput, UsageError, withJson, type ClientContext } from './command-kit.ts';
import { jobCells, jobPath, labelsText, scheduleText } from './core/job-rows.ts';
import { activeRunCells, historyView, logTaskOf, parseEnvPairs, runsOfJob } from './core/job-runs.ts';
import { ApiFailure } from './http-client.ts';
import { runAndFollow } from './job-run-watch.ts';
import { logOptionsOf, printTaskLog, withLogOptions } from './logs-command.ts';
import type { ClientProcess } from './output.ts';

type Json = Record<string, unknown>;

const runCommand = (run: Json): string => (typeof run.cmd === 'string' ? run.cmd : Array.isArray(run.args) ? run.args.join(' ') : '-');

function showJob(ctx: ClientContext, job: Json): void {
  const run = (job.run ?? {}) as Json;
  const schedules = Array.isArray(job.schedules) ? (job.schedules as Json[]) : [];
  ctx.out.fields([
    ['id', String(job.id)],
    ['description', typeof job.description === 'string' && job.description !== '' ? job.description : '-'],
    ['cmd', runCommand(run)],
    ['resources', `cpus ${String(run.cpus)} · mem ${String(run.mem)} · disk ${String(run.disk)}`],
    ['labels', labelsText(job.labels)],
    ['env', labelsText(run.env)],
    ['schedules', schedules.length === 0 ? '-' : schedules.map((s) => `${String(s.id)}: ${scheduleText(s)}`).join(', ')],
  ]);
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The run `corral job logs` reads: the one named, else the job's latest (active or finished). */
async function runForLogs(ctx: ClientContext, id: string, runId: string | undefined): Promise<Json> {
  if (runId !== undefined) return ctx.client.get<Json>(`${jobPath(id)}/runs/${encodeURIComponent(runId)}`);
  const [latest] = runsOfJob(await ctx.client.get<Json>(`${jobPath(id)}?embed=activeRuns&embed=history`));
  if (latest === undefined) throw new Error(`job ${id} has no runs (start one with: corral job run ${id})`);
  return latest;
}

/** `corral job …`: Metronome's `/v1/jobs`, their schedules and runs. */
export function registerJobCommands(program: Command, proc: ClientProcess): void {
  const job = family(program, 'job', 'Create, inspect, change and remove jobs and their schedules (Metronome\'s /v1/jobs)', [
    'corral job add nightly.json',
    'corral job list',
    'corral job schedule add team-a.nightly schedule.json',
  ]);

  leaf(job, 'add <file>', 'Create a job from a Metronome job definition (a JSON file, or - for stdin); it may carry schedules', [
    'corral job add nightly.json',
    'echo \'{"id": "team-a.nightly", "run": {"cmd": "./report.sh", "cpus": 0.5, "mem": 256}}\' | corral job add -',
  ]).action(action(proc, async (ctx, file: string) => {
    const body = await readJsonInput(file, proc.stdin);
    const { json } = await ctx.client.call<Json>('POST', '/v1/jobs', body);
    ctx.out.line(`Created job ${String(json.id)}`);
  }));

  withJson(leaf(job, 'list', 'List jobs: id, description, schedules (cron and time zone), labels', ['corral job list', 'corral job list --json']))
    .action(action(proc, async (ctx) => {
      const jobs = await ctx.client.get<Json[]>('/v1/jobs?embed=schedules');
      if (ctx.out.json) return ctx.out.printJson(jobs);
      if (jobs.length === 0) return ctx.out.line('No jobs. Create one with: corral job add FILE');
      ctx.out.table([{ header: 'ID' }, { header: 'DESCRIPTION', shrink: true }, { header: 'SCHEDULES' }, { header: 'LABELS', shrink: true }], jobs.map(jobCells));
    }));

  withJson(leaf(job, 'show <id>', 'Show a job: its run, labels and schedules', ['corral job show team-a.nightly', 'corral job show team-a.nightly --json']))
    .action(action(proc, async (ctx, id: string) => {
      const found = await ctx.client.get<Json>(`${jobPath(id)}?embed=schedules`);
      if (ctx.out.json) return ctx.out.printJson(found);
      showJob(ctx, found);
    }));

  leaf(job, 'update <id> <file>', 'Replace a job\'s definition (a JSON file, or - for stdin); its schedules stay', ['corral job update team-a.nightly nightly.json'])
    .action(action(proc, async (ctx, id: string, file: string) => {
      const body = await readJsonInput(file, proc.stdin);
      await ctx.client.call('PUT', jobPath(id), body);
      ctx.out.line(`Updated job ${id}`);
    }));

  leaf(job, 'remove <id>', 'Remove a job, its schedules and its history; refused while it has active runs, unless --stop-runs', [
    'corral job remove team-a.nightly',
    'corral job remove team-a.nightly --stop-runs',
  ]).option('--stop-runs', 'stop the job\'s active runs (they fail) and remove it')
    .action(action(proc, async (ctx, id: string) => {
      try {
        await ctx.client.call('DELETE', `${jobPath(id)}${ctx.flags.stopRuns === true ? '?stopCurrentJobRuns=true' : ''}`);
      } catch (error) {
        const runs = error instanceof ApiFailure && error.status === 409 ? (error.body as { runs?: unknown } | undefined)?.runs : undefined;
        if (!Array.isArray(runs)) throw error;
        ctx.out.error(`job ${id} has ${runs.length} active run(s): ${runs.join(', ')} (HTTP 409)\n(stop them with: corral job stop ${id} RUN, or remove the job and stop them with: corral job remove ${id} --stop-runs)`);
        return EXIT.failed;
      }
      ctx.out.line(`Removed job ${id}`);
    }));

  withJson(leaf(job, 'run <id>', 'Start a run of a job now and follow it to its end (exit 0 when it succeeds, 1 when it fails); --detach returns at once', [
    'corral job run team-a.nightly',
    'corral job run team-a.nightly --env DAY=2026-12-01 --env VERBOSE=1 --detach',
  ])).option('--env <NAME=value>', 'set an environment variable for this run, over the job\'s (repeat for several)', collect)
    .option('--detach', 'return once the run is started instead of following it')
    .action(action(proc, async (ctx, id: string) => {
      const parsed = parseEnvPairs((ctx.flags.env as string[] | undefined) ?? []);
      if (!parsed.ok) throw new UsageError(parsed.error);
      const start = async (): Promise<Json> => (await ctx.client.call<Json>('POST', `${jobPath(id)}/runs`, Object.keys(parsed.env).length > 0 ? { env: parsed.env } : {})).json;
      if (ctx.flags.detach !== true) return runAndFollow(ctx, id, start);
      const run = await start();
      if (ctx.out.json) return ctx.out.printJson(run);
      ctx.out.line(`Started run ${String(run.id)} of job ${id} (follow its output with: corral job logs ${id} ${String(run.id)} --follow)`);
    }));

  withJson(leaf(job, 'runs <id>', 'List a job\'s active runs: status, age, slot, current task, agent, message', ['corral job runs team-a.nightly']))
    .action(action(proc, async (ctx, id: string) => {
      const runs = await ctx.client.get<Json[]>(`${jobPath(id)}/runs`);
      if (ctx.out.json) return ctx.out.printJson(runs);
      if (runs.length === 0) return ctx.out.line(`Job ${id} has no active runs (finished ones: corral job history ${id})`);
      const now = Date.now();
      ctx.out.table(
        [{ header: 'ID' }, { header: 'STATUS' }, { header: 'AGE', align: 'right' }, { header: 'SLOT' }, { header: 'TASK' }, { header: 'AGENT' }, { header: 'MESSAGE', shrink: true }],
        runs.map((r) => activeRunCells(r, now)),
      );
    }));

  withJson(leaf(job, 'history <id>', 'Show a job\'s finished runs (successes, failures with their message), its skipped slots with why, and its counts', ['corral job history team-a.nightly']))
    .action(action(proc, async (ctx, id: string) => {
      const { history } = await ctx.client.get<{ history: Json }>(`${jobPath(id)}?embed=history`);
      if (ctx.out.json) return ctx.out.printJson(history);
      const view = historyView(history);
      ctx.out.line(view.summary);
      if (view.finished.length > 0) {
        ctx.out.line();
        ctx.out.table([{ header: 'RUN' }, { header: 'OUTCOME' }, { header: 'STARTED' }, { header: 'TOOK', align: 'right' }, { header: 'SLOT' }, { header: 'MESSAGE', shrink: true }], view.finished);
      }
      if (view.skipped.length > 0) {
        ctx.out.line();
        ctx.out.table([{ header: 'SCHEDULE' }, { header: 'SKIPPED SLOT' }, { header: 'REASON' }], view.skipped);
      }
    }));

  leaf(job, 'stop <id> <runId>', 'Stop an active run: its task is killed and the run fails', ['corral job stop team-a.nightly 20261206140000abcde'])
    .action(action(proc, async (ctx, id: string, runId: string) => {
      await ctx.client.call('POST', `${jobPath(id)}/runs/${encodeURIComponent(runId)}/actions/stop`);
      ctx.out.line(`Stopped run ${runId} of job ${id}`);
    }));

  withLogOptions(leaf(job, 'logs <id> [runId]', 'Print the stdout (or stderr) of a run\'s last task, by default the job\'s latest run; --follow prints on until the run ends', [
    'corral job logs team-a.nightly',
    'corral job logs team-a.nightly 20261206140000abcde --stderr',
    'corral job logs team-a.nightly --follow',
  ])).action(action(proc, async (ctx, id: string, runId?: string) => {
    // A run's output is read whole by default (an app's logs: the last 10 lines).
    const options = logOptionsOf(ctx, 'all');
    const run = await runForLogs(ctx, id, runId);
    const task = logTaskOf(run);
    if (task === undefined) {
      const ended = run.status === 'SUCCESS' || run.status === 'FAILED';
      throw new Error(`run ${String(run.id)} of job ${id} ${ended ? 'launched no task' : 'has not launched a task yet'} (${String(run.message ?? run.status)})`);
    }
    const runPath = `${jobPath(id)}/runs/${encodeURIComponent(String(run.id))}`;
    const stillWriting = async (): Promise<boolean> => {
      const now = await ctx.client.get<Json>(runPath);
      return now.status !== 'SUCCESS' && now.status !== 'FAILED' && logTaskOf(now)?.id === task.id;
    };
    return printTaskLog(ctx, String(task.id), { ...options, stillWriting });
  }));

  const schedule = family(job, 'schedule', 'Add, list and remove a job\'s schedules', [
    'corral job schedule add team-a.nightly schedule.json',
    'corral job schedule list team-a.nightly',
    'corral job schedule remove team-a.nightly nightly',
  ]);

  leaf(schedule, 'add <id> <file>', 'Add a schedule to a job (a JSON file, or - for stdin)', [
    'echo \'{"id": "nightly", "cron": "0 2 * * *", "timeZone": "Europe/Berlin"}\' | corral job schedule add team-a.nightly -',
  ]).action(action(proc, async (ctx, id: string, file: string) => {
    const body = await readJsonInput(file, proc.stdin);
    const { json } = await ctx.client.call<Json>('POST', `${jobPath(id)}/schedules`, body);
    ctx.out.line(`Added schedule ${String(json.id)} to job ${id}: ${scheduleText(json)}`);
  }));

  withJson(leaf(schedule, 'list <id>', 'List a job\'s schedules: cron, time zone, enabled, concurrency policy, starting deadline', ['corral job schedule list team-a.nightly']))
    .action(action(proc, async (ctx, id: string) => {
      const schedules = await ctx.client.get<Json[]>(`${jobPath(id)}/schedules`);
      if (ctx.out.json) return ctx.out.printJson(schedules);
      if (schedules.length === 0) return ctx.out.line(`Job ${id} has no schedules. Add one with: corral job schedule add ${id} FILE`);
      ctx.out.table(
        [{ header: 'ID' }, { header: 'CRON' }, { header: 'TIME ZONE' }, { header: 'ENABLED' }, { header: 'CONCURRENCY' }, { header: 'DEADLINE', align: 'right' }, { header: 'CATCH-UP' }],
        schedules.map((s) => [String(s.id), String(s.cron), String(s.timeZone ?? 'UTC'), s.enabled === false ? 'no' : 'yes', String(s.concurrencyPolicy ?? '-'),
          s.startingDeadlineSeconds === undefined ? '-' : `${String(s.startingDeadlineSeconds)}s`, String(s.catchUp ?? '-')]),
      );
    }));

  leaf(schedule, 'remove <id> <scheduleId>', 'Remove a schedule from a job', ['corral job schedule remove team-a.nightly nightly'])
    .action(action(proc, async (ctx, id: string, scheduleId: string) => {
      await ctx.client.call('DELETE', `${jobPath(id)}/schedules/${encodeURIComponent(scheduleId)}`);
      ctx.out.line(`Removed schedule ${scheduleId} from job ${id}`);
    }));
}
