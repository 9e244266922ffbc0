import type { ClusterEvent, DeploymentFailedEvent, DeploymentInfoEvent } from '../../events/types.ts';
import { appExists, appLocked, appNotFound, invalidObject, type ApiError } from '../errors.ts';
import type { AppDefinition, ClusterState, Deployment, StateOp } from '../types.ts';
import { buildApp } from './app-definition.ts';
import { appDefinitionJson } from './marathon-json.ts';
import { deploymentsHolding, planDeployment } from './deployments.ts';

export interface ChangeContext {
  now: string;
  deploymentId: string;
  force: boolean;
  clientIp: string;
  uri: string;
}

export type AppChange =
  | { ok: true; ops: StateOp[]; events: ClusterEvent[]; app: AppDefinition | undefined; deployment: Deployment; created: boolean }
  | { ok: false; error: ApiError };

export type WriteMode = 'create' | 'replace' | 'partial';

/**
 * POST (create), PUT (replace) or PUT with partialUpdate (merge onto the stored app): validates,
 * checks deployment locks and returns the ops and events of the change.
 */
export function writeApp(state: ClusterState, body: unknown, mode: WriteMode, context: ChangeContext, idFromPath?: string): AppChange {
  const existing = idFromPath === undefined ? undefined : state.apps.get(normalizePathId(idFromPath));
  const input = mode === 'partial' && existing !== undefined && isObject(body) ? mergeForUpdate(existing, body) : body;
  const built = buildApp(input, { now: context.now, apps: state.apps }, idFromPath);
  if (!built.ok) return { ok: false, error: invalidObject(built.details) };
  const { app } = built;
  const previous = state.apps.get(app.id);
  if (mode === 'create' && previous !== undefined) return { ok: false, error: appExists(app.id) };
  const locks = lockCheck(state, app.id, context);
  if (!locks.ok) return locks;
  const deployment = planDeployment(context.deploymentId, previous, app, context.now);
  const step = deployment.plan.steps[0] ?? { actions: [] };
  return {
    ok: true,
    ops: [
      ...locks.ops,
      { op: 'put', coll: 'apps', key: app.id, value: app },
      { op: 'put', coll: 'appVersions', key: versionKey(app.id, app.version), value: app },
      { op: 'put', coll: 'deployments', key: deployment.id, value: deployment },
    ],
    events: [
      ...locks.events,
      { eventType: 'api_post_event', timestamp: context.now, clientIp: context.clientIp, uri: context.uri, appDefinition: appDefinitionJson(app) },
      { eventType: 'deployment_info', timestamp: context.now, plan: deployment.plan, currentStep: step } satisfies DeploymentInfoEvent,
    ],
    app,
    deployment,
    created: previous === undefined,
  };
}

export function removeApp(state: ClusterState, rawId: string, context: ChangeContext): AppChange {
  const id = normalizePathId(rawId);
  const previous = state.apps.get(id);
  if (previous === undefined) return { ok: false, error: appNotFound(id) };
  const locks = lockCheck(state, id, context);
  if (!locks.ok) return locks;
  const deployment = planDeployment(context.deploymentId, previous, undefined, context.now);
  const step = deployment.plan.steps[0] ?? { actions: [] };
  return {
    ok: true,
    ops: [
      ...locks.ops,
      { op: 'del', coll: 'apps', key: id },
      ...[...state.appVersions.keys()].filter((key) => key.startsWith(`${id} `)).map((key): StateOp => ({ op: 'del', coll: 'appVersions', key })),
      { op: 'del', coll: 'taskFailures', key: id },
      { op: 'put', coll: 'deployments', key: deployment.id, value: deployment },
    ],
    events: [
      ...locks.events,
      { eventType: 'deployment_info', timestamp: context.now, plan: deployment.plan, currentStep: step },
      { eventType: 'app_terminated_event', timestamp: context.now, appId: id },
    ],
    app: undefined,
    deployment,
    created: false,
  };
}

/** Key of one stored app version: app ids hold no spaces. */
export function versionKey(appId: string, version: string): string {
  return `${appId} ${version}`;
}

export function normalizePathId(raw: string): string {
  const trimmed = raw.replace(/\/+$/, '');
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** One deployment per app: a change to a held app is refused unless forced, which cancels the holder. */
function lockCheck(state: ClusterState, appId: string, context: ChangeContext): { ok: true; ops: StateOp[]; events: ClusterEvent[] } | { ok: false; error: ApiError } {
  const holding = deploymentsHolding(state, [appId]);
  if (holding.length === 0) return { ok: true, ops: [], events: [] };
  if (!context.force) return { ok: false, error: appLocked(holding.map((d) => d.id)) };
  return {
    ok: true,
    ops: holding.map((d): StateOp => ({ op: 'del', coll: 'deployments', key: d.id })),
    events: holding.map((d): DeploymentFailedEvent => ({
      eventType: 'deployment_failed',
      timestamp: context.now,
      id: d.id,
      plan: d.plan,
      reason: `canceled by a forced change (deployment ${context.deploymentId})`,
    })),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Marathon's partial update: top-level fields of the body replace the stored ones. */
function mergeForUpdate(existing: AppDefinition, body: Record<string, unknown>): Record<string, unknown> {
  const { version: _version, versionInfo: _versionInfo, ...stored } = existing as AppDefinition & Record<string, unknown>;
  const merged: Record<string, unknown> = { ...stored, ...body };
  if ('args' in body) delete merged.cmd;
  if ('cmd' in body) delete merged.args;
  if ('ports' in body) delete merged.portDefinitions;
  return merged;
}
