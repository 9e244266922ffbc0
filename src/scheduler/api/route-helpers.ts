import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ClusterEvent } from '../../events/types.ts';
import type { ChangeContext } from '../core/app-changes.ts';
import { SchedulerFailure, type Refused } from '../errors.ts';
import type { SchedulerState } from '../state.ts';
import type { ClusterState, Deployment, StateOp } from '../types.ts';
import { identityOf } from './auth-hook.ts';
import type { ApiContext } from './context.ts';

export type Query = Record<string, string | string[] | undefined>;

export const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
export const flag = (value: string | string[] | undefined): boolean => list(value).includes('true');

/** The context of one change made through the API. */
export function changeContext(request: FastifyRequest, settings: Pick<ApiContext, 'maxVersions'>): ChangeContext {
  const writer = identityOf(request);
  return {
    maxVersions: settings.maxVersions,
    now: new Date().toISOString(),
    deploymentId: randomUUID(),
    force: flag((request.query as Query).force),
    clientIp: request.ip,
    uri: request.url.split('?')[0] ?? request.url,
    ...(writer !== undefined ? { writer } : {}),
  };
}

/** A core change that went through: what to commit, and whatever else its result carries. */
type Accepted = { ok: true; ops: StateOp[]; events: ClusterEvent[] };

/** Runs a core change in one transaction: commits its ops and events, or throws its domain error. */
export async function commitChange<T extends Accepted>(state: SchedulerState, compute: (s: ClusterState) => T | Refused): Promise<T> {
  const change = await state.transact<T | Refused>((s) => {
    const result = compute(s);
    return result.ok ? { ops: result.ops, events: result.events, result } : { ops: [], events: [], result };
  });
  if (!change.ok) throw new SchedulerFailure(change.error);
  return change;
}

/** COMPAT(marathon): a change that starts a deployment answers `{version, deploymentId}` with the Marathon-Deployment-Id header. */
export function deploymentResult(reply: FastifyReply, deployment: Deployment, version: string, status = 200): FastifyReply {
  return reply.code(status).header('Marathon-Deployment-Id', deployment.id).send({ version, deploymentId: deployment.id });
}

/** Whether a kill (`DELETE /v2/apps/{id}/tasks`, `POST /v2/tasks/delete`) scales the app down; scale with wipe is refused. */
export function killScales(query: Query): boolean {
  const scale = flag(query.scale);
  if (scale && flag(query.wipe)) throw new SchedulerFailure({ code: 'ERR_SCHED_SCALE_AND_WIPE' });
  return scale;
}

export const unknownPath = (request: FastifyRequest): SchedulerFailure =>
  new SchedulerFailure({ code: 'ERR_SCHED_UNKNOWN_PATH', method: request.method, path: request.url.split('?')[0] ?? request.url });
