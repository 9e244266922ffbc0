import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stopParts, type PartProcess } from '../../src/cli/child-process.ts';
import { corral, corralJson, type CliOptions } from '../support/cli-run.ts';
import { startPart, tempDir } from '../support/parts.ts';

/** `corral job …` and `corral job schedule …` against a real scheduler's `/v1/jobs`. */

const dir = tempDir('corral-cli-jobs-');
let scheduler: PartProcess;
let master: string;

before(async () => {
  scheduler = await startPart('scheduler', ['scheduler', '--listen', '127.0.0.1:0', '--data-dir', join(dir, 'scheduler')], dir);
  master = String(scheduler.ready.api);
});

after(async () => {
  await stopParts([scheduler], 5000);
  rmSync(dir, { recursive: true, force: true });
});

type Json = Record<string, unknown>;
const run = (args: string[], options: CliOptions = {}) => corral(args, { master, ...options });

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
