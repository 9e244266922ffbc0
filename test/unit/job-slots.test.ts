import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dueSlots, nextSlot, parseCron, slotKey, type DueSlots } from '../../src/scheduler/jobs/core/slots.ts';
import type { CatchUpPolicy, JobSchedule } from '../../src/scheduler/jobs/types.ts';

function schedule(cron: string, extra: Partial<JobSchedule> = {}): JobSchedule {
  return { id: 's1', cron, timeZone: 'UTC', startingDeadlineSeconds: 900, concurrencyPolicy: 'ALLOW', enabled: true, catchUp: 'ONE', ...extra };
}

const iso = (d: Date | undefined) => d?.toISOString();
const runs = (due: DueSlots) => due.slots.filter((s) => s.action === 'run').map((s) => iso(s.scheduledAt));
const skips = (due: DueSlots) => due.slots.flatMap((s) => (s.action === 'skip' ? [`${iso(s.scheduledAt)} ${s.reason}`] : []));

test('parseCron: accepted and rejected expressions (table-driven)', () => {
  const cases: [expr: string, timezone: string, problem: RegExp | null][] = [
    ['*/5 * * * *', 'UTC', null],
    ['30 2 * * 1-5', 'Europe/Berlin', null],
    ['*/10 * * * * *', 'America/New_York', null],
    ['  0   0 1 * *  ', 'UTC', null],
    ['* * * *', 'UTC', /5 fields, or 6 with seconds first; got 4/],
    ['0 0 1 1 * 2030', 'UTC', /Invalid value for dayOfWeek: 2030/], // six fields are seconds first, no year
    ['0 0 0 1 1 * 2030', 'UTC', /5 fields, or 6 with seconds first; got 7/],
    ['@daily', 'UTC', /got 1/],
    ['2030-01-01T00:00:00', 'UTC', /got 1/],
    ['61 * * * *', 'UTC', /Invalid value for minute: 61/],
    ['*/0 * * * *', 'UTC', /illegal stepping/],
    ['0 0 30 2 *', 'UTC', /never fires/],
    ['* * * * *', 'Mars/Base', /unknown time zone 'Mars\/Base'/],
  ];
  for (const [expr, timezone, problem] of cases) {
    const parsed = parseCron(expr, timezone);
    if (problem === null) assert.ok(parsed.ok, `${expr}: ${parsed.ok ? '' : parsed.message}`);
    else assert.match(parsed.ok ? 'accepted' : parsed.message, problem, expr);
  }
});

test('nextSlot: the first slot strictly after a time, in the schedule\'s zone (table-driven)', () => {
  const cases: [cron: string, timezone: string, after: string, next: string][] = [
    ['*/5 * * * *', 'UTC', '2026-01-01T00:00:00Z', '2026-01-01T00:05:00.000Z'],
    ['*/5 * * * *', 'UTC', '2026-01-01T00:04:59.999Z', '2026-01-01T00:05:00.000Z'],
    ['0 * * * *', 'UTC', '2026-01-01T10:00:00Z', '2026-01-01T11:00:00.000Z'],
    ['0 3 * * *', 'Europe/Berlin', '2026-01-01T00:00:00Z', '2026-01-01T02:00:00.000Z'],
    ['0 3 * * *', 'Europe/Berlin', '2026-07-01T00:00:00Z', '2026-07-01T01:00:00.000Z'],
    ['0 9 * * 1', 'America/New_York', '2026-01-01T00:00:00Z', '2026-01-05T14:00:00.000Z'],
    ['0 0 1 * *', 'UTC', '2026-01-15T00:00:00Z', '2026-02-01T00:00:00.000Z'],
    ['* * * * * *', 'UTC', '2026-01-01T00:00:20Z', '2026-01-01T00:00:21.000Z'],
    ['*/15 * * * * *', 'UTC', '2026-01-01T00:00:20.500Z', '2026-01-01T00:00:30.000Z'],
  ];
  for (const [cron, timezone, after, next] of cases) assert.equal(iso(nextSlot(schedule(cron, { timeZone: timezone }), new Date(after))), next, `${cron} ${timezone} after ${after}`);
  assert.equal(nextSlot(schedule('* * * * *', { enabled: false }), new Date('2026-01-01T00:00:00Z')), undefined);
});

test('slotKey: one key per schedule and instant, the same for the same instant', () => {
  assert.equal(slotKey('nightly', new Date('2026-03-29T01:00:00Z')), 'nightly@2026-03-29T01:00:00.000Z');
  assert.equal(slotKey('a', new Date(Date.UTC(2026, 0, 1))), slotKey('a', new Date('2026-01-01T00:00:00.000Z')));
});

