/**
 * Events counted per whole second of a clock the caller reads (HAProxy's `rate`: events over the
 * last elapsed second, and `rate_max`, the most in any one second). Plain data, so a worker can
 * send it over IPC.
 */
export interface SecondCounter {
  /** The second `count` belongs to. */
  second: number;
  count: number;
  /** The count of the second before `second`. */
  previous: number;
  /** The highest count of any second that has ended. */
  max: number;
}

export function newSecondCounter(): SecondCounter {
  return { second: 0, count: 0, previous: 0, max: 0 };
}

/** One event during `second`. */
export function countAt(counter: SecondCounter, second: number): void {
  if (counter.second !== second) {
    counter.max = Math.max(counter.max, counter.count);
    counter.previous = counter.second === second - 1 ? counter.count : 0;
    counter.second = second;
    counter.count = 0;
  }
  counter.count += 1;
}

/** Events during the last whole second before `second` (0 after a quiet second). */
export function lastSecond(counter: SecondCounter, second: number): number {
  if (counter.second === second) return counter.previous;
  return counter.second === second - 1 ? counter.count : 0;
}

/** The busiest whole second so far, as of `second` (the current one not over yet). */
export function busiestSecond(counter: SecondCounter, second: number): number {
  return counter.second < second ? Math.max(counter.max, counter.count) : counter.max;
}
