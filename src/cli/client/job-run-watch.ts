import { setTimeout as sleep } from 'node:timers/promises';
import { jobPath as jobAppPath } from '../../auth/core/paths.ts';
import { EXIT, type ClientContext } from './command-kit.ts';
import { jobPath } from './core/job-rows.ts';
import { progressLines, runEnded, runView, type RunView } from './core/job-runs.ts';
import { openEventStream, type StreamedEvent } from './event-stream.ts';

type Json = Record<string, unknown>;

/** The run's end comes as a job event; its task's states as status events, under the job's path. */
const RUN_EVENTS = ['job_run_finished', 'job_run_failed', 'status_update_event'] as const;
const POLL_MS = 500;

/**
 * Starts a run with `start` and follows it until it ends: exit 0 when it succeeded, 1 when it
 * failed (with its message), 130 when Ctrl-C stopped the waiting (the run goes on). The event
 * stream is opened before the run starts, so that not one of its events can be missed; the
 * run's own state is read again on each of its task's events and every POLL_MS (a restart's
 * backoff and a wait for resources show only there), as `deployment watch` does.
 */
export async function runAndFollow(ctx: ClientContext, jobId: string, start: () => Promise<Json>): Promise<number> {
  const { value, interrupted } = await ctx.interruptible(async (signal) => {
    const watcher = await RunWatcher.subscribe(ctx, jobId, signal);
    const run = await start().catch((error: unknown) => watcher.abandon(error));
    if (!ctx.out.json) ctx.out.line(`Started run ${String(run.id)} of job ${jobId}`);
    return watcher.follow(run);
  });
  const { out } = ctx;
  if (interrupted || !runEnded(runView(value, new Map()))) {
    out.note(`Stopped waiting; run ${String(value.id)} of job ${jobId} goes on (stop it with: corral job stop ${jobId} ${String(value.id)})`);
    return EXIT.interrupted;
  }
  if (out.json) out.printJson(value);
  if (value.status === 'SUCCESS') return EXIT.ok;
  out.error(`run ${String(value.id)} of job ${jobId} failed: ${String(value.message ?? 'no reason given')}`);
  return EXIT.failed;
}

class RunWatcher {
  readonly #ctx: ClientContext;
  readonly #jobId: string;
  readonly #signal: AbortSignal;
  readonly #stop = new AbortController();
  /** The status events of the job's tasks, by task id: the last state each reported. */
  readonly #taskStates = new Map<string, string>();
  /** Run ends seen before the run's id was known (a run that ends at once). */
  readonly #ends: Json[] = [];
  #run: Json | undefined;
  #failure: unknown;
  #wake: (() => void) | undefined;
  #nap = new AbortController();

  private constructor(ctx: ClientContext, jobId: string, signal: AbortSignal) {
    this.#ctx = ctx;
    this.#jobId = jobId;
    this.#signal = AbortSignal.any([signal, this.#stop.signal]);
    this.#signal.addEventListener('abort', () => this.#wake?.(), { once: true });
  }

  static async subscribe(ctx: ClientContext, jobId: string, signal: AbortSignal): Promise<RunWatcher> {
    const watcher = new RunWatcher(ctx, jobId, signal);
    const stream = await openEventStream(ctx.client, { types: RUN_EVENTS, signal: watcher.#signal, onEvent: (event) => watcher.#onEvent(event) });
    stream.done.catch((error: unknown) => {
      watcher.#failure = error;
      watcher.#wake?.();
    });
    return watcher;
  }

  /** Stops and rethrows: the run did not start, there is nothing to follow. */
  abandon(error: unknown): never {
    this.#stop.abort();
    throw error;
  }

  /** Prints the run's progress until it ends or the wait is interrupted; answers the run as last seen. */
  async follow(started: Json): Promise<Json> {
    const end = this.#ends.find((e) => e.id === started.id);
    this.#run = end ?? started;
    let shown: RunView | undefined;
    const polling = this.#poll();
    try {
      // Every wake-up reads the latest state, so an event that lands between two waits is never lost.
      for (;;) {
        const view = runView(this.#run, this.#taskStates);
        if (!this.#ctx.out.json) for (const line of progressLines(shown, view)) this.#ctx.out.line(line);
        shown = view;
        if (runEnded(view) || this.#signal.aborted || this.#failure !== undefined) break;
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      this.#stop.abort();
      await polling;
    }
    // The stream fails only when it is lost (an abort ends it quietly): the outcome is unknown.
    if (this.#failure !== undefined && !runEnded(runView(this.#run, this.#taskStates))) throw this.#failure;
    return this.#run;
  }

  #onEvent(event: StreamedEvent): void {
    const { data } = event;
    if (event.type === 'status_update_event') {
      if (data.appId !== jobAppPath(this.#jobId)) return;
      this.#taskStates.set(String(data.taskId), String(data.taskStatus));
      // A task this watcher does not know yet is the run's next one: read the run now.
      const known = Array.isArray(this.#run?.tasks) && (this.#run.tasks as Json[]).some((t) => t.id === data.taskId);
      if (!known) this.#nap.abort();
    } else {
      const run = data.jobRun as Json | undefined;
      if (run?.jobId !== this.#jobId) return;
      if (this.#run === undefined) this.#ends.push(run);
      else if (run.id === this.#run.id) this.#run = run;
    }
    this.#wake?.();
  }

  async #poll(): Promise<void> {
    while (!this.#signal.aborted) {
      await this.#refresh();
      this.#nap = new AbortController();
      await sleep(POLL_MS, undefined, { signal: AbortSignal.any([this.#signal, this.#nap.signal]) }).catch(() => undefined);
    }
  }

  async #refresh(): Promise<void> {
    const run = this.#run;
    if (run === undefined || runEnded(runView(run, this.#taskStates))) return;
    try {
      const fresh = await this.#ctx.client.get<Json>(`${jobPath(this.#jobId)}/runs/${encodeURIComponent(String(run.id))}`);
      // The end event may have come meanwhile: an ended run stays ended.
      if (!runEnded(runView(this.#run ?? run, this.#taskStates))) this.#run = fresh;
      this.#wake?.();
    } catch {
      // A failed poll only delays the next figures; the event stream says how the run ends.
    }
  }
}