/** Evaluates like a running scheduler, every `tickMs`, and returns every slot it ran. */
function simulate(s: JobSchedule, from: string, to: string, tickMs: number): string[] {
  const ran: string[] = [];
  let last = new Date(from);
  for (let t = last.getTime() + tickMs; t <= new Date(to).getTime(); t += tickMs) {
    const now = new Date(t);
    const due = dueSlots(s, { lastEvaluatedAt: last, now });
    assert.deepEqual(skips(due), [], `nothing skipped at ${now.toISOString()}`);
    ran.push(...runs(due).map(String));
    last = now;
  }
  return ran;
}

test('dueSlots: a running scheduler runs each slot exactly once across DST changes (table-driven)', () => {
  const cases: [name: string, cron: string, timezone: string, from: string, to: string, ran: string[]][] = [
    // Berlin springs from 02:00 CET to 03:00 CEST: 02:30 does not exist, the daily slot runs at 03:00 once.
    ['Berlin spring, 30 2', '30 2 * * *', 'Europe/Berlin', '2026-03-28T22:00:00Z', '2026-03-29T04:00:00Z', ['2026-03-29T01:00:00.000Z']],
    // Berlin falls from 03:00 CEST to 02:00 CET: 02:30 happens twice, the slot runs on the first pass only.
    ['Berlin autumn, 30 2', '30 2 * * *', 'Europe/Berlin', '2026-10-24T22:00:00Z', '2026-10-25T04:00:00Z', ['2026-10-25T00:30:00.000Z']],
    ['New York spring, 30 2', '30 2 * * *', 'America/New_York', '2026-03-08T04:00:00Z', '2026-03-08T10:00:00Z', ['2026-03-08T07:00:00.000Z']],
    ['New York autumn, 30 2', '30 2 * * *', 'America/New_York', '2026-11-01T04:00:00Z', '2026-11-01T10:00:00Z', ['2026-11-01T07:30:00.000Z']],
    // Hourly runs every real hour: no slot in the missing hour, two (distinct instants) in the repeated one.
    ['Berlin spring, hourly', '0 * * * *', 'Europe/Berlin', '2026-03-28T23:30:00Z', '2026-03-29T02:30:00Z', ['2026-03-29T00:00:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T02:00:00.000Z']],
    ['Berlin autumn, hourly', '0 * * * *', 'Europe/Berlin', '2026-10-24T22:30:00Z', '2026-10-25T02:30:00Z', ['2026-10-24T23:00:00.000Z', '2026-10-25T00:00:00.000Z', '2026-10-25T01:00:00.000Z', '2026-10-25T02:00:00.000Z']],
    ['New York spring, hourly', '0 * * * *', 'America/New_York', '2026-03-08T05:30:00Z', '2026-03-08T08:30:00Z', ['2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z']],
    ['New York autumn, hourly', '0 * * * *', 'America/New_York', '2026-11-01T04:30:00Z', '2026-11-01T07:30:00Z', ['2026-11-01T05:00:00.000Z', '2026-11-01T06:00:00.000Z', '2026-11-01T07:00:00.000Z']],
  ];
  for (const [name, cron, timezone, from, to, ran] of cases) {
    // Ticks of 7 s do not divide an hour: slots fall inside windows, not only on their edges.
    assert.deepEqual(simulate(schedule(cron, { timeZone: timezone }), from, to, 7_000), ran, name);
    assert.deepEqual(simulate(schedule(cron, { timeZone: timezone }), from, to, 60_000), ran, `${name}, ticks on the minute`);
  }
});

test('dueSlots: a six-field schedule runs every second, a late tick runs all it missed within the grace', () => {
  const s = schedule('* * * * * *', { catchUp: 'NONE' });
  assert.equal(simulate(s, '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', 1_000).length, 60);
  assert.equal(simulate(s, '2026-01-01T00:00:00.250Z', '2026-01-01T00:01:00.250Z', 3_000).length, 60);
});

