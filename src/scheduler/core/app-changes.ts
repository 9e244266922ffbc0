import { isDeepStrictEqual } from 'node:util';
import { rootTaskRefusal } from '../../auth/core/root-tasks.ts';
import type { Identity } from '../../auth/types.ts';
import type { ClusterEvent, DeploymentFailedEvent, DeploymentInfoEvent } from '../../events/types.ts';
import { appNotFound, invalidObject, type Refused, type SchedulerError } from '../errors.ts';
import type { AppDefinition, ClusterState, Deployment, Instance, StateOp } from '../types.ts';
import { relaunchInstance, stopInstance } from './agent-status.ts';
import { buildApp } from './app-definition.ts';
import { DEFAULT_MAX_APP_VERSIONS, forgetAppVersions, storeAppVersion, versionKey } from './app-versions.ts';
import { appDefinitionJson, groupOf } from './marathon-json.ts';
import { deploymentsHolding, orderSteps, planDeployment } from './deployments.ts';
import { checkAppsWrite } from './quotas.ts';

export interface ChangeContext {
  now: string;
  deploymentId: string;
  force: boolean;
  clientIp: string;
  uri: string;
  /** Versions kept per app (`--max-versions`); DEFAULT_MAX_APP_VERSIONS when not given. */
  maxVersions?: number;
  /** `?dryRun=true`: compute the change even if it does not fit a quota (the answer says so instead). */
  ignoreQuotas?: boolean;
  /** `--auth`: who writes; app definitions it leaves running as root need its grant of run-as-root. */
  writer?: Identity;
}

export type AppChange =
  | { ok: true; ops: StateOp[]; events: ClusterEvent[]; app: AppDefinition | undefined; deployment: Deployment; created: boolean }
  | Refused;

/**
 * `create`: POST; `replace`: PUT with partialUpdate=false; `partial`: PUT (merge onto the stored
 * app, create when absent); `patch`: PATCH (merge, never create).
 */
export type WriteMode = 'create' | 'replace' | 'partial' | 'patch';

/** One app before and after a change that is part of a deployment. */
interface AppStep {
  previous: AppDefinition | undefined;
  next: AppDefinition;
  /** Written through the API (emits api_post_event) rather than derived (restart, kill and scale). */
  posted: boolean;
}

type Prepared = { ok: true; step: AppStep } | Refused;

/**
 * POST (create), PUT (replace), PUT with partialUpdate or PATCH (merge onto the stored app), or a
 * rollback (`{"version": ...}` alone): validates, checks deployment locks and returns the ops and
 * events of the change.
 */
export function writeApp(state: ClusterState, body: unknown, mode: WriteMode, context: ChangeContext, idFromPath?: string): AppChange {
  const prepared = prepareApp(state.apps, state.appVersions, body, mode, context.now, idFromPath);
  if (!prepared.ok) return prepared;
  const { previous, next } = prepared.step;
  // COMPAT(marathon): a write that leaves the definition as it is (an app PUT back as read) keeps its
  // version and deploys nothing; Marathon's plan for it is empty and done at once.
  if (previous !== undefined && sameDefinition(previous, next)) {
    // Authorized all the same: a write that names nothing new of a root app still needs run-as-root.
    const root = rootRefusal(state, context, [next]);
    if (root !== undefined) return root;
    const empty = planDeployment(context.deploymentId, previous, previous, context.now);
    return { ok: true, ops: [], events: [], app: previous, created: false, deployment: { ...empty, plan: { ...empty.plan, steps: [] }, affectedApps: [], targets: {}, original: {} } };
  }
  const change = deployApps(state, [prepared.step], [], context);
  return change.ok ? { ...change, app: prepared.step.next, created: prepared.step.previous === undefined } : change;
}

/**
 * `PUT /v2/apps` and `PATCH /v2/apps`: several app updates in one deployment. Each is validated
 * against the apps before it in the batch (service ports stay unique); any failure refuses all.
 * Apps in `remove` (a group update leaving them out) are stopped in the same deployment.
 */
