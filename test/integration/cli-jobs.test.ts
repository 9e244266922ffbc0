import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentCluster, type StartedAgent } from '../support/agent-cluster.ts';
import { CliProcess, corral, corralJson, type CliOptions } from '../support/cli-run.ts';
import { waitFor } from '../support/wait.ts';

/** `corral job …` and `corral job schedule …` against a real scheduler's `/v1/jobs`, runs on a real agent. */

let c: AgentCluster;
let agent: StartedAgent;
let dir: string;
let master: string;

before(async () => {
  c = await AgentCluster.start('cli-jobs');
  agent = await c.startAgent();
  dir = c.dir;
  master = c.master;
});

after(async () => {
  await c?.stop();
});

type Json = Record<string, unknown>;
const run = (args: string[], options: CliOptions = {}) => corral(args, { master, ...options });
/** A small job whose command carries the cluster's marker (teardown finds its processes by it). */
const addJob = async (job: Json): Promise<void> => {
  const added = await run(['job', 'add', '-'], { input: JSON.stringify({ ...job, run: { cpus: 0.1, mem: 32, ...(job.run as Json), cmd: `${String((job.run as Json).cmd)}; : ${c.marker}` } }) });
  assert.equal(added.code, 0, added.stderr);
};
const runIdOf = (stdout: string): string => stdout.match(/^Started run (\S+) of job /m)?.[1] ?? assert.fail(`no run id in: ${stdout}`);

test('job add, list, show, update and remove; schedules added, listed and removed', { timeout: 60_000 }, async () => {
  const file = join(dir, 'nightly.json');
  writeFileSync(file, JSON.stringify({
    id: 'team-a.nightly', description: 'the nightly report', labels: { team: 'a' },
    run: { cmd: './report.sh', cpus: 0.5, mem: 256 },
    schedules: [{ id: 'nightly', cron: '0 2 * * *', timeZone: 'Europe/Berlin' }],
  }));
  const added = await run(['job', 'add', file]);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /Created job team-a\.nightly/);
  const fromStdin = await run(['job', 'add', '-'], { input: JSON.stringify({ id: 'adhoc', run: { cmd: 'true' } }) });
  assert.equal(fromStdin.code, 0, fromStdin.stderr);

  const table = await run(['job', 'list']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^ID\s+DESCRIPTION\s+SCHEDULES\s+LABELS/);
  assert.match(table.stdout, /team-a\.nightly\s+the nightly report\s+0 2 \* \* \* Europe\/Berlin\s+team=a/);
  assert.match(table.stdout, /adhoc\s+-\s+-\s+-/);
  const listed = await corralJson<Json[]>(['job', 'list'], { master });
  assert.deepEqual(listed.map((j) => j.id).sort(), ['adhoc', 'team-a.nightly']);

  const shown = await run(['job', 'show', 'team-a.nightly']);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /cmd:\s+\.\/report\.sh/);
  assert.match(shown.stdout, /schedules:\s+nightly: 0 2 \* \* \* Europe\/Berlin/);
  const shownJson = await corralJson<Json>(['job', 'show', 'team-a.nightly'], { master });
  assert.equal((shownJson.run as Json).mem, 256);
  assert.equal((shownJson.schedules as Json[]).length, 1);

  const updated = await run(['job', 'update', 'team-a.nightly', '-'], { input: JSON.stringify({ id: 'team-a.nightly', description: 'changed', run: { cmd: './report.sh --all', cpus: 0.5, mem: 256 } }) });
  assert.equal(updated.code, 0, updated.stderr);
  const afterUpdate = await corralJson<Json>(['job', 'show', 'team-a.nightly'], { master });
  assert.equal(afterUpdate.description, 'changed');
  assert.equal((afterUpdate.schedules as Json[]).length, 1, 'an update keeps the schedules');

  const scheduled = await run(['job', 'schedule', 'add', 'team-a.nightly', '-'], { input: JSON.stringify({ id: 'hourly', cron: '0 * * * *', enabled: false }) });
  assert.equal(scheduled.code, 0, scheduled.stderr);
  assert.match(scheduled.stdout, /Added schedule hourly to job team-a\.nightly: 0 \* \* \* \* UTC \(disabled\)/);
  const schedules = await run(['job', 'schedule', 'list', 'team-a.nightly']);
  assert.equal(schedules.code, 0, schedules.stderr);
  assert.match(schedules.stdout, /nightly\s+0 2 \* \* \*\s+Europe\/Berlin\s+yes\s+ALLOW\s+900s\s+ONE/);
  assert.match(schedules.stdout, /hourly\s+0 \* \* \* \*\s+UTC\s+no/);
  assert.equal((await corralJson<Json[]>(['job', 'schedule', 'list', 'team-a.nightly'], { master })).length, 2);

  const unscheduled = await run(['job', 'schedule', 'remove', 'team-a.nightly', 'hourly']);
  assert.equal(unscheduled.code, 0, unscheduled.stderr);
  assert.deepEqual((await corralJson<Json[]>(['job', 'schedule', 'list', 'team-a.nightly'], { master })).map((s) => s.id), ['nightly']);

  const removed = await run(['job', 'remove', 'team-a.nightly']);
  assert.equal(removed.code, 0, removed.stderr);
  const gone = await run(['job', 'show', 'team-a.nightly']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /HTTP 404/);
});

