import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { SchedulerFailure, invalidObject } from '../errors.ts';
import { taskFilesGrant } from './agent-tokens.ts';
import type { ApiContext } from './context.ts';

/** The most one read answers: a page's tail asks again from where it stopped. */
export const MAX_READ_BYTES = 64 * 1024;
const AGENT_TIMEOUT_MS = 10_000;

export const TASK_FILE_READ_ROUTE = '/corral/v1/tasks/:taskId/files/read';
export const TASK_FILE_DOWNLOAD_ROUTE = '/corral/v1/tasks/:taskId/files/download';

function fileOf(query: Record<string, unknown>): 'stdout' | 'stderr' {
  const file = query.file ?? 'stdout';
  if (file !== 'stdout' && file !== 'stderr') throw new SchedulerFailure(invalidObject([{ path: '/file', errors: ['must be "stdout" or "stderr"'] }]));
  return file;
}

function integerOf(value: unknown, fallback: number, min: number, max: number, path: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !/^-?\d+$/.test(value) || n < min || n > max) throw new SchedulerFailure(invalidObject([{ path, errors: [`must be a whole number from ${min} to ${max}`] }]));
  return n;
}

/**
 * A task's stdout or stderr, read through its agent's files API on the caller's behalf (the web
 * UI's logs). The caller's right is the files token's (`logs` on the task's app or job, in the
 * route table); the agent token never leaves the scheduler, so a page needs neither the agent's
 * origin (no CORS on agents) nor a second credential. `GET …/files/read?file=stdout&offset=N&length=M`
 * answers Mesos' `{data, offset}` (offset -1: only the size); `…/files/download?file=stderr` the whole file.
 */
export function registerTaskFileRoutes(server: FastifyInstance, { state }: ApiContext): void {
  const fromAgent = async (taskId: string, route: string, query: string): Promise<Awaited<ReturnType<typeof request>>> => {
    const grant = taskFilesGrant(state.current, taskId);
    return request(`${grant.url}${route}?${query}`, {
      headers: grant.token === undefined ? {} : { authorization: `Bearer ${grant.token}` },
      headersTimeout: AGENT_TIMEOUT_MS,
      bodyTimeout: AGENT_TIMEOUT_MS,
    });
  };
  const path = (taskId: string, file: string): string => `path=${encodeURIComponent(`${taskId}/${file}`)}`;

  server.get(TASK_FILE_READ_ROUTE, async (req, reply) => {
    const { taskId } = req.params as { taskId: string };
    const query = req.query as Record<string, unknown>;
    const file = fileOf(query);
    const offset = integerOf(query.offset, -1, -1, Number.MAX_SAFE_INTEGER, '/offset');
    const length = integerOf(query.length, MAX_READ_BYTES, 0, MAX_READ_BYTES, '/length');
    const answer = await fromAgent(taskId, '/files/read', `${path(taskId, file)}&offset=${offset}&length=${length}`);
    // The agent's words (404: no such file yet) pass through as they are.
    return reply.code(answer.statusCode).type('application/json').send(await answer.body.text());
  });

  server.get(TASK_FILE_DOWNLOAD_ROUTE, async (req, reply) => {
    const { taskId } = req.params as { taskId: string };
    const file = fileOf(req.query as Record<string, unknown>);
    const answer = await fromAgent(taskId, '/files/download', path(taskId, file));
    if (answer.statusCode !== 200) return reply.code(answer.statusCode).type('application/json').send(await answer.body.text());
    const name = `${taskId}-${file}.txt`.replace(/[^\w.-]/g, '_');
    return reply.type('text/plain; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`).send(answer.body);
  });
}
