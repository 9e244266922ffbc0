import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { join } from 'node:path';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { LoopbackRegistry, writeBusyboxImage } from '../support/oci-image.ts';
import { waitFor } from '../support/wait.ts';

const clusters: AgentCluster[] = [];
after(async () => {
  for (const cluster of clusters) await cluster.stop();
});

async function cluster(name: string): Promise<AgentCluster> {
  const c = await AgentCluster.start(name);
  clusters.push(c);
  await c.startAgent();
  return c;
}

async function createJob(c: AgentCluster, job: Json): Promise<void> {
  const created = await c.call('POST', '/v1/jobs', { ...job, run: { cpus: 0.1, mem: 32, ...job.run } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
}

/** The job's history and active runs, as `embed=` shows them. */
async function jobState(c: AgentCluster, jobId: string): Promise<{ history: Json; activeRuns: Json[] }> {
  const job = await c.get(`/v1/jobs/${jobId}?embed=history&embed=activeRuns`);
  return { history: job.history as Json, activeRuns: job.activeRuns as Json[] };
}

/** Slot times of a job: every run (active, succeeded, failed) and every skipped slot, by schedule. */
function slotsOf(state: { history: Json; activeRuns: Json[] }): { runs: string[]; skipped: Json[] } {
  const runs = [...state.activeRuns, ...(state.history.successfulFinishedRuns as Json[]), ...(state.history.failedFinishedRuns as Json[])]
    .map((r) => r.scheduledAt as string | undefined)
    .filter((at): at is string => at !== undefined);
  return { runs, skipped: state.history.skippedSlots as Json[] };
}

test('run now: the task runs with the run\'s env over the job\'s, the run succeeds, events and history say so', { timeout: 60_000 }, async () => {
  const c = await cluster('job-run-now');
  const events = await c.events();
  await createJob(c, { id: 'team.report', run: { cmd: `echo "$GREETING $WHO" > out.txt; : ${c.marker}`, env: { GREETING: 'hello', WHO: 'job' } } });
  const started = await c.call('POST', '/v1/jobs/team.report/runs', { env: { WHO: 'run' } });
  assert.equal(started.status, 201, JSON.stringify(started.json));
  const runId = String(started.json.id);
  assert.match(runId, /^\d{14}[a-z0-9]{5}$/);
  assert.equal(started.json.status, 'INITIAL');
  assert.equal(started.json.scheduledAt, undefined);

  const finished = await events.waitFor('job_run_finished', (e) => e.jobRun.id === runId, 30_000);
  assert.equal(finished.jobRun.status, 'SUCCESS');
  assert.ok(events.find('job_run_started', (e) => e.jobRun.id === runId).length === 1);
  const taskId = String((finished.jobRun.tasks as Json[])[0]?.id);
  // The task's status went through the event stream like an app's, under the job's path.
  assert.ok(events.find('status_update_event', (e) => e.taskId === taskId && e.taskStatus === 'TASK_FINISHED' && e.appId === '/team/report').length === 1);

  const run = await c.get(`/v1/jobs/team.report/runs/${runId}`);
  assert.equal(run.status, 'SUCCESS');
  assert.equal((await c.readSandboxFile(c.agents[0]!, taskId, 'out.txt')).trim(), 'hello run');
  const { history, activeRuns } = await jobState(c, 'team.report');
  assert.deepEqual(activeRuns, []);
  assert.equal(history.successCount, 1);
  assert.equal((history.successfulFinishedRuns as Json[])[0]?.id, runId);
  // Job tasks are no app's: Marathon's task list leaves them out.
  assert.deepEqual((await c.tasks()).filter((t) => t.id === taskId), []);

  const bad = await c.call('POST', '/v1/jobs/team.report/runs', { env: { X: 1 } });
  assert.equal(bad.status, 422, JSON.stringify(bad.json));
  assert.deepEqual(bad.json.details, [{ path: '/env/X', errors: ['must be a string'] }]);
  assert.equal((await c.call('GET', '/v1/jobs/team.report/runs/nope')).status, 404);
});

test('ON_FAILURE restarts a failing run with backoff until activeDeadlineSeconds; stop and DELETE with active runs', { timeout: 60_000 }, async () => {
  const c = await cluster('job-run-failures');
  const events = await c.events();
  await createJob(c, { id: 'flaky', run: { cmd: `exit 3; : ${c.marker}`, restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 5 } } });
  const { json: run } = await c.call('POST', '/v1/jobs/flaky/runs');
  const failed = await events.waitFor('job_run_failed', (e) => e.jobRun.id === run.id, 30_000);
  const tasks = failed.jobRun.tasks as Json[];
  assert.ok(tasks.length >= 2, `restarted at least once: ${JSON.stringify(tasks)}`);
  assert.ok(tasks.every((t) => t.status === 'TASK_FAILED'), JSON.stringify(tasks));
  assert.equal((await jobState(c, 'flaky')).history.failureCount, 1);

  await createJob(c, { id: 'long', run: { cmd: `sleep 300; : ${c.marker}` } });
  const { json: longRun } = await c.call('POST', '/v1/jobs/long/runs');
  await waitFor('the long run active', async () => ((await c.get(`/v1/jobs/long/runs/${String(longRun.id)}`)).status === 'ACTIVE' ? true : undefined), 20_000);
  const refused = await c.call('DELETE', '/v1/jobs/long');
  assert.equal(refused.status, 409, JSON.stringify(refused.json));
  assert.deepEqual(refused.json.runs, [longRun.id]);
  const stopped = await c.call('POST', `/v1/jobs/long/runs/${String(longRun.id)}/actions/stop`);
  assert.equal(stopped.status, 200, JSON.stringify(stopped.json));
  const stopEvent = await events.waitFor('job_run_failed', (e) => e.jobRun.id === longRun.id);
  assert.equal(stopEvent.jobRun.message, 'stopped by hand');
  const longTask = String((stopEvent.jobRun.tasks as Json[])[0]?.id);
  await events.waitFor('status_update_event', (e) => e.taskId === longTask && e.taskStatus === 'TASK_KILLED');

  const { json: another } = await c.call('POST', '/v1/jobs/long/runs');
  await waitFor('another run active', async () => ((await c.get(`/v1/jobs/long/runs/${String(another.id)}`)).status === 'ACTIVE' ? true : undefined), 20_000);
  assert.equal((await c.call('DELETE', '/v1/jobs/long?stopCurrentJobRuns=true')).status, 200);
  await events.waitFor('job_run_failed', (e) => e.jobRun.id === another.id);
  assert.equal((await c.call('GET', '/v1/jobs/long')).status, 404);
});

test('a per-second schedule runs once per slot; FORBID skips slots while a run is active; REPLACE stops it', { timeout: 90_000 }, async () => {
  const c = await cluster('job-schedules');
  const events = await c.events();
  await createJob(c, { id: 'tick', run: { cmd: `true; : ${c.marker}` }, schedules: [{ id: 'every-second', cron: '* * * * * *' }] });
  await createJob(c, { id: 'forbid', run: { cmd: `sleep 3; : ${c.marker}` }, schedules: [{ id: 's', cron: '* * * * * *', concurrencyPolicy: 'FORBID' }] });
  await createJob(c, { id: 'replace', run: { cmd: `sleep 300; : ${c.marker}` }, schedules: [{ id: 's', cron: '*/3 * * * * *', concurrencyPolicy: 'REPLACE' }] });

  await waitFor('4 runs of tick', () => (events.find('job_run_finished', (e) => e.jobRun.jobId === 'tick').length >= 4 ? true : undefined), 30_000);
  const tickRuns = events.find('job_run_started', (e) => e.jobRun.jobId === 'tick').map((e) => String(e.jobRun.scheduledAt));
  assert.equal(new Set(tickRuns).size, tickRuns.length, `one run per slot: ${tickRuns.join(' ')}`);
  assert.ok(tickRuns.every((at) => at.endsWith('.000Z')), tickRuns.join(' '));

  const forbid = await waitFor('a slot of forbid skipped', async () => {
    const state = await jobState(c, 'forbid');
    return (state.history.skippedSlots as Json[]).some((s) => s.reason === 'forbidden-concurrent') ? state : undefined;
  }, 30_000);
  assert.ok(forbid.activeRuns.length <= 1, JSON.stringify(forbid.activeRuns));

  const replaced = await events.waitFor('job_run_failed', (e) => e.jobRun.jobId === 'replace', 30_000);
  assert.match(String(replaced.jobRun.message), /^replaced by the run of the slot at .* \(concurrencyPolicy REPLACE\)$/);
  for (const jobId of ['tick', 'forbid', 'replace']) assert.equal((await c.call('DELETE', `/v1/jobs/${jobId}?stopCurrentJobRuns=true`)).status, 200);
});

test('kill -9 of the scheduler across slots: every slot has exactly one run or skip, none lost; dependents run after their parent', { timeout: 90_000 }, async () => {
  const c = await cluster('job-kill9');
  await createJob(c, { id: 'parent', run: { cmd: `true; : ${c.marker}` }, schedules: [{ id: 's', cron: '*/2 * * * * *' }] });
  await createJob(c, { id: 'child', dependencies: ['parent'], run: { cmd: `true; : ${c.marker}` } });
  await waitFor('a run of parent', async () => ((await jobState(c, 'parent')).history.successCount >= 1 ? true : undefined), 20_000);

  await c.restartScheduler({ signal: 'SIGKILL' });
  const before = Date.now();
  // Slots fell due while no scheduler ran (within the 10 s grace: they run on restart).
  await waitFor('runs after the restart', async () => {
    const { runs } = slotsOf(await jobState(c, 'parent'));
    return runs.some((at) => Date.parse(at) > before + 2000) ? true : undefined;
  }, 30_000);
  await c.restartScheduler({ signal: 'SIGKILL' });
  const settledAfter = Date.now() + 4000;
  await waitFor('more runs after the second restart', async () => {
    const { runs } = slotsOf(await jobState(c, 'parent'));
    return runs.some((at) => Date.parse(at) > settledAfter) ? true : undefined;
  }, 30_000);

  const { runs, skipped } = slotsOf(await jobState(c, 'parent'));
  const decided = [...runs, ...skipped.map((s) => String(s.scheduledAt))].sort();
  assert.equal(new Set(decided).size, decided.length, `no slot decided twice: ${decided.join(' ')}`);
  const first = Date.parse(decided[0]!);
  const last = Date.parse(decided.at(-1)!);
  for (let at = first; at <= last; at += 2000) assert.ok(decided.includes(new Date(at).toISOString()), `slot ${new Date(at).toISOString()} not lost: ${decided.join(' ')}`);

  // The child ran for slots its parent succeeded in, with the parent's slot time.
  const parentDone = (await jobState(c, 'parent')).history.successfulFinishedRuns as Json[];
  const childState = await waitFor('child runs', async () => {
    const state = await jobState(c, 'child');
    return state.history.successCount >= 2 ? state : undefined;
  }, 20_000);
  const childSlots = (childState.history.successfulFinishedRuns as Json[]).map((r) => String(r.scheduledAt));
  assert.equal(new Set(childSlots).size, childSlots.length);
  const parentSlots = new Set([...parentDone.map((r) => String(r.scheduledAt)), ...(await jobState(c, 'parent')).history.successfulFinishedRuns.map((r: Json) => String(r.scheduledAt))]);
  assert.ok(childSlots.every((at) => parentSlots.has(at)), `child slots ${childSlots.join(' ')} are parent slots`);
  for (const jobId of ['child', 'parent']) assert.equal((await c.call('DELETE', `/v1/jobs/${jobId}?stopCurrentJobRuns=true`)).status, 200);
});

test('run.docker: a job runs in its image (pulled from a loopback registry) to SUCCESS; GET /v1/jobs shows the docker back', { timeout: 120_000 }, async (t) => {
  const c = await cluster('job-docker');
  const registry = await LoopbackRegistry.start(join(c.dir, 'registry'));
  t.after(() => registry.stop());
  writeBusyboxImage(join(c.dir, 'image'), 'v1', { entrypoint: ['/bin/busybox'], cmd: ['sh'], env: ['PATH=/bin', 'IMAGE_ONLY=from-image'] });
  await registry.push(join(c.dir, 'image', 'layout'), 'v1', 'corral/busybox:v1');
  const docker = { image: `${registry.host}/corral/busybox:v1`, forcePullImage: false, privileged: false, parameters: [{ key: 'env', value: 'FROM_PARAMETER=param' }] };
  const events = await c.events();
  await createJob(c, { id: 'in.image', run: { args: ['sh', '-c', `echo "$IMAGE_ONLY $FROM_PARAMETER"; : ${c.marker}`], docker } });
  assert.deepEqual((await c.get('/v1/jobs/in.image')).run.docker, docker);
  assert.deepEqual(((await c.call('GET', '/v1/jobs')).json as unknown as Json[]).find((j) => j.id === 'in.image')?.run.docker, docker);
  const started = await c.call('POST', '/v1/jobs/in.image/runs', {});
  assert.equal(started.status, 201, JSON.stringify(started.json));
  const finished = await events.waitFor('job_run_finished', (e) => e.jobRun.id === started.json.id, 90_000);
  assert.equal(finished.jobRun.status, 'SUCCESS', JSON.stringify(finished.jobRun));
  const taskId = String((finished.jobRun.tasks as Json[])[0]?.id);
  const out = await c.readSandboxFile(c.agents[0]!, taskId, 'stdout');
  assert.match(out, /^from-image param$/m, `the image's env and the docker parameter: ${out}`);

  const refused = await c.call('POST', '/v1/jobs', { id: 'bad.image', run: { docker: { image: 'Not An Image' } } });
  assert.equal(refused.status, 422);
  assert.deepEqual((refused.json.details as Json[]).map((d) => d.path), ['/run/docker/image']);
  assert.equal((await c.call('DELETE', '/v1/jobs/in.image')).status, 200);
});