test('job errors: 422 details on their paths, 409 for an existing job, usage errors exit 2', { timeout: 60_000 }, async () => {
  const [invalid, badCron, notJson, missingFile, noFile] = await Promise.all([
    run(['job', 'add', '-'], { input: JSON.stringify({ id: 'bad', run: { cmd: 'true', cpus: -1 } }) }),
    run(['job', 'add', '-'], { input: JSON.stringify({ id: 'badcron', run: { cmd: 'true' }, schedules: [{ id: 's', cron: '0 0 30 2 *' }] }) }),
    run(['job', 'add', '-'], { input: '{oops' }),
    run(['job', 'add', join(dir, 'nope.json')]),
    run(['job', 'schedule', 'add', 'x']),
  ]);
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /Object is not valid\n {2}\/run\/cpus: must be at least 0\.01 \(HTTP 422\)/);
  assert.equal(badCron.code, 1);
  assert.match(badCron.stderr, /\/schedules\/0\/cron: /);
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /stdin is not JSON/);
  assert.equal(missingFile.code, 2);
  assert.match(missingFile.stderr, /cannot read .*nope\.json: ENOENT/);
  assert.equal(noFile.code, 2, 'a missing argument is a usage error');

  const job = JSON.stringify({ id: 'twice', run: { cmd: 'true' } });
  assert.equal((await run(['job', 'add', '-'], { input: job })).code, 0);
  const again = await run(['job', 'add', '-'], { input: job });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists \(HTTP 409\)/);
  const noSchedule = await run(['job', 'schedule', 'remove', 'twice', 'nope']);
  assert.equal(noSchedule.code, 1);
  assert.match(noSchedule.stderr, /HTTP 404/);
});

