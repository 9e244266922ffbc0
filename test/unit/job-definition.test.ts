import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jobPath } from '../../src/auth/core/paths.ts';
import { jobFromBody, scheduleFromBody } from '../../src/scheduler/jobs/core/job-definition.ts';

const run = { cmd: 'echo hi' };

test('a job gets Metronome defaults for what it leaves out', () => {
  const checked = jobFromBody({ id: 'team.nightly', run });
  assert.deepEqual(checked, {
    ok: true,
    value: {
      job: {
        id: 'team.nightly',
        labels: {},
        run: { cmd: 'echo hi', cpus: 1, mem: 128, disk: 0, env: {}, artifacts: [], placement: { constraints: [] }, maxLaunchDelay: 3600, restart: { policy: 'NEVER' } },
      },
      schedules: undefined,
    },
  });
});

test('a schedule gets Metronome defaults (and catchUp ONE)', () => {
  assert.deepEqual(scheduleFromBody({ id: 'nightly', cron: '0 2 * * *' }), {
    ok: true,
    value: { id: 'nightly', cron: '0 2 * * *', timeZone: 'UTC', startingDeadlineSeconds: 900, concurrencyPolicy: 'ALLOW', enabled: true, catchUp: 'ONE' },
  });
});

test('what a job body sets is kept', () => {
  const body = {
    id: 'a.b-c.d',
    description: 'report',
    labels: { team: 'a' },
    run: {
      args: ['run.sh', '--fast'], cpus: 0.5, mem: 64, disk: 10, gpus: 0, env: { A: '1' }, user: 'nobody',
      artifacts: [{ uri: 'http://127.0.0.1/x.tgz', extract: true }],
      placement: { constraints: [{ attribute: 'rack', operator: 'LIKE', value: 'r1' }] },
      maxLaunchDelay: 60, restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 120 },
    },
    dependencies: ['a.parent'],
    schedules: [{ id: 'every-minute', cron: '* * * * *', timeZone: 'Europe/Berlin', concurrencyPolicy: 'FORBID', enabled: false, catchUp: 'ALL', startingDeadlineSeconds: 30 }],
  };
  const checked = jobFromBody(body);
  assert.ok(checked.ok, JSON.stringify(checked));
  const { schedules, ...job } = body;
  assert.deepEqual(checked.value.job, job);
  assert.deepEqual(checked.value.schedules, schedules);
});

