import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { AgentCluster, type Json } from '../support/agent-cluster.ts';
import { startAuthScheduler } from '../support/auth-scheduler.ts';
import { marathonCall } from '../support/marathon-api.ts';
import { tempDir } from '../support/parts.ts';

const clusters: AgentCluster[] = [];
const parts: PartProcess[] = [];
const dirs: string[] = [];
after(async () => {
  for (const cluster of clusters) await cluster.stop();
  await stopParts(parts, 5000);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const RUN_DEFAULTS = { cpus: 1, mem: 128, disk: 0, env: {}, artifacts: [], placement: { constraints: [] }, maxLaunchDelay: 3600, restart: { policy: 'NEVER' } };
const SCHEDULE_DEFAULTS = { timeZone: 'UTC', startingDeadlineSeconds: 900, concurrencyPolicy: 'ALLOW', enabled: true, catchUp: 'ONE' };

/** The paths of a 422's details, after checking it is Metronome's (and Marathon's) shape. */
function invalidPaths(answer: { status: number; json: Json }): string[] {
  assert.equal(answer.status, 422, JSON.stringify(answer.json));
  assert.equal(answer.json.message, 'Object is not valid');
  return (answer.json.details as Json[]).map((d) => String(d.path));
}

test('jobs and schedules: CRUD with defaults, 422 details, 409, embeds, events, kept across kill -9', { timeout: 60_000 }, async () => {
  const cluster = await AgentCluster.start('jobs-api');
  clusters.push(cluster);
  const events = await cluster.events();

  const created = await cluster.call('POST', '/v1/jobs', { id: 'team-a.nightly', description: 'report', run: { cmd: 'echo hi' } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  assert.deepEqual(created.json, { id: 'team-a.nightly', description: 'report', labels: {}, run: { cmd: 'echo hi', ...RUN_DEFAULTS } });
  const duplicate = await cluster.call('POST', '/v1/jobs', { id: 'team-a.nightly', run: { cmd: 'x' } });
  assert.deepEqual([duplicate.status, duplicate.json.message], [409, 'Job with this id already exists']);

  assert.deepEqual(invalidPaths(await cluster.call('POST', '/v1/jobs', { id: 'Team_A', run: { cmd: 'x' } })), ['/id']);
  assert.deepEqual(invalidPaths(await cluster.call('POST', '/v1/jobs', { id: 'j', run: { cmd: 'x', cpus: -1 } })), ['/run/cpus']);
  assert.deepEqual(invalidPaths(await cluster.call('POST', '/v1/jobs', { id: 'j', run: { cmd: 'x' }, schedules: [{ id: 's', cron: '* * * *', timeZone: 'Nowhere/Town' }] })), ['/schedules/0/cron', '/schedules/0/timeZone']);

  // Inline schedules (Metronome's v0 form) are kept, with their defaults.
  const inline = await cluster.call('POST', '/v1/jobs', { id: 'team-b.backup', run: { args: ['backup.sh'] }, schedules: [{ id: 'hourly', cron: '0 * * * *' }] });
  assert.equal(inline.status, 201, JSON.stringify(inline.json));
  assert.deepEqual(inline.json.schedules, [{ id: 'hourly', cron: '0 * * * *', ...SCHEDULE_DEFAULTS }]);

  // Schedules of a job.
  const jobPath = '/v1/jobs/team-a.nightly';
  assert.deepEqual((await cluster.call('GET', `${jobPath}/schedules`)).json, []);
  const schedule = await cluster.call('POST', `${jobPath}/schedules`, { id: 'nightly', cron: '0 2 * * *', timeZone: 'Europe/Berlin' });
  assert.equal(schedule.status, 201, JSON.stringify(schedule.json));
  assert.deepEqual(schedule.json, { id: 'nightly', cron: '0 2 * * *', ...SCHEDULE_DEFAULTS, timeZone: 'Europe/Berlin' });
  assert.equal((await cluster.call('POST', `${jobPath}/schedules`, { id: 'nightly', cron: '0 3 * * *' })).status, 409);
  assert.deepEqual(invalidPaths(await cluster.call('POST', `${jobPath}/schedules`, { id: 'other', cron: '0 3 * * *', timeZone: 'Mars/Base' })), ['/timeZone']);
  assert.deepEqual(invalidPaths(await cluster.call('POST', `${jobPath}/schedules`, { id: 'other', cron: '0 3 * *' })), ['/cron']);
  const replaced = await cluster.call('PUT', `${jobPath}/schedules/nightly`, { cron: '30 2 * * *', concurrencyPolicy: 'FORBID' });
  assert.equal(replaced.status, 200, JSON.stringify(replaced.json));
  assert.deepEqual(replaced.json, { id: 'nightly', cron: '30 2 * * *', ...SCHEDULE_DEFAULTS, concurrencyPolicy: 'FORBID' });
  assert.deepEqual((await cluster.call('GET', `${jobPath}/schedules/nightly`)).json, replaced.json);
  const missing = await cluster.call('GET', `${jobPath}/schedules/weekly`);
  assert.deepEqual([missing.status, missing.json.message], [404, 'Schedule not found']);
  assert.equal((await cluster.call('PUT', `${jobPath}/schedules/weekly`, { cron: '0 0 * * 0' })).status, 404);

  // A PUT of the job replaces its definition and keeps its schedules.
  const updated = await cluster.call('PUT', jobPath, { run: { cmd: 'echo bye', mem: 64 }, labels: { owner: 'a' } });
  assert.equal(updated.status, 200, JSON.stringify(updated.json));
  assert.deepEqual(updated.json, { id: 'team-a.nightly', labels: { owner: 'a' }, run: { cmd: 'echo bye', ...RUN_DEFAULTS, mem: 64 } });
  assert.equal((await cluster.call('PUT', '/v1/jobs/nobody', { run: { cmd: 'x' } })).status, 404);

  // Embeds: schedules as stored; runs and history empty until runs exist.
  const embedded = await cluster.call('GET', `${jobPath}?embed=schedules&embed=activeRuns&embed=historySummary&embed=history`);
  assert.deepEqual(embedded.json.schedules, [replaced.json]);
  assert.deepEqual(embedded.json.activeRuns, []);
  assert.deepEqual(embedded.json.historySummary, { successCount: 0, failureCount: 0, lastSuccessAt: null, lastFailureAt: null });
  assert.deepEqual(embedded.json.history.successfulFinishedRuns, []);
  assert.equal((await cluster.call('GET', jobPath)).json.schedules, undefined, 'schedules only when embedded');
  assert.deepEqual(invalidPaths(await cluster.call('GET', '/v1/jobs?embed=everything')), ['/embed']);
  const listed = (await cluster.call('GET', '/v1/jobs?embed=schedules')).json as unknown as Json[];
  assert.deepEqual(listed.map((j) => [j.id, (j.schedules as Json[]).map((s) => s.id)]), [['team-a.nightly', ['nightly']], ['team-b.backup', ['hourly']]]);

  // Every change is a committed event with an id (job_updated for schedule changes, as Metronome's).
  const updates = await events.waitFor('job_updated', (e) => e.job.run.cmd === 'echo bye');
  assert.deepEqual(updates.job.schedules.map((s: Json) => s.cron), ['30 2 * * *']);
  const jobEvents = events.events.filter((e) => e.type.startsWith('job_'));
  assert.deepEqual(jobEvents.map((e) => e.type), ['job_created', 'job_created', 'job_updated', 'job_updated', 'job_updated']);
  assert.ok(jobEvents.every((e) => typeof e.id === 'number'), 'job events carry ids');

  // Jobs and schedules survive kill -9.
  await cluster.restartScheduler({ signal: 'SIGKILL' });
  assert.deepEqual((await cluster.call('GET', `${jobPath}?embed=schedules`)).json, { ...updated.json, schedules: [replaced.json] });

  // Deleting a schedule, then the job (which answers as it was); then both are gone.
  const removed = await cluster.call('DELETE', `${jobPath}/schedules/nightly`);
  assert.equal(removed.status, 200);
  assert.deepEqual((await cluster.call('GET', `${jobPath}/schedules`)).json, []);
  const deleted = await cluster.call('DELETE', jobPath);
  assert.deepEqual([deleted.status, deleted.json.id], [200, 'team-a.nightly']);
  const gone = await cluster.call('GET', jobPath);
  assert.deepEqual([gone.status, gone.json.message], [404, 'Job not found']);
  assert.equal((await cluster.call('DELETE', jobPath)).status, 404);
  assert.equal((await cluster.call('GET', `${jobPath}/schedules`)).status, 404);
});

test('--auth: a team sees and writes only the jobs under its path', { timeout: 60_000 }, async () => {
  const dir = tempDir('corral-jobs-auth-');
  dirs.push(dir);
  const { part, base, admin, tokenFor } = await startAuthScheduler(dir);
  parts.push(part);
  const call = (token: string, method: string, path: string, body?: unknown): ReturnType<typeof marathonCall> => marathonCall(base, method, path, body, token);
  const teamA = await tokenFor('team-a', [{ actions: ['create', 'read', 'update', 'delete'], path: '/team-a' }]);

  assert.equal((await call(teamA, 'POST', '/v1/jobs', { id: 'team-a.nightly', run: { cmd: 'x' } })).status, 201);
  assert.equal((await call(teamA, 'POST', '/v1/jobs', { id: 'team-b.nightly', run: { cmd: 'x' } })).status, 403);
  assert.equal((await call(admin, 'POST', '/v1/jobs', { id: 'team-b.nightly', run: { cmd: 'x' } })).status, 201);
  assert.equal((await call(teamA, 'POST', '/v1/jobs', { id: 'team-ab', run: { cmd: 'x' } })).status, 403, 'a sibling path is not under /team-a');

  const ids = async (token: string): Promise<string[]> => ((await call(token, 'GET', '/v1/jobs')).json as unknown as Json[]).map((j) => String(j.id));
  assert.deepEqual(await ids(admin), ['team-a.nightly', 'team-b.nightly']);
  assert.deepEqual(await ids(teamA), ['team-a.nightly']);
  assert.equal((await call(teamA, 'GET', '/v1/jobs/team-b.nightly')).status, 403);
  assert.equal((await call(teamA, 'PUT', '/v1/jobs/team-b.nightly', { run: { cmd: 'y' } })).status, 403);
  assert.equal((await call(teamA, 'POST', '/v1/jobs/team-b.nightly/schedules', { id: 's', cron: '* * * * *' })).status, 403);
  assert.equal((await call(teamA, 'DELETE', '/v1/jobs/team-b.nightly')).status, 403);
  assert.equal((await call(teamA, 'POST', '/v1/jobs/team-a.nightly/schedules', { id: 's', cron: '* * * * *' })).status, 201);
  assert.equal((await call(teamA, 'DELETE', '/v1/jobs/team-a.nightly')).status, 200);
  assert.deepEqual(await ids(admin), ['team-b.nightly']);
});
