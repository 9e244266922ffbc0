import type { FastifyInstance } from 'fastify';
import { agentTokenKey, encodeAgentToken, type AgentTokenScope } from '../../auth/core/agent-tokens.ts';
import { scopeOf } from '../../auth/core/route-actions.ts';
import { appIdOfTask } from '../core/app-id.ts';
import { runTaskAgent } from '../jobs/core/runs.ts';
import { jobIdOfPath } from '../../auth/core/paths.ts';
import { SchedulerFailure, invalidObject } from '../errors.ts';
import type { AgentRecord, ClusterState } from '../types.ts';
import type { ApiContext } from './context.ts';

/** Long enough for `corral logs` to tail a file, short enough that a leaked token soon stops working; a client asks again. */
export const AGENT_TOKEN_TTL_MS = 5 * 60_000;

export const TASK_FILES_TOKEN_ROUTE = '/corral/v1/tasks/:taskId/files-token';
export const AGENT_TOKEN_ROUTE = '/corral/v1/agents/:agentId/token';

/**
 * A token for the agent's own API, when the agent can check one: it holds a credential (agent
 * admission), of which the scheduler keeps the hash the key derives from. An agent without one
 * checks nothing (admission off), so none is issued; a revoked one gets none.
 */
function issue(agent: AgentRecord, scope: AgentTokenScope, taskIds: string[], nowMs: number): { token?: string; expiresAt?: string } {
  const credential = agent.credential;
  if (credential === undefined) return {};
  if (credential.revokedAt !== undefined || credential.hash === '') throw new SchedulerFailure({ code: 'ERR_SCHED_AGENT_NOT_REGISTERED', agentId: agent.id });
  const expiresAt = nowMs + AGENT_TOKEN_TTL_MS;
  return { token: encodeAgentToken({ agentId: agent.id, scope, taskIds, expiresAt }, agentTokenKey(credential.hash)), expiresAt: new Date(expiresAt).toISOString() };
}

/**
 * Where a task's sandbox is, and a token for it: a live task, its app's last failure (Marathon's
 * lastTaskFailure: the logs of a crash are what one reads most), or a job run's task (read after
 * the run ended, as long as the history holds the run). `sandbox` is the files API's `path=` of
 * the task's sandbox directory.
 */
export function taskFilesGrant(current: ClusterState, taskId: string): { taskId: string; agentId: string; url: string; sandbox: string; token?: string; expiresAt?: string } {
  const failure = current.taskFailures.get(appIdOfTask(taskId));
  const agentId = current.instances.get(taskId)?.agentId ?? (failure?.taskId === taskId ? failure.slaveId : undefined) ?? runTaskAgent(current, taskId, jobIdOfPath(appIdOfTask(taskId)));
  if (agentId === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_TASK_NOT_FOUND', taskId });
  const agent = current.agents.get(agentId);
  if (agent === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_AGENT_NOT_REGISTERED', agentId });
  return { taskId, agentId: agent.id, url: agent.endpoint, sandbox: taskId, ...issue(agent, 'files', [taskId], Date.now()) };
}

/**
 * Tokens the agents check without calling back (src/auth/core/agent-tokens.ts). Who may ask is
 * the route table's business (src/auth/core/route-actions.ts): `logs` on the task's app for its
 * sandbox, `read` on `/` for a whole agent (metrics, state, every sandbox). POSTs, so with --auth
 * each issue is an audit line.
 */
export function registerAgentTokenRoutes(server: FastifyInstance, { state }: ApiContext): void {
  server.post(TASK_FILES_TOKEN_ROUTE, async (request) => {
    const { taskId } = request.params as { taskId: string };
    return taskFilesGrant(state.current, taskId);
  });

  server.post(AGENT_TOKEN_ROUTE, async (request) => {
    const { agentId } = request.params as { agentId: string };
    // Body `{scope: "metrics"}` (the default: /metrics and /state) or `{scope: "agent"}` (every sandbox too).
    const scope = scopeOf(request.body);
    if (scope !== 'metrics' && scope !== 'agent') throw new SchedulerFailure(invalidObject([{ path: '/scope', errors: ['must be "metrics" or "agent"'] }]));
    const agent = state.current.agents.get(agentId);
    if (agent === undefined) throw new SchedulerFailure({ code: 'ERR_SCHED_AGENT_NOT_REGISTERED', agentId });
    return { agentId, url: agent.endpoint, scope, ...issue(agent, scope, [], Date.now()) };
  });
}
