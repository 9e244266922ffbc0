import { Cron } from 'croner';
import type { JobSchedule } from './jobs.ts';

/**
 * A schedule's next slot, computed in the page with the parser the scheduler's slots use
 * (croner, 5 or 6 fields, in the schedule's zone): undefined when disabled or never again.
 */
export function nextSlot(schedule: JobSchedule, after: Date): Date | undefined {
  if (schedule.enabled === false) return undefined;
  try {
    const cron = new Cron(schedule.cron.trim(), { timezone: schedule.timeZone ?? 'UTC', mode: '5-or-6-parts', paused: true });
    return cron.nextRun(after) ?? undefined;
  } catch {
    return undefined;
  }
}

/** `2026-12-07 02:00 Europe/Berlin (in 9h)`: the slot in the schedule's own zone, and how far it is. */
export function describeSlot(slot: Date | undefined, timeZone: string, nowMs: number): string {
  if (slot === undefined) return 'none';
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(slot);
  const part = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  const seconds = Math.max(0, Math.round((slot.getTime() - nowMs) / 1000));
  const away = seconds < 60 ? `${seconds}s` : seconds < 3600 ? `${Math.floor(seconds / 60)}m` : seconds < 86400 ? `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m` : `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')} ${timeZone} (in ${away})`;
}
