/**
 * Slots of a job schedule (issue #20): which cron times are due, and which of them run or are
 * skipped and why. Pure: the clock comes in as `now`, the caller remembers `lastEvaluatedAt`.
 *
 * Rules, per slot (a slot is one instant; its identity is `slotKey(scheduleId, scheduledAt)`):
 * - The caller evaluates the window (lastEvaluatedAt, now] and then stores `now` as its next
 *   lastEvaluatedAt (for a new schedule: the time it was created). Windows never overlap, so each
 *   slot is decided once; the run store keyed by slotKey makes a repeated decision harmless.
 * - A slot older than now − startingDeadlineSeconds is skipped, `missed-deadline`.
 * - A slot at most `graceMs` old (default 10 s) is on time and runs, whatever the catch-up policy:
 *   that is the normal case of a running scheduler, even when a tick came late and saw several.
 * - A slot older than the grace but within the deadline was missed while no scheduler ran; the
 *   schedule's `catchUp` decides: NONE skips all of them (`catch-up-none`); ONE runs the latest
 *   of them unless an on-time slot runs anyway, and skips the others (`catch-up-one`); ALL runs
 *   them all. (With the default 900 s deadline an hourly schedule has at most one such slot.)
 * - At most `maxSlots` (default 1,000) slots are listed: the latest ones. When the window holds
 *   more, the earlier rest is one `SkippedRange` (`missed-deadline`, or `too-many-missed` if it
 *   reaches into the deadline), so a long outage costs bounded work and is still recorded.
 * - A disabled schedule has no slots.
 *
 * Time zones and DST follow croner (Vixie cron's rules): a schedule with a single time of day
 * (`30 2 * * *`) runs once on a day whose hour is repeated (the first pass) and once on a day whose
 * hour is skipped (at the first time after the gap); a schedule with wildcards, steps or lists
 * (`0 * * * *`) runs at every real instant that matches, so both passes of a repeated 02:00 are two
 * slots (two instants, each run once) and a skipped 02:00 is no slot.
 */
import { Cron } from 'croner';
import type { JobSchedule, SkippedSlot } from '../types.ts';

export const DEFAULT_GRACE_MS = 10_000;
export const DEFAULT_MAX_SLOTS = 1_000;

export type SlotDecision =
  | { scheduledAt: Date; action: 'run' }
  | { scheduledAt: Date; action: 'skip'; reason: SkippedSlot['reason'] };

/**
 * Slots in (after, before), exclusive both ends, too many to list one by one. `too-many-missed` (beyond
 * SkippedSlot's reasons) means the range reaches into the deadline: more slots within it than maxSlots.
 */
export interface SkippedRange {
  after: Date;
  before: Date;
  reason: 'missed-deadline' | 'too-many-missed';
}

export interface DueSlots {
  /** Oldest first. */
  slots: SlotDecision[];
  /** The earlier slots of the window, when there were more than maxSlots. */
  skippedRange?: SkippedRange;
}

export interface DueSlotsInput {
  lastEvaluatedAt: Date;
  now: Date;
  graceMs?: number;
  maxSlots?: number;
}

export type ParsedCron = { ok: true; cron: Cron } | { ok: false; message: string };

/** The date from which `parseCron` checks that a pattern ever fires (any 28 years hold every calendar). */
const NEVER_FIRES_REFERENCE = new Date('2000-01-01T00:00:00Z');

/** Five fields, or six with seconds first, in an IANA zone; croner's `L`, `W`, `#` are accepted too. */
export function parseCron(expr: string, timezone: string): ParsedCron {
  const fields = expr.trim() === '' ? [] : expr.trim().split(/\s+/);
  // Nicknames (@daily) and ISO dates would pass croner; Metronome takes fields only.
  if (fields.length !== 5 && fields.length !== 6) return { ok: false, message: `cron must have 5 fields, or 6 with seconds first; got ${fields.length}` };
  if (!timeZoneKnown(timezone)) return { ok: false, message: `unknown time zone '${timezone}' (expected an IANA name such as Europe/Berlin)` };
  let cron: Cron;
  try {
    cron = new Cron(fields.join(' '), { timezone, mode: '5-or-6-parts', paused: true });
  } catch (err) {
    return { ok: false, message: (err as Error).message.replace(/^CronPattern: /, '') };
  }
  if (cron.nextRun(NEVER_FIRES_REFERENCE) === null) return { ok: false, message: `cron '${expr}' never fires` };
  return { ok: true, cron };
}