test('job run follows a run to SUCCESS (exit 0) or FAILED (exit 1, with the message); job logs prints its output; job history shows both', { timeout: 90_000 }, async () => {
  await addJob({ id: 'cli.batch', run: { cmd: 'echo "hello $WHO"; echo warn >&2; sleep 1; exit ${CODE:-0}' } });
  const ok = await run(['job', 'run', 'cli.batch', '--env', 'WHO=cli']);
  assert.equal(ok.code, 0, ok.stderr);
  const okRun = runIdOf(ok.stdout);
  assert.match(ok.stdout, /^STARTING +task cli_batch\.\S+ on agent \S+$/m);
  assert.match(ok.stdout, /^ACTIVE +task cli_batch\./m);
  assert.match(ok.stdout, /^SUCCESS +TASK_FINISHED/m);

  const failed = await run(['job', 'run', 'cli.batch', '--env', 'CODE=3', '--env', 'WHO=again']);
  assert.equal(failed.code, 1, failed.stdout);
  const failedRun = runIdOf(failed.stdout);
  assert.match(failed.stdout, /^FAILED +TASK_FAILED/m);
  assert.match(failed.stderr, new RegExp(`error: run ${failedRun} of job cli\\.batch failed: TASK_FAILED: .*3`));

  // Without a run id: the latest run (the failed one); a finished run's sandbox is still read.
  const [latest, first, firstErr] = await Promise.all([
    run(['job', 'logs', 'cli.batch']), run(['job', 'logs', 'cli.batch', okRun]), run(['job', 'logs', 'cli.batch', okRun, '--stderr']),
  ]);
  assert.equal(latest.code, 0, latest.stderr);
  assert.equal(latest.stdout, 'hello again\n');
  assert.equal(first.stdout, 'hello cli\n', first.stderr);
  assert.equal(firstErr.stdout, 'warn\n', firstErr.stderr);

  const history = await run(['job', 'history', 'cli.batch']);
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, /^1 succeeded \(last \S+\), 1 failed \(last \S+\)$/m);
  assert.match(history.stdout, new RegExp(`^${okRun} +SUCCESS +\\S+ +\\d+(ms|s) +- +TASK_FINISHED`, 'm'));
  assert.match(history.stdout, new RegExp(`^${failedRun} +FAILED +\\S+ +\\d+(ms|s) +- +TASK_FAILED`, 'm'));
  const historyJson = await corralJson<Json>(['job', 'history', 'cli.batch'], { master });
  assert.deepEqual([historyJson.successCount, historyJson.failureCount], [1, 1]);

  const usage = await run(['job', 'run', 'cli.batch', '--env', 'NOEQUALS']);
  assert.equal(usage.code, 2, usage.stderr);
  assert.match(usage.stderr, /--env takes NAME=value, not 'NOEQUALS'/);
});

test('job run shows ON_FAILURE restarts with their message; --detach returns at once and job logs --follow ends with the run', { timeout: 90_000 }, async () => {
  await addJob({ id: 'cli.flaky', run: { cmd: 'echo try; exit 2', restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 3 } } });
  const flaky = await run(['job', 'run', 'cli.flaky']);
  assert.equal(flaky.code, 1, flaky.stdout);
  assert.match(flaky.stdout, /^INITIAL +restarting after TASK_FAILED/m);
  assert.match(flaky.stdout, /^(STARTING|ACTIVE) +task cli_flaky\.\S+ on agent \S+ \(attempt 2\)$/m);
  assert.match(flaky.stderr, /failed: TASK_FAILED.*\(no restart: it would come after the active deadline\)/);

  await addJob({ id: 'cli.huge', run: { cmd: 'true', cpus: 50, maxLaunchDelay: 2 } });
  const huge = await run(['job', 'run', 'cli.huge']);
  assert.equal(huge.code, 1, huge.stdout);
  assert.match(huge.stdout, /^INITIAL +insufficient cpus on 1 of 1 agents$/m);
  assert.match(huge.stderr, /failed: not launched within maxLaunchDelay \(2 s\): insufficient cpus/);
  const noTask = await run(['job', 'logs', 'cli.huge']);
  assert.equal(noTask.code, 1);
  assert.match(noTask.stderr, /of job cli\.huge launched no task \(not launched within maxLaunchDelay/);

  await addJob({ id: 'cli.chatty', run: { cmd: 'echo first; while [ ! -e "$MESOS_SANDBOX/go" ]; do sleep 0.05; done; echo second' } });
  const detached = await run(['job', 'run', 'cli.chatty', '--detach']);
  assert.equal(detached.code, 0, detached.stderr);
  const runId = runIdOf(detached.stdout);
  const follow = new CliProcess(['job', 'logs', 'cli.chatty', '--follow'], { master });
  await follow.printed(/^first\n$/);
  const [active] = await corralJson<Json[]>(['job', 'runs', 'cli.chatty'], { master });
  assert.equal(active?.id, runId);
  const taskId = String((active?.tasks as Json[])[0]?.id);
  const sandbox = join(agent.workDir, 'sandboxes', taskId);
  assert.ok(existsSync(sandbox), sandbox);
  writeFileSync(join(sandbox, 'go'), '');
  await follow.printed(/^first\nsecond\n$/);
  assert.equal(await follow.exited(20_000), 0, 'the following ends once the run has ended');
  assert.equal((await corralJson<Json>(['job', 'history', 'cli.chatty'], { master })).successCount, 1);
});

