import { performance } from 'node:perf_hooks';
import type { HealthCheck, HealthResult } from '../../shared/agent-protocol.ts';
import type { Logger } from '../../shared/log.ts';
import { initialHealthResult, nextResult, type ProbeOutcome } from './core/health-result.ts';
import { firstProbeDelaySeconds, timeoutCause } from './core/probe-rules.ts';
import { Prober, type HealthTarget } from './probes.ts';

export type { HealthTarget };

export interface TaskHealthOptions {
  checks: readonly HealthCheck[];
  target: HealthTarget;
  logger: Logger;
  /** Called with every check's result (index-aligned with `checks`) when the scheduler must hear of a change. */
  onChange: (results: HealthResult[]) => void;
  /** Wall clock for result timestamps and the grace period; `Date.now` by default. */
  now?: () => number;
}

/**
 * Runs a task's health checks on the agent, each on its own schedule: the first probe at once
 * (HTTP/HTTPS/TCP) or after `delaySeconds` (COMMAND and MESOS_*), then one every `intervalSeconds` (measured from probe start; probes of one check
 * never overlap), each bounded by `timeoutSeconds`. Results follow Marathon (see `nextResult`).
 */
export class TaskHealth {
  readonly #checks: readonly HealthCheck[];
  readonly #logger: Logger;
  readonly #onChange: (results: HealthResult[]) => void;
  readonly #now: () => number;
  readonly #prober: Prober;
  readonly #stop = new AbortController();
  readonly #timers = new Set<NodeJS.Timeout>();
  #results: HealthResult[];
  #startedMs: number | undefined;

  constructor(options: TaskHealthOptions) {
    this.#checks = options.checks;
    this.#logger = options.logger;
    this.#onChange = options.onChange;
    this.#now = options.now ?? Date.now;
    this.#prober = new Prober(options.target);
    this.#results = options.checks.map(() => initialHealthResult());
  }

  /** Begins checking; the grace period counts from now. Calling it again, or after `stop`, does nothing. */
  start(): void {
    if (this.#startedMs !== undefined || this.#stop.signal.aborted) return;
    this.#startedMs = this.#now();
    this.#checks.forEach((check, index) => this.#schedule(index, firstProbeDelaySeconds(check) * 1000));
  }

  /** Stops every timer and aborts probes in flight (killing health commands); no callback follows. */
  stop(): void {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#prober.close();
  }

  /** The latest result of each check, index-aligned with `checks`. */
  get results(): readonly HealthResult[] {
    return [...this.#results];
  }

  #schedule(index: number, delayMs: number): void {
    if (this.#stop.signal.aborted) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.#run(index);
    }, Math.max(0, delayMs));
    this.#timers.add(timer);
  }

  async #run(index: number): Promise<void> {
    const check = this.#checks[index];
    if (check === undefined || this.#startedMs === undefined) return;
    const began = performance.now();
    const outcome = await this.#probe(check);
    if (this.#stop.signal.aborted) return;
    const previous = this.#results[index] ?? initialHealthResult();
    const { result, report, skipped } = nextResult(previous, outcome, check, { nowMs: this.#now(), startedMs: this.#startedMs });
    this.#results[index] = result;
    const log = { check: index, protocol: check.protocol, alive: result.alive, consecutiveFailures: result.consecutiveFailures };
    if (skipped !== undefined) {
      this.#logger.debug({ ...log, skipped, cause: 'cause' in outcome ? outcome.cause : undefined }, 'health probe did not count');
    } else if (report) {
      const level = result.alive ? 'info' : 'warn';
      this.#logger[level]({ ...log, cause: result.alive ? undefined : result.lastFailureCause }, 'health changed');
    }
    if (report) {
      try {
        this.#onChange(this.#results.slice());
      } catch (err) {
        this.#logger.error({ err: (err as Error).message }, 'health change handler failed');
      }
    }
    this.#schedule(index, check.intervalSeconds * 1000 - (performance.now() - began));
  }

  /** One probe, bounded by the check's timeout and by `stop`. */
  #probe(check: HealthCheck): Promise<ProbeOutcome> {
    const probeAbort = new AbortController();
    const onStop = (): void => probeAbort.abort();
    this.#stop.signal.addEventListener('abort', onStop, { once: true });
    return new Promise<ProbeOutcome>((resolve) => {
      const timer = setTimeout(() => {
        // The timeout decides the outcome; aborting then makes the probe let go of what it holds.
        resolve({ kind: 'unhealthy', cause: timeoutCause(check) });
        probeAbort.abort();
      }, check.timeoutSeconds * 1000);
      this.#prober.probe(check, probeAbort.signal).then(
        (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
        (err: unknown) => {
          clearTimeout(timer);
          resolve({ kind: 'unhealthy', cause: err instanceof Error ? err.message : String(err) });
        },
      );
    }).finally(() => this.#stop.signal.removeEventListener('abort', onStop));
  }
}
