import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { AGENT_API, type HeartbeatReport, type RegisterRequest, type TaskStatusUpdate } from '../../shared/agent-protocol.ts';
import { SchedulerFailure } from '../errors.ts';
import type { ApiContext } from './context.ts';

const ajv = new Ajv({ allErrors: true, strict: false });

const validRegistration = ajv.compile({
  type: 'object',
  required: ['hostname', 'ip', 'endpoint', 'resources', 'attributes', 'tasks'],
  properties: {
    agentId: { type: 'string' },
    hostname: { type: 'string', minLength: 1 },
    ip: { type: 'string', minLength: 1 },
    endpoint: { type: 'string' },
    resources: { type: 'array', items: { type: 'object', required: ['name', 'role'] } },
    attributes: { type: 'object' },
    tasks: { type: 'array', items: { type: 'object', required: ['taskId', 'state'] } },
  },
});

const validStatus = ajv.compile({
  type: 'object',
  required: ['uuid', 'taskId', 'state', 'message', 'timestamp'],
  properties: { uuid: { type: 'string' }, taskId: { type: 'string' }, state: { type: 'string', pattern: '^TASK_' }, message: { type: 'string' } },
});

const validHeartbeat = ajv.compile({
  type: 'object',
  properties: { tasks: { type: 'array', items: { type: 'object', required: ['taskId', 'state'], properties: { taskId: { type: 'string' }, state: { type: 'string' } } } } },
});

function invalid(what: string, errors: unknown): SchedulerFailure {
  return new SchedulerFailure({ code: 'ERR_SCHED_INVALID_AGENT_MESSAGE', what, errors });
}

const notRegistered = (agentId: string): SchedulerFailure => new SchedulerFailure({ code: 'ERR_SCHED_AGENT_NOT_REGISTERED', agentId });

/** Corral's agent protocol (see src/shared/agent-protocol.ts). */
export function registerAgentRoutes(server: FastifyInstance, { orchestrator, links, state }: ApiContext): void {
  server.post(`${AGENT_API}/register`, async (request) => {
    if (!validRegistration(request.body)) throw invalid('registration', validRegistration.errors);
    return orchestrator.register(request.body as RegisterRequest);
  });

  server.get(`${AGENT_API}/:agentId/commands`, (request, reply) => {
    const { agentId } = request.params as { agentId: string };
    if (!state.current.agents.has(agentId)) throw notRegistered(agentId);
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    reply.raw.flushHeaders();
    links.attach(agentId, reply.raw);
    orchestrator.streamOpened(agentId);
    return reply;
  });

  server.post(`${AGENT_API}/:agentId/heartbeat`, async (request) => {
    const { agentId } = request.params as { agentId: string };
    // Without a body: a plain heartbeat (agents report their tasks only now and then).
    const body = request.body ?? {};
    if (!validHeartbeat(body)) throw invalid('heartbeat', validHeartbeat.errors);
    if (!orchestrator.heartbeat(agentId, (body as Partial<HeartbeatReport>).tasks)) throw notRegistered(agentId);
    return { acknowledged: true };
  });

  // One update, or `{updates: [...]}` applied in order in one transaction.
  server.post(`${AGENT_API}/:agentId/status`, async (request) => {
    const { agentId } = request.params as { agentId: string };
    const body = request.body as { updates?: unknown } | undefined;
    const updates = Array.isArray(body?.updates) ? body.updates : [body];
    if (updates.length > 10_000) throw invalid('status update batch', [{ message: 'at most 10000 updates per request' }]);
    for (const update of updates) if (!validStatus(update)) throw invalid('status update', validStatus.errors);
    await orchestrator.status(agentId, updates as TaskStatusUpdate[]);
    return { acknowledged: updates.length };
  });

  // Maintenance: POST drains (no new tasks, existing ones moved per the app's upgrade strategy), DELETE ends it.
  for (const method of ['POST', 'DELETE'] as const) {
    server.route({
      method,
      url: `${AGENT_API}/:agentId/drain`,
      handler: async (request) => {
        const { agentId } = request.params as { agentId: string };
        if (!(await orchestrator.drain(agentId, method === 'POST'))) throw notRegistered(agentId);
        return { agentId, draining: method === 'POST' };
      },
    });
  }

  server.get(AGENT_API, async () => {
    const connected = links.connected();
    return { agents: [...state.current.agents.values()].map((agent) => ({ ...agent, connected: connected.has(agent.id) })) };
  });
}
