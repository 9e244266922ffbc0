import { setTimeout as sleep } from 'node:timers/promises';
import { EXIT, type ClientContext } from './command-kit.ts';
import {
  appReadiness, applyDeploymentEvent, applyDeploymentJson, describeOutcome, describeProgress, startProgress, type DeploymentProgress,
} from './core/deployment-progress.ts';
import { openEventStream, type StreamedEvent } from './event-stream.ts';
import { ApiFailure, type Reply } from './http-client.ts';

/** What a progress watcher subscribes to. */
const PROGRESS_EVENTS = [
  'deployment_info', 'deployment_step_success', 'deployment_success', 'deployment_failed', 'status_update_event', 'instance_health_changed_event',
] as const;

const POLL_MS = 500;
/** The rest of the progress line takes about this many columns. */
const LINE_WITHOUT_BAR = 62;

type Json = Record<string, unknown>;

/** The answer of a write that may start a deployment, and how to tell the user about it. */
export interface WriteOutcome {
  deploymentId?: string;
  /** What was done, e.g. "Created app /web". */
  summary: string;
  json: unknown;
}

/** What a write answered: the deployment it started (Marathon's header, or `deploymentId` in the body). */
export function written(reply: Reply, summary: string): WriteOutcome {
  const header = reply.headers['marathon-deployment-id'];
  const body = (reply.json ?? {}) as Json;
  const deploymentId = typeof header === 'string' ? header : typeof body.deploymentId === 'string' ? body.deploymentId : undefined;
  return { summary, json: reply.json, ...(deploymentId !== undefined ? { deploymentId } : {}) };
}

/**
 * Runs a write and, unless `--no-wait`, follows the deployment it starts until it succeeds
 * (exit 0) or fails (exit 1, with the reason). The event stream is opened before the write so
 * that not one event of the deployment can be missed. Ctrl-C stops the waiting only.
 */
export async function deployAndWait(ctx: ClientContext, write: () => Promise<WriteOutcome>): Promise<number> {
  if (ctx.flags.wait === false) {
    const result = await write();
    if (ctx.out.json) ctx.out.printJson(withDeployment(result.json, result.deploymentId));
    else ctx.out.line(result.deploymentId === undefined ? result.summary : `${result.summary} (deployment ${result.deploymentId})`);
    return EXIT.ok;
  }
  const { value, interrupted } = await ctx.interruptible(async (signal) => {
    const watcher = await DeploymentWatcher.subscribe(ctx, signal);
    const result = await write().catch((error: unknown) => watcher.abandon(error));
    if (result.deploymentId === undefined) {
      watcher.stop();
      return { result, progress: undefined };
    }
    if (!ctx.out.json) ctx.out.line(`${result.summary} (deployment ${result.deploymentId})`);
    return { result, progress: await watcher.follow(result.deploymentId) };
  });
  if (value.progress === undefined) {
    if (ctx.out.json) ctx.out.printJson(value.result.json);
    else ctx.out.line(value.result.summary);
    return EXIT.ok;
  }
  return report(ctx, value.progress, interrupted, value.result.json);
}

/** `deployment watch ID`: follows a deployment already running. */
export async function watchDeployment(ctx: ClientContext, id: string): Promise<number> {
  const { value, interrupted } = await ctx.interruptible(async (signal) => {
    const watcher = await DeploymentWatcher.subscribe(ctx, signal);
    const deployments = await ctx.client.get<Json[]>('/v2/deployments').catch((error: unknown) => watcher.abandon(error));
    const running = deployments.find((d) => d.id === id);
    // It may have ended between the subscription and the listing: then its end is in the buffer.
    if (running === undefined && !watcher.sawEnd(id)) {
      watcher.stop();
      return undefined;
    }
    return watcher.follow(id, running);
  });
  if (value === undefined) {
    ctx.out.error(`deployment ${id} is not running (it has finished, or the id is wrong); see: corral deployment list`);
    return EXIT.failed;
  }
  return report(ctx, value, interrupted, {});
}

/** The server's answer with the deployment id beside it (Marathon sends it in a header for some writes). */
function withDeployment(json: unknown, deploymentId: string | undefined): Record<string, unknown> {
  const body = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : { answer: json };
  return deploymentId === undefined ? body : { ...body, deploymentId };
}

function report(ctx: ClientContext, progress: DeploymentProgress, interrupted: boolean, json: unknown): number {
  const { out } = ctx;
  if (interrupted || progress.outcome === undefined) {
    if (out.tty && !out.json) out.line();
    out.note(`Stopped waiting; deployment ${progress.id} goes on (follow it again with: corral deployment watch ${progress.id})`);
    return EXIT.interrupted;
  }
  if (out.json) {
    out.printJson({
      ...withDeployment(json, progress.id),
      succeeded: progress.outcome.ok,
      ...(progress.outcome.ok ? {} : { reason: progress.outcome.reason }),
    });
  }
  return progress.outcome.ok ? EXIT.ok : EXIT.failed;
}

/** Folds the event stream and polled state of one deployment into live progress lines. */
class DeploymentWatcher {
  readonly #ctx: ClientContext;
  readonly #signal: AbortSignal;
  readonly #stop = new AbortController();
  readonly #buffer: StreamedEvent[] = [];
  #failure: unknown;
  #progress: DeploymentProgress | undefined;
  #wake: (() => void) | undefined;
  #shown = '';
  #startedAt = Date.now();