/** Whether the runtime's time zone database knows the IANA name. */
export function timeZoneKnown(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** Compiled patterns by zone and cron: every schedule is evaluated every tick, parsing costs ~0.3 ms. */
const compiled = new Map<string, Cron>();
const MAX_COMPILED = 1_024;

function compile(schedule: JobSchedule): Cron {
  const key = `${schedule.timeZone} ${schedule.cron}`;
  const known = compiled.get(key);
  if (known) return known;
  const parsed = parseCron(schedule.cron, schedule.timeZone);
  // Schedules are validated on write; a bad one here is a broken invariant.
  if (!parsed.ok) throw new Error(`schedule ${schedule.id}: ${parsed.message}`);
  if (compiled.size >= MAX_COMPILED) compiled.clear();
  compiled.set(key, parsed.cron);
  return parsed.cron;
}

/** The first slot strictly after `after`, or undefined for a disabled schedule. */
export function nextSlot(schedule: JobSchedule, after: Date): Date | undefined {
  if (!schedule.enabled) return undefined;
  return compile(schedule).nextRun(after) ?? undefined;
}

/** The idempotency key of a scheduled run: one run per (schedule, slot instant). */
export function slotKey(scheduleId: string, scheduledAt: Date): string {
  return `${scheduleId}@${scheduledAt.toISOString()}`;
}

/** The slots in (lastEvaluatedAt, now], each to run or skipped with its reason (see the module notes). */
export function dueSlots(schedule: JobSchedule, input: DueSlotsInput): DueSlots {
  const { lastEvaluatedAt, now, graceMs = DEFAULT_GRACE_MS, maxSlots = DEFAULT_MAX_SLOTS } = input;
  if (!schedule.enabled || now.getTime() <= lastEvaluatedAt.getTime()) return { slots: [] };
  const cron = compile(schedule);
  const deadlineEdge = now.getTime() - schedule.startingDeadlineSeconds * 1000;

  const times: Date[] = [];
  for (let at = cron.nextRun(lastEvaluatedAt); at && at.getTime() <= now.getTime() && times.length <= maxSlots; at = cron.nextRun(at)) times.push(at);
  let skippedRange: SkippedRange | undefined;
  if (times.length > maxSlots) {
    // Listing forward stopped early; the latest slots are the ones that matter.
    const latest = cron.previousRuns(maxSlots, new Date(now.getTime() + 1)).reverse();
    times.splice(0, times.length, ...latest);
    const first = latest[0] as Date;
    skippedRange = { after: lastEvaluatedAt, before: first, reason: first.getTime() <= deadlineEdge ? 'missed-deadline' : 'too-many-missed' };
  }

  const onTimeEdge = now.getTime() - graceMs;
  const late = times.filter((at) => at.getTime() >= deadlineEdge && at.getTime() < onTimeEdge);
  const anyOnTime = times.some((at) => at.getTime() >= deadlineEdge && at.getTime() >= onTimeEdge);
  const catchUpRun = schedule.catchUp === 'ONE' && !anyOnTime ? late.at(-1) : undefined;

  const slots = times.map((scheduledAt): SlotDecision => {
    const t = scheduledAt.getTime();
    if (t < deadlineEdge) return { scheduledAt, action: 'skip', reason: 'missed-deadline' };
    if (t >= onTimeEdge || schedule.catchUp === 'ALL' || scheduledAt === catchUpRun) return { scheduledAt, action: 'run' };
    return { scheduledAt, action: 'skip', reason: schedule.catchUp === 'NONE' ? 'catch-up-none' : 'catch-up-one' };
  });
  return skippedRange ? { slots, skippedRange } : { slots };
}