export function writeApps(state: ClusterState, body: unknown, mode: Exclude<WriteMode, 'create'>, context: ChangeContext, remove: readonly string[] = []): AppChange {
  if (!Array.isArray(body)) return { ok: false, error: invalidObject([{ path: '/', errors: ['expected an array of app definitions'] }]) };
  let apps = state.apps;
  const steps: AppStep[] = [];
  for (const [index, item] of body.entries()) {
    const id = isObject(item) && typeof item.id === 'string' ? item.id : undefined;
    if (id === undefined) return { ok: false, error: invalidObject([{ path: `/${index}/id`, errors: ['an app id is required in a batch update'] }]) };
    const prepared = prepareApp(apps, state.appVersions, item, mode, context.now, id);
    if (!prepared.ok) return { ok: false, error: prefixDetails(prepared.error, `/${index}`) };
    const { next } = prepared.step;
    if (steps.some((s) => s.next.id === next.id)) return { ok: false, error: invalidObject([{ path: `/${index}/id`, errors: [`app ${next.id} appears more than once`] }]) };
    steps.push(prepared.step);
    apps = new Map(apps).set(next.id, next);
  }
  const removed = remove.flatMap((id) => state.apps.get(id) ?? []).filter((app) => !steps.some((s) => s.next.id === app.id));
  const change = deployApps(state, steps, [], context, removed);
  return change.ok ? { ...change, app: undefined, created: false } : change;
}

/**
 * `POST /v2/apps/{id}/restart`: the same definition as a new configuration, so every instance
 * (they carry the old `lastConfigChangeAt` as their configVersion) is replaced.
 */
export function restartApp(state: ClusterState, rawId: string, context: ChangeContext): AppChange {
  const id = normalizePathId(rawId);
  const previous = state.apps.get(id);
  if (previous === undefined) return { ok: false, error: appNotFound(id) };
  const next: AppDefinition = { ...previous, version: context.now, versionInfo: { lastScalingAt: context.now, lastConfigChangeAt: context.now } };
  const change = deployApps(state, [{ previous, next, posted: false }], [], context);
  return change.ok ? { ...change, app: next, created: false } : change;
}

/**
 * A rollback's write: the app exactly as it was before, as a new version that keeps the
 * original's configuration version, so that instances still on the original configuration are
 * current again and only those of the version rolled back get replaced (as Marathon reverts).
 */
export function restoreApp(state: ClusterState, original: AppDefinition, context: ChangeContext): AppChange {
  const next: AppDefinition = { ...original, version: context.now, versionInfo: { lastScalingAt: context.now, lastConfigChangeAt: original.versionInfo.lastConfigChangeAt } };
  const change = deployApps(state, [{ previous: state.apps.get(original.id), next, posted: true }], [], context);
  return change.ok ? { ...change, app: next, created: false } : change;
}

export type KillChange =
  | { ok: true; ops: StateOp[]; events: ClusterEvent[]; killed: Instance[]; deployment: Deployment | undefined }
  | Refused;

/**
 * Kills instances: their goal becomes `stopped` (the orchestrator sends the kills). Without
 * `scale` the reconciler replaces them; with `scale` each app's `instances` drops by the number
 * killed, in one deployment (which, like any app change, respects deployment locks).
 */
export function killInstances(state: ClusterState, instances: readonly Instance[], scale: boolean, context: ChangeContext, wipe = false): KillChange {
  // COMPAT(marathon): instances already being killed are not killed (or counted) again.
  const killed = instances.filter((i) => i.goal === 'running');
  const ops: StateOp[] = [];
  const events: ClusterEvent[] = [];
  for (const instance of killed) {
    // COMPAT(marathon): a resident task killed without wipe (or scale) comes back on its reservation, with its data.
    const stop = instance.reservation !== undefined && !wipe && !scale
      ? relaunchInstance(instance, context.now, 'killed through the API; relaunched on its reservation')
      : stopInstance(instance, context.now, 'killed through the API', state.agents);
    ops.push(...stop.ops);
    events.push(...stop.events);
  }
  if (!scale) return { ok: true, ops, events, killed, deployment: undefined };
  const steps: AppStep[] = [];
  for (const appId of new Set(killed.map((i) => i.appId))) {
    const previous = state.apps.get(appId);
    if (previous === undefined) return { ok: false, error: appNotFound(appId) };
    const count = killed.filter((i) => i.appId === appId).length;
    const next: AppDefinition = {
      ...previous,
      instances: Math.max(0, previous.instances - count),
      version: context.now,
      versionInfo: { ...previous.versionInfo, lastScalingAt: context.now },
    };
    steps.push({ previous, next, posted: false });
  }
  const change = deployApps(state, steps, ops, context);
  if (!change.ok) return change;
  return { ok: true, ops: change.ops, events: [...events, ...change.events], killed, deployment: change.deployment };
}

/**
 * What `DELETE /v2/apps/{id}/tasks[?host=]` kills. COMPAT(marathon): `host` matches the task's
 * host exactly (Corral also takes the agent's hostname), and `*` matches every host.
 */
