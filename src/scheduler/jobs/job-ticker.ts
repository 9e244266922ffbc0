import type { Logger } from '../../shared/log.ts';
import type { SchedulerState } from '../state.ts';
import { tickSchedules } from './core/schedule-ticks.ts';
import { newRunId } from './run-ids.ts';

/** At least this often, so that a new schedule, a changed one or a missed window is seen soon. */
const MAX_WAIT_MS = 1000;
/** Timers may fire a little early; a tick just after the slot decides it on its first try. */
const AFTER_SLOT_MS = 5;

/**
 * The clock of job schedules (issue #20), on the leader only: at every slot (and at least once a
 * second) it commits what the due slots decide (core/schedule-ticks.ts). Stopping it loses
 * nothing: the next leader's first tick decides what this one did not commit.
 */
export class JobTicker {
  readonly #state: SchedulerState;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(state: SchedulerState, logger: Logger) {
    this.#state = state;
    this.#logger = logger;
    this.#schedule(0);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    let nextSlotMs: number | undefined;
    try {
      const decided = await this.#state.transact((state) => {
        const nowMs = Date.now();
        const change = tickSchedules(state, { now: new Date(nowMs).toISOString(), nowMs, newRunId });
        return { ops: change.ops, events: change.events, result: { nextSlotMs: change.nextSlotMs, runs: change.events.filter((e) => e.eventType === 'job_run_started').length } };
      });
      nextSlotMs = decided.nextSlotMs;
      if (decided.runs > 0) this.#logger.info({ runs: decided.runs }, 'scheduled job runs started');
    } catch (err) {
      this.#logger.error({ err }, 'job schedules not evaluated (tried again within a second)');
    }
    const untilSlot = nextSlotMs === undefined ? MAX_WAIT_MS : nextSlotMs - Date.now() + AFTER_SLOT_MS;
    this.#schedule(Math.max(AFTER_SLOT_MS, Math.min(MAX_WAIT_MS, untilSlot)));
  }
}
