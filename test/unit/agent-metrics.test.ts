import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import Fastify from 'fastify';
import { register as globalRegistry } from 'prom-client';
import { AgentMetrics, registerMetricsRoute } from '../../src/agent/metrics.ts';

/** The value of one sample line, e.g. `corral_agent_tasks{state="TASK_RUNNING"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('agent metrics: the facade feeds the named series', async () => {
  const metrics = new AgentMetrics({ defaultMetrics: false });
  let text = await metrics.text();
  // Every state and result is there from the start, at zero.
  assert.equal(sample(text, 'corral_agent_tasks{state="TASK_RUNNING"}'), 0);
  assert.equal(sample(text, 'corral_agent_tasks{state="TASK_GONE"}'), 0);
  assert.equal(sample(text, 'corral_agent_health_checks_total{result="unhealthy"}'), 0);
  assert.equal(sample(text, 'corral_agent_task_launches_total'), 0);

  metrics.taskLaunched();
  metrics.taskLaunched();
  metrics.taskEnded('TASK_FAILED');
  metrics.taskEnded('TASK_KILLED');
  metrics.taskEnded('TASK_KILLED');
  metrics.setTasks({ TASK_RUNNING: 3, TASK_STAGING: 1 });
  metrics.setTasks({ TASK_RUNNING: 2, TASK_KILLING: 1 });
  metrics.fetchFailed();
  metrics.healthChecked('healthy');
  metrics.healthChecked('healthy');
  metrics.healthChecked('unhealthy');
  metrics.setStatusUpdatesPending(4);

  text = await metrics.text();
  const expected: Array<[string, number]> = [
    ['corral_agent_task_launches_total', 2],
    ['corral_agent_task_exits_total{state="TASK_FAILED"}', 1],
    ['corral_agent_task_exits_total{state="TASK_KILLED"}', 2],
    ['corral_agent_tasks{state="TASK_RUNNING"}', 2],
    ['corral_agent_tasks{state="TASK_KILLING"}', 1],
    // The second picture replaces the first: states left out drop to zero.
    ['corral_agent_tasks{state="TASK_STAGING"}', 0],
    ['corral_agent_fetch_failures_total', 1],
    ['corral_agent_health_checks_total{result="healthy"}', 2],
    ['corral_agent_health_checks_total{result="unhealthy"}', 1],
    ['corral_agent_status_updates_pending', 4],
  ];
  for (const [series, value] of expected) assert.equal(sample(text, series), value, series);
  assert.match(text, /# TYPE corral_agent_tasks gauge/);
  assert.match(text, /# TYPE corral_agent_task_exits_total counter/);
  assert.doesNotMatch(text, /process_cpu/);
});

test('agent metrics: own registries, so two agents in one process do not collide', async () => {
  const a = new AgentMetrics();
  const b = new AgentMetrics();
  a.taskLaunched();
  assert.equal(sample(await a.text(), 'corral_agent_task_launches_total'), 1);
  assert.equal(sample(await b.text(), 'corral_agent_task_launches_total'), 0);
  assert.match(await a.text(), /^process_cpu_user_seconds_total /m);
  assert.match(await a.text(), /^nodejs_eventloop_lag_seconds /m);
  assert.equal(globalRegistry.getSingleMetric('corral_agent_tasks'), undefined);
});

test('GET /metrics: Prometheus text over loopback', async () => {
  const metrics = new AgentMetrics();
  metrics.taskLaunched();
  const app = Fastify();
  registerMetricsRoute(app, metrics);
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const { port } = app.server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    assert.equal(sample(text, 'corral_agent_task_launches_total'), 1);
    assert.match(text, /^process_resident_memory_bytes /m);
  } finally {
    await app.close();
  }
});