  private constructor(ctx: ClientContext, signal: AbortSignal) {
    this.#ctx = ctx;
    this.#signal = AbortSignal.any([signal, this.#stop.signal]);
    this.#signal.addEventListener('abort', () => this.#wake?.(), { once: true });
  }

  static async subscribe(ctx: ClientContext, signal: AbortSignal): Promise<DeploymentWatcher> {
    const watcher = new DeploymentWatcher(ctx, signal);
    const stream = await openEventStream(ctx.client, {
      types: PROGRESS_EVENTS,
      signal: watcher.#signal,
      onEvent: (event) => watcher.#onEvent(event),
    });
    stream.done.catch((error: unknown) => {
      watcher.#failure = error;
      watcher.#wake?.();
    });
    return watcher;
  }

  stop(): void {
    this.#stop.abort();
  }

  /** Stops and rethrows: the write failed, there is nothing to follow. */
  abandon(error: unknown): never {
    this.stop();
    throw error;
  }

  sawEnd(id: string): boolean {
    return this.#buffer.some((e) => (e.type === 'deployment_success' || e.type === 'deployment_failed') && e.data.id === id);
  }

  /** Follows deployment `id` until it ends or the wait is interrupted. */
  async follow(id: string, known?: Json): Promise<DeploymentProgress> {
    this.#startedAt = Date.now();
    let progress = startProgress(id);
    if (known !== undefined) progress = applyDeploymentJson(progress, known);
    for (const event of this.#buffer.splice(0)) progress = applyDeploymentEvent(progress, event.type, event.data);
    this.#progress = progress;
    const polling = this.#poll(id);
    try {
      // Every wake-up re-reads the state, so an event that lands between two waits is never lost.
      while (this.#progress.outcome === undefined && !this.#signal.aborted && this.#failure === undefined) {
        this.#render();
        await new Promise<void>((resolve) => (this.#wake = resolve));
      }
    } finally {
      this.stop();
      await polling;
    }
    // The stream fails only when it is lost (an abort ends it quietly): the outcome is unknown.
    if (this.#failure !== undefined && this.#progress.outcome === undefined) throw this.#failure;
    // A quick deployment ends between two polls: show where it ended, not the last poll.
    if (this.#progress.outcome?.ok === true) await this.#refresh(id);
    this.#finish();
    return this.#progress;
  }

  #onEvent(event: StreamedEvent): void {
    if (this.#progress === undefined) {
      this.#buffer.push(event);
      return;
    }
    this.#progress = applyDeploymentEvent(this.#progress, event.type, event.data);
    this.#wake?.();
  }

  async #poll(id: string): Promise<void> {
    while (!this.#signal.aborted) {
      await this.#refresh(id);
      await sleep(POLL_MS, undefined, { signal: this.#signal }).catch(() => undefined);
    }
  }

  /** Steps and readiness come from the API: events say what happened, the API says where things stand. */
  async #refresh(id: string): Promise<void> {
    const { client } = this.#ctx;
    try {
      const deployment = (await client.get<Json[]>('/v2/deployments')).find((d) => d.id === id);
      let progress = this.#progress ?? startProgress(id);
      if (deployment !== undefined) progress = applyDeploymentJson(progress, deployment);
      const readiness = await Promise.all(progress.apps.map(async (appId) => {
        try {
          return appReadiness((await client.get<{ app: Json }>(`/v2/apps${appId}`)).app);
        } catch (error) {
          // A removed app has nothing left: that is the goal of its StopApplication.
          if (error instanceof ApiFailure && error.status === 404) return { id: appId, target: 0, ready: 0, others: 0 };
          throw error;
        }
      }));
      // Events may have moved on meanwhile: keep theirs, take only what polling knows better.
      const current = this.#progress ?? progress;
      this.#progress = {
        ...current, readiness, step: Math.max(current.step, progress.step), totalSteps: progress.totalSteps || current.totalSteps,
        apps: current.apps.length > 0 ? current.apps : progress.apps,
      };
      this.#wake?.();
    } catch {
      // A failed poll only delays the next figures; the event stream decides the outcome.
    }
  }

  #render(): void {
    const { out } = this.#ctx;
    // Nothing to show until the plan and the apps' state are known.
    const progress = this.#progress;
    if (out.json || progress === undefined || progress.totalSteps === 0 || progress.readiness.length < progress.apps.length) return;
    const barWidth = Math.max(5, Math.min(30, Number.isFinite(out.width) ? out.width - LINE_WITHOUT_BAR : 20));
    const text = describeProgress(progress, { unicode: out.tty, barWidth });
    if (text === this.#shown) return;
    this.#shown = text;
    if (out.tty) out.rewrite(text);
    else out.line(text);
  }

  #finish(): void {
    const { out } = this.#ctx;
    const progress = this.#progress;
    if (out.json || progress?.outcome === undefined) return;
    if (progress.outcome.ok) this.#render();
    if (out.tty) out.line();
    const text = describeOutcome(progress, Date.now() - this.#startedAt, { unicode: out.tty });
    if (progress.outcome.ok) out.line(out.green(text));
    else out.error(text);
  }
}