test('dueSlots: catch-up after 3 h of downtime, 900 s deadline (table-driven)', () => {
  const last = new Date('2026-05-01T00:00:30Z');
  const now = new Date('2026-05-01T03:04:00Z');
  const cases: [cron: string, catchUp: CatchUpPolicy, ran: string[], skipped: string[]][] = [
    ['0 * * * *', 'NONE', [], ['01:00 missed-deadline', '02:00 missed-deadline', '03:00 catch-up-none']],
    ['0 * * * *', 'ONE', ['03:00'], ['01:00 missed-deadline', '02:00 missed-deadline']],
    ['0 * * * *', 'ALL', ['03:00'], ['01:00 missed-deadline', '02:00 missed-deadline']],
    // Every 5 minutes: three slots within the deadline (02:50, 02:55, 03:00) tell ONE from ALL.
    ['*/5 * * * *', 'NONE', [], ['02:50 catch-up-none', '02:55 catch-up-none', '03:00 catch-up-none']],
    ['*/5 * * * *', 'ONE', ['03:00'], ['02:50 catch-up-one', '02:55 catch-up-one']],
    ['*/5 * * * *', 'ALL', ['02:50', '02:55', '03:00'], []],
  ];
  const hhmm = (s: string) => s.slice(11, 16) + s.slice(24);
  for (const [cron, catchUp, ran, skipped] of cases) {
    const due = dueSlots(schedule(cron, { catchUp }), { lastEvaluatedAt: last, now });
    assert.deepEqual(runs(due).map((r) => hhmm(String(r))), ran, `${cron} ${catchUp}`);
    assert.deepEqual(skips(due).map(hhmm).filter((s) => !s.endsWith('missed-deadline') || cron === '0 * * * *'), skipped, `${cron} ${catchUp}`);
    assert.equal(due.skippedRange, undefined);
  }
  // A slot a moment old when the scheduler comes back is on time, even with NONE; ONE then runs no late one.
  const back = new Date('2026-05-01T03:00:04Z');
  assert.deepEqual(runs(dueSlots(schedule('*/5 * * * *', { catchUp: 'NONE' }), { lastEvaluatedAt: last, now: back })), ['2026-05-01T03:00:00.000Z']);
  assert.deepEqual(skips(dueSlots(schedule('*/5 * * * *', { catchUp: 'ONE' }), { lastEvaluatedAt: last, now: back })).slice(-1), ['2026-05-01T02:55:00.000Z catch-up-one']);
});

test('dueSlots: 1,000 missed per-second slots: bounded output, the latest listed, the rest one range', () => {
  const last = new Date('2026-01-01T00:00:00Z');
  const now = new Date('2026-01-01T00:16:40Z'); // 1,000 s later
  const started = performance.now();
  const due = dueSlots(schedule('* * * * * *', { catchUp: 'ALL' }), { lastEvaluatedAt: last, now, maxSlots: 200 });
  assert.ok(performance.now() - started < 2_000, 'fast');
  assert.equal(due.slots.length, 200);
  assert.equal(iso(due.slots[0]?.scheduledAt), '2026-01-01T00:13:21.000Z');
  assert.equal(iso(due.slots.at(-1)?.scheduledAt), '2026-01-01T00:16:40.000Z');
  assert.ok(due.slots.every((s) => s.action === 'run'));
  assert.deepEqual(due.skippedRange, { after: last, before: new Date('2026-01-01T00:13:21Z'), reason: 'too-many-missed' });

  const withDefaults = dueSlots(schedule('* * * * * *'), { lastEvaluatedAt: last, now });
  assert.equal(withDefaults.slots.length, 1_000);
  // 00:00:01 to 00:01:39 are past the 900 s deadline; 00:16:30 on are within the 10 s grace.
  assert.equal(skips(withDefaults).filter((s) => s.endsWith('missed-deadline')).length, 99);
  assert.equal(skips(withDefaults).filter((s) => s.endsWith('catch-up-one')).length, 890);
  assert.equal(runs(withDefaults).length, 11);
  assert.equal(runs(withDefaults)[0], '2026-01-01T00:16:30.000Z');

  const dayLater = dueSlots(schedule('* * * * * *', { startingDeadlineSeconds: 60 }), { lastEvaluatedAt: last, now: new Date('2026-01-02T00:00:00Z') });
  assert.equal(dayLater.slots.length, 1_000);
  assert.equal(dayLater.skippedRange?.reason, 'missed-deadline');
});

test('dueSlots: nothing for a disabled schedule, an empty or backwards window', () => {
  const last = new Date('2026-01-01T00:00:00Z');
  const now = new Date('2026-01-01T01:00:00Z');
  assert.deepEqual(dueSlots(schedule('* * * * *', { enabled: false }), { lastEvaluatedAt: last, now }), { slots: [] });
  assert.deepEqual(dueSlots(schedule('* * * * *'), { lastEvaluatedAt: now, now }), { slots: [] });
  assert.deepEqual(dueSlots(schedule('* * * * *'), { lastEvaluatedAt: now, now: last }), { slots: [] });
  // The window is (last, now]: a slot exactly at lastEvaluatedAt was the previous window's.
  assert.deepEqual(runs(dueSlots(schedule('0 * * * *'), { lastEvaluatedAt: new Date('2026-01-01T00:00:00Z'), now: new Date('2026-01-01T00:00:05Z') })), []);
  assert.deepEqual(runs(dueSlots(schedule('0 * * * *'), { lastEvaluatedAt: new Date('2026-01-01T00:59:59Z'), now: new Date('2026-01-01T01:00:00Z') })), ['2026-01-01T01:00:00.000Z']);
});
