import { Agent, request } from 'undici';
import type { Logger } from '../shared/log.ts';
import { pendingReadiness, withReadinessResult, type ReadinessProbe } from './core/readiness.ts';
import type { SchedulerState } from './state.ts';
import type { ReadinessResult } from './types.ts';

const TICK_MS = 250;
/** The body kept with `preserveLastResponse` is cut here: a response is evidence, not storage. */
const MAX_BODY = 1024;

/**
 * Marathon's readiness checks, made from the scheduler as Marathon makes them: an HTTP(S) GET
 * to each new instance until one answers with a ready status; each pass is stored, and the
 * deployment waiting for it moves on.
 */
export class ReadinessProber {
  readonly #state: SchedulerState;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;
  readonly #lastProbe = new Map<string, number>();
  readonly #inFlight = new Set<string>();
  // Readiness endpoints are the tasks' own; their certificates are not the scheduler's to judge.
  readonly #dispatcher = new Agent({ connect: { rejectUnauthorized: false }, keepAliveTimeout: 1000 });

  constructor(state: SchedulerState, logger: Logger) {
    this.#state = state;
    this.#logger = logger;
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#dispatcher.close();
  }

  #tick(): void {
    const now = Date.now();
    const pending = new Set<string>();
    for (const probe of pendingReadiness(this.#state.current)) {
      const key = `${probe.taskId}#${probe.index}`;
      pending.add(key);
      if (this.#inFlight.has(key) || now - (this.#lastProbe.get(key) ?? 0) < probe.check.intervalSeconds * 1000) continue;
      this.#lastProbe.set(key, now);
      this.#inFlight.add(key);
      void this.#probe(probe).finally(() => this.#inFlight.delete(key));
    }
    for (const key of this.#lastProbe.keys()) if (!pending.has(key)) this.#lastProbe.delete(key);
  }

  async #probe(probe: ReadinessProbe): Promise<void> {
    const { check } = probe;
    let result: ReadinessResult;
    try {
      const timeout = check.timeoutSeconds * 1000;
      const response = await request(probe.url, { dispatcher: this.#dispatcher, headersTimeout: timeout, bodyTimeout: timeout, signal: AbortSignal.timeout(timeout) });
      const body = (await response.body.text()).slice(0, MAX_BODY);
      const lastResponse = { status: response.statusCode, contentType: String(response.headers['content-type'] ?? ''), body };
      result = { name: check.name, ready: check.httpStatusCodesForReady.includes(response.statusCode), ...(check.preserveLastResponse ? { lastResponse } : {}) };
    } catch (err) {
      this.#logger.debug({ taskId: probe.taskId, url: probe.url, err: (err as Error).message }, 'readiness check could not connect');
      return;
    }
    await this.#state
      .transact((state) => {
        const instance = state.instances.get(probe.taskId);
        const app = instance === undefined ? undefined : state.apps.get(instance.appId);
        if (instance === undefined || app === undefined) return { ops: [], events: [], result: undefined };
        const next = withReadinessResult(instance, app, probe.index, result);
        return next === instance ? { ops: [], events: [], result: undefined } : { ops: [{ op: 'put', coll: 'instances', key: next.taskId, value: next }], events: [], result: undefined };
      })
      .then(() => {
        if (result.ready) this.#logger.info({ taskId: probe.taskId, check: check.name }, 'readiness check passed');
      })
      .catch((err: unknown) => this.#logger.error({ err, taskId: probe.taskId }, 'cannot store a readiness result'));
  }
}