test('refused job bodies name each bad field with a JSON pointer', async (t) => {
  const cases: Array<[name: string, body: unknown, path: string, error: RegExp]> = [
    ['not an object', [], '/', /JSON object/],
    ['no id', { run }, '/id', /required/],
    ['upper case id', { id: 'Team.nightly', run }, '/id', /lowercase/],
    ['slash in id', { id: 'team/nightly', run }, '/id', /lowercase/],
    ['empty name in id', { id: 'team..nightly', run }, '/id', /lowercase/],
    ['dash at the end of a name', { id: 'team-.nightly', run }, '/id', /lowercase/],
    ['too long id', { id: 'a'.repeat(201), run }, '/id', /at most 200/],
    ['no run', { id: 'j' }, '/run', /required/],
    ['neither cmd nor args', { id: 'j', run: {} }, '/run', /cmd, args or docker.image/],
    ['docker not an object', { id: 'j', run: { ...run, docker: 'busybox' } }, '/run/docker', /object/],
    ['docker without image', { id: 'j', run: { docker: { forcePullImage: true } } }, '/run/docker/image', /required/],
    ['docker image not a reference', { id: 'j', run: { docker: { image: 'Bad Image' } } }, '/run/docker/image', /not an image reference/],
    ['docker forcePullImage not a boolean', { id: 'j', run: { docker: { image: 'busybox', forcePullImage: 'yes' } } }, '/run/docker/forcePullImage', /boolean/],
    ['docker privileged not a boolean', { id: 'j', run: { docker: { image: 'busybox', privileged: 1 } } }, '/run/docker/privileged', /boolean/],
    ['docker parameter Corral cannot map', { id: 'j', run: { docker: { image: 'busybox', parameters: [{ key: 'cap-add', value: 'ALL' }] } } }, '/run/docker/parameters/0/key', /cap-add/],
    ['docker env parameter without =', { id: 'j', run: { docker: { image: 'busybox', parameters: [{ key: 'env', value: 'A' }] } } }, '/run/docker/parameters/0/value', /NAME=value/],
    ['unknown docker field', { id: 'j', run: { docker: { image: 'busybox', network: 'BRIDGE' } } }, '/run/docker/network', /not a known field/],
    ['both cmd and args', { id: 'j', run: { cmd: 'x', args: ['y'] } }, '/run', /both/],
    ['negative cpus', { id: 'j', run: { ...run, cpus: -1 } }, '/run/cpus', /at least 0.01/],
    ['too little mem', { id: 'j', run: { ...run, mem: 16 } }, '/run/mem', /at least 32/],
    ['cpus as a string', { id: 'j', run: { ...run, cpus: '1' } }, '/run/cpus', /number/],
    ['fractional maxLaunchDelay', { id: 'j', run: { ...run, maxLaunchDelay: 1.5 } }, '/run/maxLaunchDelay', /integer/],
    ['unknown restart policy', { id: 'j', run: { ...run, restart: { policy: 'ALWAYS' } } }, '/run/restart/policy', /NEVER, ON_FAILURE/],
    ['restart without policy', { id: 'j', run: { ...run, restart: {} } }, '/run/restart/policy', /required/],
    ['a secret in env', { id: 'j', run: { ...run, env: { A: { secret: 's' } } } }, '/run/env/A', /string/],
    ['too many labels', { id: 'j', run, labels: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, 'v'])) }, '/labels', /at most 1000/],
    ['too long label value', { id: 'j', run, labels: { k: 'v'.repeat(4097) } }, '/labels/k', /at most 4096/],
    ['constraint without operator', { id: 'j', run: { ...run, placement: { constraints: [{ attribute: 'rack' }] } } }, '/run/placement/constraints/0/operator', /required/],
    ['unknown field', { id: 'j', run, cron: '* * * * *' }, '/cron', /not a known field/],
    ['unknown run field', { id: 'j', run: { ...run, instances: 2 } }, '/run/instances', /not a known field/],
    ['NUL byte', { id: 'j', run: { cmd: 'a\u0000b' } }, '/run/cmd', /NUL/],
    ['bad dependency', { id: 'j', run, dependencies: ['Up'] }, '/dependencies/0', /lowercase/],
    ['bad inline schedule', { id: 'j', run, schedules: [{ id: 's', cron: '* * *' }] }, '/schedules/0/cron', /5 fields/],
    ['schedule given twice', { id: 'j', run, schedules: [{ id: 's', cron: '* * * * *' }, { id: 's', cron: '* * * * *' }] }, '/schedules/1/id', /twice/],
  ];
  for (const [name, body, path, error] of cases) {
    await t.test(name, () => {
      const checked = jobFromBody(body);
      assert.equal(checked.ok, false);
      if (checked.ok) return;
      const detail = checked.details.find((d) => d.path === path);
      assert.ok(detail, `${path} in ${JSON.stringify(checked.details)}`);
      assert.ok(detail.errors.some((e) => error.test(e)), JSON.stringify(detail.errors));
    });
  }
});

test('run.docker: Metronome\'s shape with its defaults; an image brings its own command', async (t) => {
  const cases: Array<[name: string, runBody: Record<string, unknown>, docker: unknown]> = [
    ['image alone, no cmd', { docker: { image: 'busybox:1.36' } }, { image: 'busybox:1.36', forcePullImage: false, privileged: false, parameters: [] }],
    ['image with cmd', { cmd: 'echo hi', docker: { image: 'registry.example.com:5000/team/tool@sha256:' + 'a'.repeat(64) } }, { image: 'registry.example.com:5000/team/tool@sha256:' + 'a'.repeat(64), forcePullImage: false, privileged: false, parameters: [] }],
    [
      'every field',
      { args: ['-c', 'true'], docker: { image: 'busybox', forcePullImage: true, privileged: true, parameters: [{ key: 'env', value: 'A=1' }, { key: 'hostname', value: 'worker' }] } },
      { image: 'busybox', forcePullImage: true, privileged: true, parameters: [{ key: 'env', value: 'A=1' }, { key: 'hostname', value: 'worker' }] },
    ],
  ];
  for (const [name, runBody, docker] of cases) {
    await t.test(name, () => {
      const checked = jobFromBody({ id: 'j', run: runBody });
      assert.ok(checked.ok, JSON.stringify(checked));
      assert.deepEqual(checked.value.job.run.docker, docker);
    });
  }
});

