import type { FastifyInstance } from 'fastify';
import type { TaskState } from '../../events/types.ts';
import { SchedulerMetrics, type SchedulerSample } from '../scheduler-metrics.ts';
import type { ApiContext } from './context.ts';

export const METRICS_PATH = '/metrics';

/** What the gauges are sampled from. */
export type MetricsSource = Pick<ApiContext, 'state' | 'links' | 'bus'>;

/** The gauges' values now: one pass over instances, no allocation per instance. */
export function sampleScheduler({ state, links, bus }: MetricsSource): SchedulerSample {
  const current = state.current;
  const instancesByState: Partial<Record<TaskState, number>> = {};
  for (const instance of current.instances.values()) instancesByState[instance.state] = (instancesByState[instance.state] ?? 0) + 1;
  const connected = links.connected();
  let agentsConnected = 0;
  for (const agentId of current.agents.keys()) if (connected.has(agentId)) agentsConnected++;
  return {
    apps: current.apps.size,
    instancesByState,
    agentsRegistered: current.agents.size,
    agentsConnected,
    deployments: current.deployments.size,
    eventSubscribers: bus.subscriberCount,
    lastEventId: state.lastEventId,
  };
}

/**
 * `GET /metrics` (Prometheus text) and a hook that times every request by route pattern.
 * Uses `context.metrics` when the scheduler made one (so the orchestrator's counters show);
 * otherwise makes its own, sampling gauges from the context.
 */
export function registerMetricsRoutes(server: FastifyInstance, context: ApiContext & { metrics?: SchedulerMetrics }): SchedulerMetrics {
  const metrics = context.metrics ?? new SchedulerMetrics({ collect: () => sampleScheduler(context) });
  server.addHook('onResponse', async (request, reply) => {
    // The pattern, not the URL: app ids and task ids would make a series each.
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requestObserved(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  server.get(METRICS_PATH, async (_request, reply) => {
    const body = await metrics.text();
    return reply.type(metrics.contentType).send(body);
  });
  return metrics;
}