export function appInstancesToKill(state: ClusterState, appId: string, host?: string): Instance[] {
  return [...state.instances.values()].filter((i) => {
    if (i.appId !== appId) return false;
    if (host === undefined || host === '*') return true;
    return i.host === host || state.agents.get(i.agentId)?.hostname === host;
  });
}

/**
 * The instances named by `POST /v2/tasks/delete`. COMPAT(marathon): a malformed id (not
 * `<app>.<uuid>`) is a 400; well-formed ids of unknown tasks are ignored.
 */
export function instancesByTaskIds(state: ClusterState, ids: unknown): { ok: true; instances: Instance[] } | Refused {
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
    return { ok: false, error: invalidObject([{ path: '/ids', errors: ['expected an array of task ids'] }]) };
  }
  const instances: Instance[] = [];
  for (const id of new Set(ids as string[])) {
    if (!TASK_ID.test(id)) return { ok: false, error: { code: 'ERR_SCHED_INVALID_TASK_ID', taskId: id } };
    const instance = state.instances.get(id);
    // A job run's task is stopped through its run (/v1/jobs/{id}/runs/{runId}/actions/stop).
    if (instance !== undefined && instance.run === undefined) instances.push(instance);
  }
  return { ok: true, instances };
}

const TASK_ID = /^[a-z0-9][a-z0-9._-]*\.[^.]+$/;

/** `--auth`: the writer's refusal when `apps` (as the write leaves them) run as root without its grant of run-as-root. */
function rootRefusal(state: ClusterState, context: ChangeContext, apps: readonly AppDefinition[]): Refused | undefined {
  const reason = context.writer === undefined ? undefined : rootTaskRefusal([...state.grants.values()], context.writer, apps);
  return reason === undefined ? undefined : { ok: false, error: { code: 'ERR_SCHED_FORBIDDEN', reason } };
}

function sameDefinition(a: AppDefinition, b: AppDefinition): boolean {
  const { version: _a, versionInfo: _ai, ...left } = a;
  const { version: _b, versionInfo: _bi, ...right } = b;
  return isDeepStrictEqual(left, right);
}

/** Validates one app write (or resolves a rollback) against `apps`; nothing is decided about locks yet. */
function prepareApp(
  apps: ReadonlyMap<string, AppDefinition>,
  versions: ReadonlyMap<string, AppDefinition>,
  body: unknown,
  mode: WriteMode,
  now: string,
  idFromPath?: string,
): Prepared {
  const existing = idFromPath === undefined ? undefined : apps.get(normalizePathId(idFromPath));
  if (mode !== 'create' && isObject(body) && isRollback(body)) return rollback(apps, versions, body, now, idFromPath);
  if (mode === 'patch' && existing === undefined) return { ok: false, error: appNotFound(normalizePathId(idFromPath ?? '')) };
  const merge = (mode === 'partial' || mode === 'patch') && existing !== undefined && isObject(body);
  const input = merge ? mergeForUpdate(existing, body) : body;
  const built = buildApp(input, { now, apps }, idFromPath);
  if (!built.ok) return { ok: false, error: invalidObject(built.details) };
  const previous = apps.get(built.app.id);
  if (mode === 'create' && previous !== undefined) return { ok: false, error: { code: 'ERR_SCHED_APP_EXISTS', appId: built.app.id } };
  return { ok: true, step: { previous, next: built.app, posted: true } };
}

/**
 * COMPAT(marathon): a body of only `version` (and `id`) rolls back to that stored version: the
 * old definition becomes a new version (a scale if only `instances` differs, else a new
 * configuration). A body with more fields keeps `version` as the read-only field of GET output
 * (Marathon would answer 422; Corral lets an app be PUT back as read).
 */
function isRollback(body: Record<string, unknown>): boolean {
  return 'version' in body && Object.keys(body).every((key) => key === 'version' || key === 'id');
}

function rollback(apps: ReadonlyMap<string, AppDefinition>, versions: ReadonlyMap<string, AppDefinition>, body: Record<string, unknown>, now: string, idFromPath?: string): Prepared {
  const rawId = idFromPath ?? (typeof body.id === 'string' ? body.id : '');
  const id = normalizePathId(rawId);
  if (typeof body.version !== 'string') return { ok: false, error: invalidObject([{ path: '/version', errors: ['must be a version timestamp'] }]) };
  const previous = apps.get(id);
  if (previous === undefined) return { ok: false, error: appNotFound(id) };
  const stored = versions.get(versionKey(id, body.version));
  if (stored === undefined) return { ok: false, error: { code: 'ERR_SCHED_APP_VERSION_NOT_FOUND', appId: id, version: body.version } };
  const { version: _version, versionInfo: _versionInfo, ...definition } = stored;
  // buildApp applies defaults in place: hand it a copy, never the stored object.
  const built = buildApp(structuredClone(definition), { now, apps }, id);
  if (!built.ok) return { ok: false, error: invalidObject(built.details) };
  return { ok: true, step: { previous, next: built.app, posted: true } };
}

