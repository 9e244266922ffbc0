import { Ajv } from 'ajv';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AGENT_API, type HeartbeatReport, type RegisterRequest, type TaskStatusUpdate, type VolumesDestroyed } from '../../shared/agent-protocol.ts';
import { SchedulerFailure } from '../errors.ts';
import type { AgentRecord } from '../types.ts';
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
    capabilities: { type: 'array', items: { type: 'string' } },
  },
});

const validDestroyed = ajv.compile({
  type: 'object',
  required: ['taskId', 'persistenceIds'],
  properties: { taskId: { type: 'string' }, persistenceIds: { type: 'array', items: { type: 'string' } } },
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

/** What an agent listing shows of a credential: never its hash. */
function listed({ credential, ...agent }: AgentRecord): Record<string, unknown> {
  if (credential === undefined) return agent;
  const { hash: _hash, ...shown } = credential;
  return { ...agent, credential: shown };
}

/** Corral's agent protocol (see src/shared/agent-protocol.ts). */
export function registerAgentRoutes(server: FastifyInstance, { orchestrator, links, state, admission }: ApiContext): void {
  /**
   * With admission on, the calls an agent makes about itself carry its credential: no one else
   * can read its commands, beat for it or report its tasks. An unknown id gets the 404 that
   * tells an agent to register again.
   */
  const ownAgent = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (admission === undefined) return undefined;
    const { agentId } = request.params as { agentId: string };
    const agent = state.current.agents.get(agentId);
    if (agent === undefined) throw notRegistered(agentId);
    return admission.authenticate(request, reply, agent) ? undefined : reply;
  };

  server.post(`${AGENT_API}/register`, async (request, reply) => {
    if (admission !== undefined && !admission.takeRegistration(reply)) return reply;
    if (!validRegistration(request.body)) throw invalid('registration', validRegistration.errors);
    const answer = await orchestrator.register(request.body as RegisterRequest, admission?.registrationCheck(request));
    if (!('refused' in answer)) return answer;
    admission?.refuse(request, reply, answer.refused);
    return reply;
  });

  server.get(`${AGENT_API}/:agentId/commands`, { preHandler: ownAgent }, (request, reply) => {
    const { agentId } = request.params as { agentId: string };
    if (!state.current.agents.has(agentId)) throw notRegistered(agentId);
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    reply.raw.flushHeaders();
    links.attach(agentId, reply.raw);
    orchestrator.streamOpened(agentId);
    return reply;
  });

  server.post(`${AGENT_API}/:agentId/heartbeat`, { preHandler: ownAgent }, async (request) => {
    const { agentId } = request.params as { agentId: string };
    // Without a body: a plain heartbeat (agents report their tasks only now and then).
    const body = request.body ?? {};
    if (!validHeartbeat(body)) throw invalid('heartbeat', validHeartbeat.errors);
    if (!orchestrator.heartbeat(agentId, (body as Partial<HeartbeatReport>).tasks)) throw notRegistered(agentId);
    return { acknowledged: true };
  });

  // One update, or `{updates: [...]}` applied in order in one transaction.
  // An update for a task that is not on this agent changes nothing (applyStatus); a live one is killed there as an orphan.
  server.post(`${AGENT_API}/:agentId/status`, { preHandler: ownAgent }, async (request) => {
    const { agentId } = request.params as { agentId: string };
    const body = request.body as { updates?: unknown } | undefined;
    const updates = Array.isArray(body?.updates) ? body.updates : [body];
    if (updates.length > 10_000) throw invalid('status update batch', [{ message: 'at most 10000 updates per request' }]);
    for (const update of updates) if (!validStatus(update)) throw invalid('status update', validStatus.errors);
    await orchestrator.status(agentId, updates as TaskStatusUpdate[]);
    return { acknowledged: updates.length };
  });

  // The answer to a destroy-volumes command: the released reservation is forgotten (repeats change nothing).
  server.post(`${AGENT_API}/:agentId/volumes/destroyed`, { preHandler: ownAgent }, async (request) => {
    const { agentId } = request.params as { agentId: string };
    if (!validDestroyed(request.body)) throw invalid('volumes destroyed', validDestroyed.errors);
    await orchestrator.volumesDestroyed(agentId, request.body as VolumesDestroyed);
    return { acknowledged: true };
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

  // Operator calls, guarded by the network only until the API's own authentication (--auth) guards them.
  server.delete(`${AGENT_API}/:agentId/credential`, async (request) => {
    const { agentId } = request.params as { agentId: string };
    if (!(await orchestrator.revoke(agentId))) throw notRegistered(agentId);
    return { agentId, revoked: true };
  });

  server.get(AGENT_API, async () => {
    const connected = links.connected();
    return { agents: [...state.current.agents.values()].map((agent) => ({ ...listed(agent), connected: connected.has(agent.id) })) };
  });
}