test('job runs lists active runs, history shows skipped slots with why; stop; remove refused with active runs, remove --stop-runs', { timeout: 90_000 }, async () => {
  await addJob({ id: 'cli.busy', run: { cmd: 'sleep 300' }, schedules: [{ id: 'often', cron: '* * * * * *', concurrencyPolicy: 'FORBID' }] });
  const runs = await waitFor('an active run of cli.busy and a skipped slot', async () => {
    const [active, history] = await Promise.all([corralJson<Json[]>(['job', 'runs', 'cli.busy'], { master }), corralJson<Json>(['job', 'history', 'cli.busy'], { master })]);
    return active.some((r) => r.status === 'ACTIVE') && (history.skippedSlots as Json[]).length > 0 ? active : undefined;
  }, 30_000);
  const busyRun = String(runs[0]?.id);
  const table = await run(['job', 'runs', 'cli.busy']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^ID +STATUS +AGE +SLOT +TASK +AGENT +MESSAGE$/m);
  assert.match(table.stdout, new RegExp(`^${busyRun} +ACTIVE +\\d+s +\\S+Z +cli_busy\\.\\S+ +\\S+ +-$`, 'm'));
  const history = await run(['job', 'history', 'cli.busy']);
  assert.match(history.stdout, /^0 succeeded, 0 failed$/m);
  assert.match(history.stdout, /^SCHEDULE +SKIPPED SLOT +REASON$/m);
  assert.match(history.stdout, /^often +\S+Z +forbidden-concurrent$/m);

  const refused = await run(['job', 'remove', 'cli.busy']);
  assert.equal(refused.code, 1, refused.stdout);
  assert.match(refused.stderr, new RegExp(`job cli\\.busy has 1 active run\\(s\\): ${busyRun} \\(HTTP 409\\)\\n\\(stop them with: corral job stop cli\\.busy RUN, or .*corral job remove cli\\.busy --stop-runs\\)`));

  const schedule = await run(['job', 'schedule', 'remove', 'cli.busy', 'often']);
  assert.equal(schedule.code, 0, schedule.stderr);
  const stopped = await run(['job', 'stop', 'cli.busy', busyRun]);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, new RegExp(`Stopped run ${busyRun} of job cli\\.busy`));
  const afterStop = await run(['job', 'history', 'cli.busy']);
  assert.match(afterStop.stdout, new RegExp(`^${busyRun} +FAILED .* stopped by hand$`, 'm'));
  assert.equal((await run(['job', 'stop', 'cli.busy', busyRun])).code, 1, 'a finished run cannot be stopped');

  // Ctrl-C stops the waiting, not the run.
  const following = new CliProcess(['job', 'run', 'cli.busy'], { master });
  await following.printed(/^ACTIVE +task /m, 'stdout', 30_000);
  assert.equal(await following.interrupt(), 130);
  const again = runIdOf(following.stdout);
  assert.match(following.stderr, new RegExp(`Stopped waiting; run ${again} of job cli\\.busy goes on \\(stop it with: corral job stop cli\\.busy ${again}\\)`));
  assert.equal((await c.get(`/v1/jobs/cli.busy/runs/${again}`)).status, 'ACTIVE');
  const removed = await run(['job', 'remove', 'cli.busy', '--stop-runs']);
  assert.equal(removed.code, 0, removed.stderr);
  assert.match(removed.stdout, /Removed job cli\.busy/);
  assert.equal((await c.call('GET', `/v1/jobs/cli.busy/runs/${again}`)).status, 404);
  const noJob = await run(['job', 'runs', 'cli.busy']);
  assert.equal(noJob.code, 1);
  assert.match(noJob.stderr, /Job not found \(HTTP 404\)/);
});