/**
 * The ops and events of app changes deployed together: `steps` written, `removed` stopped and
 * deleted (plus `extraOps`, e.g. instance stops), all in one deployment.
 */
function deployApps(
  state: ClusterState,
  steps: readonly AppStep[],
  extraOps: readonly StateOp[],
  context: ChangeContext,
  removed: readonly AppDefinition[] = [],
): Omit<Extract<AppChange, { ok: true }>, 'app' | 'created'> | Refused {
  // Authorization first, as Marathon: a refused write is a 403 whatever deployment holds the app.
  // Decided on the definitions as written (a partial update keeps the user, a rollback brings its version's back);
  // scales and restarts keep a definition that was allowed when it was written.
  const root = rootRefusal(state, context, steps.filter((s) => s.posted).map((s) => s.next));
  if (root !== undefined) return root;
  const removedIds = removed.map((app) => app.id);
  const locks = lockCheck(state, [...steps.map((s) => s.next.id), ...removedIds], context);
  if (!locks.ok) return locks;
  // On the snapshot this transaction is computed from: two writes cannot both squeeze under a quota.
  const quota = context.ignoreQuotas === true ? { ok: true as const } : checkAppsWrite(state, steps.map((s) => s.next), removedIds);
  if (!quota.ok) return quota;
  const planned = combinedDeployment(context.deploymentId, context.now, [...removed.map((app) => ({ previous: app, next: undefined })), ...steps]);
  if (!planned.ok) return planned;
  const { deployment } = planned;
  const step = deployment.plan.steps[0] ?? { actions: [] };
  const groups = new Set([...steps.map((s) => groupOf(s.next.id)), ...removedIds.map(groupOf)]);
  return {
    ok: true,
    ops: [
      ...locks.ops,
      ...extraOps,
      ...removedIds.flatMap((id): StateOp[] => [
        { op: 'del', coll: 'apps', key: id },
        ...forgetAppVersions(state, id),
        { op: 'del', coll: 'taskFailures', key: id },
      ]),
      ...steps.flatMap(({ next }): StateOp[] => [
        { op: 'put', coll: 'apps', key: next.id, value: next },
        ...storeAppVersion(state, next, context.maxVersions ?? DEFAULT_MAX_APP_VERSIONS),
      ]),
      { op: 'put', coll: 'deployments', key: deployment.id, value: deployment },
    ],
    events: [
      ...locks.events,
      ...steps.filter((s) => s.posted).map((s): ClusterEvent => ({
        eventType: 'api_post_event', timestamp: context.now, clientIp: context.clientIp, uri: context.uri, appDefinition: appDefinitionJson(s.next),
      })),
      ...steps.flatMap((s) => healthCheckEvents(s.previous, s.next, context.now)),
      ...[...groups].map((groupId): ClusterEvent => ({ eventType: 'group_change_success', timestamp: context.now, groupId, version: context.now })),
      { eventType: 'deployment_info', timestamp: context.now, plan: deployment.plan, currentStep: step } satisfies DeploymentInfoEvent,
      ...removedIds.map((appId): ClusterEvent => ({ eventType: 'app_terminated_event', timestamp: context.now, appId })),
    ],
    deployment,
  };
}

/** COMPAT(marathon): add_/remove_health_check_event for checks an update adds or drops. */
function healthCheckEvents(previous: AppDefinition | undefined, next: AppDefinition, now: string): ClusterEvent[] {
  const before = new Set((previous?.healthChecks ?? []).map((c) => JSON.stringify(c)));
  const after = new Set(next.healthChecks.map((c) => JSON.stringify(c)));
  return [
    ...[...after].filter((c) => !before.has(c)).map((c): ClusterEvent => ({ eventType: 'add_health_check_event', timestamp: now, appId: next.id, version: next.version, healthCheck: JSON.parse(c) })),
    ...[...before].filter((c) => !after.has(c)).map((c): ClusterEvent => ({ eventType: 'remove_health_check_event', timestamp: now, appId: next.id, version: next.version, healthCheck: JSON.parse(c) })),
  ];
}

/**
 * One deployment for several app changes: stops first, then the others in dependency order
 * (independent apps share a step, as in Marathon).
 */
