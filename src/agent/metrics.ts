import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { TASK_STATES, type TaskState } from '../events/types.ts';
import { sendRefusal, type AgentApiGuard } from './http/api-tokens.ts';


export type HealthCheckResult = 'healthy' | 'unhealthy';

export interface AgentMetricsOptions {
  /** Process metrics (CPU, memory, event loop, GC, handles); on by default. */
  defaultMetrics?: boolean;
}

/**
 * The agent's Prometheus metrics in a registry of its own, so that several agents (or an agent
 * and a scheduler) in one process — `corral up`, tests — never collide on the global one.
 * The agent calls the verbs; nothing else needs prom-client's types.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly #tasks: Gauge<'state'>;
  readonly #launches: Counter;
  readonly #exits: Counter<'state'>;
  readonly #fetchFailures: Counter;
  readonly #healthChecks: Counter<'result'>;
  readonly #pendingUpdates: Gauge;

  constructor(options: AgentMetricsOptions = {}) {
    const registers = [this.registry];
    this.#tasks = new Gauge({ name: 'corral_agent_tasks', help: 'Tasks on this agent by state.', labelNames: ['state'], registers });
    this.#launches = new Counter({ name: 'corral_agent_task_launches_total', help: 'Task launches started by this agent.', registers });
    this.#exits = new Counter({ name: 'corral_agent_task_exits_total', help: 'Tasks that reached a terminal state, by that state.', labelNames: ['state'], registers });
    this.#fetchFailures = new Counter({ name: 'corral_agent_fetch_failures_total', help: 'Task launches that failed fetching their URIs.', registers });
    this.#healthChecks = new Counter({ name: 'corral_agent_health_checks_total', help: 'Health checks run, by result.', labelNames: ['result'], registers });
    this.#pendingUpdates = new Gauge({ name: 'corral_agent_status_updates_pending', help: 'Status updates checkpointed but not yet acknowledged by the scheduler.', registers });
    for (const state of TASK_STATES) this.#tasks.set({ state }, 0);
    for (const result of ['healthy', 'unhealthy'] as const) this.#healthChecks.inc({ result }, 0);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  taskLaunched(): void {
    this.#launches.inc();
  }

  /** A task reached a terminal state (counted once per task by the caller). */
  taskEnded(state: TaskState): void {
    this.#exits.inc({ state });
  }

  /** The whole picture of tasks by state; states not given count as zero. */
  setTasks(countsByState: Partial<Record<TaskState, number>>): void {
    for (const state of TASK_STATES) this.#tasks.set({ state }, countsByState[state] ?? 0);
  }

  fetchFailed(): void {
    this.#fetchFailures.inc();
  }

  healthChecked(result: HealthCheckResult): void {
    this.#healthChecks.inc({ result });
  }

  setStatusUpdatesPending(count: number): void {
    this.#pendingUpdates.set(count);
  }

  /** Prometheus text exposition of everything in the registry. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** `GET /metrics` in Prometheus text format. */
/** `guard`: with agent admission on, a token of scope `metrics` (or `agent`) is needed. */
export function registerMetricsRoute(app: FastifyInstance, metrics: AgentMetrics, guard?: AgentApiGuard): void {
  app.get('/metrics', async (request, reply) => {
    const decision = guard?.(request.headers.authorization, { kind: 'metrics' }) ?? { ok: true };
    if (!decision.ok) return sendRefusal(reply, decision);
    const body = await metrics.text();
    return reply.type(metrics.contentType).send(body);
  });
}
