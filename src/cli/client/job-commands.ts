import type { Command } from 'commander';
import { action, family, leaf, readJsonInput, withJson, type ClientContext } from './command-kit.ts';
import { jobCells, jobPath, labelsText, scheduleText } from './core/job-rows.ts';
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

/** `corral job …`: Metronome's `/v1/jobs` and their schedules (runs come with the API's runs). */
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

  leaf(job, 'remove <id>', 'Remove a job and its schedules', ['corral job remove team-a.nightly']).action(action(proc, async (ctx, id: string) => {
    await ctx.client.call('DELETE', jobPath(id));
    ctx.out.line(`Removed job ${id}`);
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