function combinedDeployment(
  id: string,
  version: string,
  steps: ReadonlyArray<{ previous: AppDefinition | undefined; next: AppDefinition | undefined }>,
): { ok: true; deployment: Deployment } | Refused {
  const parts = steps.map((s) => planDeployment(id, s.previous, s.next, version));
  if (parts.length === 1) return { ok: true, deployment: parts[0] as Deployment };
  const dependencies = new Map(steps.map((s) => [s.next?.id ?? '', s.next?.dependencies ?? []]));
  const ordered = orderSteps(parts.flatMap((p) => p.plan.steps.flatMap((s) => s.actions)), (appId) => dependencies.get(appId) ?? []);
  if ('cycle' in ordered) {
    return { ok: false, error: invalidObject([{ path: '/dependencies', errors: [`dependencies form a cycle: ${ordered.cycle.join(' -> ')}`] }]) };
  }
  // Fields planDeployment adds beyond these come from its first part (or an empty plan).
  const base = parts[0] ?? planDeployment(id, undefined, undefined, version);
  const merge = <T>(pick: (d: Deployment) => Record<string, T>): Record<string, T> => Object.fromEntries(parts.flatMap((p) => Object.entries(pick(p))));
  return {
    ok: true,
    deployment: {
      ...base,
      plan: { id, version, steps: ordered.steps },
      affectedApps: parts.flatMap((p) => p.affectedApps),
      currentStep: 0,
      targets: merge((d) => d.targets),
      original: merge((d) => d.original),
    },
  };
}

function prefixDetails(error: SchedulerError, prefix: string): SchedulerError {
  if (error.code !== 'ERR_SCHED_INVALID') return error;
  return invalidObject(error.details.map((d) => ({ ...d, path: `${prefix}${d.path === '/' ? '' : d.path}` })));
}

export function removeApp(state: ClusterState, rawId: string, context: ChangeContext): AppChange {
  return removeApps(state, [rawId], context);
}

/**
 * Sets several apps' instance counts in one deployment (`PUT /v2/groups/{id}` with `scaleBy`):
 * a scale, so the configuration and running instances are kept.
 */
export function scaleApps(state: ClusterState, targets: ReadonlyMap<string, number>, context: ChangeContext): AppChange {
  const steps: AppStep[] = [];
  for (const [appId, instances] of targets) {
    const previous = state.apps.get(appId);
    if (previous === undefined) return { ok: false, error: appNotFound(appId) };
    const next: AppDefinition = { ...previous, instances, version: context.now, versionInfo: { ...previous.versionInfo, lastScalingAt: context.now } };
    steps.push({ previous, next, posted: false });
  }
  const change = deployApps(state, steps, [], context);
  return change.ok ? { ...change, app: undefined, created: false } : change;
}

/** Removes several apps in one deployment (`DELETE /v2/groups/{id}`); the ops and events of `removeApp`, once per app. */
export function removeApps(state: ClusterState, rawIds: readonly string[], context: ChangeContext): AppChange {
  const ids = [...new Set(rawIds.map(normalizePathId))];
  const previous: AppDefinition[] = [];
  for (const id of ids) {
    const app = state.apps.get(id);
    if (app === undefined) return { ok: false, error: appNotFound(id) };
    previous.push(app);
  }
  const change = deployApps(state, [], [], context, previous);
  return change.ok ? { ...change, app: undefined, created: false } : change;
}

export { versionKey } from './app-versions.ts';

export function normalizePathId(raw: string): string {
  const trimmed = raw.replace(/\/+$/, '');
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** One deployment per app: a change to a held app is refused unless forced, which cancels the holder. */
function lockCheck(state: ClusterState, appIds: readonly string[], context: ChangeContext): { ok: true; ops: StateOp[]; events: ClusterEvent[] } | Refused {
  const holding = deploymentsHolding(state, appIds);
  if (holding.length === 0) return { ok: true, ops: [], events: [] };
  if (!context.force) return { ok: false, error: { code: 'ERR_SCHED_APP_LOCKED', deploymentIds: holding.map((d) => d.id) } };
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
  const { version: _version, versionInfo: _versionInfo, persistentVolumes, ...stored } = existing as AppDefinition & Record<string, unknown>;
  // Persistent volumes are stored beside the container; as written they are in it.
  const container = persistentVolumes !== undefined ? { container: appDefinitionJson(existing).container } : {};
  const merged: Record<string, unknown> = { ...stored, ...container, ...body };
  if ('args' in body) delete merged.cmd;
  if ('cmd' in body) delete merged.args;
  if ('ports' in body && !('portDefinitions' in body)) delete merged.portDefinitions;
  return merged;
}
