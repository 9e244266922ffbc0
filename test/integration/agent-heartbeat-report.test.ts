import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { SchedulerLink } from '../../src/agent/scheduler-link.ts';
import { StatusOutbox } from '../../src/agent/status-outbox.ts';
import { AGENT_API } from '../../src/shared/agent-protocol.ts';
import { createLogger } from '../../src/shared/log.ts';
import { tempDir } from '../support/parts.ts';
import { waitFor } from '../support/wait.ts';

test('the agent reports the tasks it runs with a heartbeat now and then, plain heartbeats in between', { timeout: 30_000 }, async () => {
  const dir = tempDir('corral-heartbeat-report-');
  // A stand-in scheduler: registers the agent, holds its command stream, records heartbeats.
  const scheduler = Fastify();
  const beats: unknown[] = [];
  scheduler.post(`${AGENT_API}/register`, async () => ({ agentId: 'a1', heartbeatIntervalMs: 50 }));
  scheduler.get(`${AGENT_API}/a1/commands`, (_request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson' });
    reply.raw.write(`${JSON.stringify({ type: 'heartbeat' })}\n`);
    const keepAlive = setInterval(() => reply.raw.write(`${JSON.stringify({ type: 'heartbeat' })}\n`), 50);
    reply.raw.on('close', () => clearInterval(keepAlive));
  });
  scheduler.post(`${AGENT_API}/a1/heartbeat`, async (request) => {
    beats.push(request.body ?? null);
    return { acknowledged: true };
  });
  await scheduler.listen({ host: '127.0.0.1', port: 0 });
  const address = scheduler.server.address();
  const master = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const link = new SchedulerLink({
    masters: [master],
    logger: createLogger('agent', 'silent'),
    registration: () => ({ hostname: 'h', ip: '127.0.0.1', endpoint: '', resources: [], attributes: {}, tasks: [{ taskId: 't1', state: 'TASK_RUNNING' }, { taskId: 't2', state: 'TASK_STARTING', message: '' }] }),
    onRegistered: () => undefined,
    onCommand: () => undefined,
    initialAgentId: undefined,
    outbox: new StatusOutbox(join(dir, 'status')),
  });
  try {
    link.start();
    await waitFor('a heartbeat with the agent\'s tasks', () => (beats.some((b) => b !== null) ? true : undefined), 10_000);
    const report = beats.find((b) => b !== null);
    assert.deepEqual(report, { tasks: [{ taskId: 't1', state: 'TASK_RUNNING' }, { taskId: 't2', state: 'TASK_STARTING' }] });
    assert.ok(beats.indexOf(report) > 0, 'plain heartbeats come in between');
  } finally {
    await link.close(100);
    await scheduler.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