test('a PUT takes its id from the path, and refuses another in the body', () => {
  const put = jobFromBody({ run }, 'team.x');
  assert.ok(put.ok);
  assert.equal(put.value.job.id, 'team.x');
  const other = jobFromBody({ id: 'team.y', run }, 'team.x');
  assert.equal(other.ok, false);
});

test('refused schedule bodies name each bad field', async (t) => {
  const cases: Array<[name: string, body: unknown, path: string, error: RegExp]> = [
    ['no id', { cron: '* * * * *' }, '/id', /required/],
    ['dotted id', { id: 'a.b', cron: '* * * * *' }, '/id', /lowercase/],
    ['no cron', { id: 's' }, '/cron', /required/],
    ['four cron fields', { id: 's', cron: '* * * *' }, '/cron', /5 fields.*got 4/],
    ['seven cron fields', { id: 's', cron: '* * * * * * *' }, '/cron', /got 7/],
    ['empty cron', { id: 's', cron: '  ' }, '/cron', /got 0/],
    ['strange characters', { id: 's', cron: '* * * * $' }, '/cron', /characters/],
    ['unknown time zone', { id: 's', cron: '* * * * *', timeZone: 'Mars/Olympus' }, '/timeZone', /unknown time zone/],
    ['FORBIDDEN typo', { id: 's', cron: '* * * * *', concurrencyPolicy: 'FORBIDDEN' }, '/concurrencyPolicy', /ALLOW, FORBID, REPLACE/],
    ['zero deadline', { id: 's', cron: '* * * * *', startingDeadlineSeconds: 0 }, '/startingDeadlineSeconds', /at least 1/],
    ['enabled as a string', { id: 's', cron: '* * * * *', enabled: 'yes' }, '/enabled', /boolean/],
    ['unknown catchUp', { id: 's', cron: '* * * * *', catchUp: 'SOME' }, '/catchUp', /NONE, ONE, ALL/],
    ['timezone spelled in lower case', { id: 's', cron: '* * * * *', timezone: 'UTC' }, '/timezone', /not a known field/],
  ];
  for (const [name, body, path, error] of cases) {
    await t.test(name, () => {
      const checked = scheduleFromBody(body);
      assert.equal(checked.ok, false);
      if (checked.ok) return;
      const detail = checked.details.find((d) => d.path === path);
      assert.ok(detail, `${path} in ${JSON.stringify(checked.details)}`);
      assert.ok(detail.errors.some((e) => error.test(e)), JSON.stringify(detail.errors));
    });
  }
});

test('cron: five fields, or six with seconds, in range, firing at least once in the schedule\'s zone', () => {
  const cases: Array<[cron: string, timeZone: string, problem: RegExp | null]> = [
    ['* * * * *', 'UTC', null],
    ['*/5 * * * * *', 'UTC', null],
    ['0 9 * * MON-FRI', 'Europe/Berlin', null],
    ['0 0 L * ?', 'UTC', null],
    ['@daily', 'UTC', /5 fields, or 6/],
    ['* * * *', 'UTC', /5 fields, or 6/],
    ['61 * * * *', 'UTC', /./],
    ['0 0 30 2 *', 'UTC', /never fires/],
  ];
  for (const [cron, timeZone, problem] of cases) {
    const built = scheduleFromBody({ id: 'nightly', cron, timeZone });
    const cronErrors = built.ok ? [] : built.details.filter((d) => d.path === '/cron').flatMap((d) => d.errors);
    if (problem === null) assert.deepEqual(cronErrors, [], cron);
    else assert.match(cronErrors.join(' '), problem, cron);
  }
  const badZone = scheduleFromBody({ id: 'nightly', cron: '* * * * *', timeZone: 'Mars/Olympus' });
  assert.deepEqual(badZone.ok ? [] : badZone.details.map((d) => d.path), ['/timeZone'], 'a bad zone is not blamed on the cron');
});

test('a job path has its dots as slashes', () => {
  const cases: Array<[string, string]> = [['nightly', '/nightly'], ['team.nightly', '/team/nightly'], ['a.b.c-d', '/a/b/c-d']];
  for (const [id, path] of cases) assert.equal(jobPath(id), path);
});
