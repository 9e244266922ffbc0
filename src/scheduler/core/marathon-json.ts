import type { DiscoveryAgent, DiscoveryApp, DiscoveryTask, InstanceChangedEvent, InstanceCondition, IpAddress, StatusUpdateEvent, TaskState } from '../../events/types.ts';
import type { AgentRecord, AppDefinition, ClusterState, Deployment, Instance, PersistentVolume, TaskFailure } from '../types.ts';
import { persistentVolumeJson } from './app-container.ts';
import { instanceHealthy } from './health.ts';
import { isDelayed, type LaunchDelay } from './launch-delay.ts';
import { describeConstraint, type Constraint } from './constraints.ts';
import { DRAINING, UNFULFILLED_ROLE, type Unplaced } from './placement.ts';
import { servicePortsOf } from './service-ports.ts';
import { countInstances, instancesOfApp } from './state-ops.ts';

/** Marathon's task JSON. */
export function taskJson(instance: Instance, app: AppDefinition | undefined): Record<string, unknown> {
  return {
    id: instance.taskId,
    appId: instance.appId,
    slaveId: instance.agentId,
    host: instance.host,
    state: instance.state,
    stagedAt: instance.stagedAt,
    startedAt: instance.startedAt ?? null,
    version: instance.version,
    ports: instance.ports,
    servicePorts: app === undefined ? [] : servicePortsOf(app),
    ipAddresses: ipAddresses(instance),
    healthCheckResults: (instance.healthResults ?? []).map((result) => ({ ...result, instanceId: instance.taskId })),
    localVolumes: (instance.reservation?.volumes ?? []).map((v) => ({ containerPath: v.containerPath, persistenceId: v.persistenceId })),
    role: taskRole(instance),
  };
}

/** Marathon's task `role`: the role its resources were reserved for, `*` when unreserved. */
function taskRole(instance: Instance): string {
  return instance.allocation?.find((a) => a.role !== '*')?.role ?? '*';
}

/** The task's own addresses on its bridge or container network, else its agent's. */
export function ipAddresses(instance: Instance): IpAddress[] {
  return (instance.ipAddresses ?? [instance.host]).map((ip) => ({ ipAddress: ip, protocol: ip.includes(':') ? 'IPv6' : 'IPv4' }));
}

/** Marathon's readinessCheckResults: one per instance and check that has been probed. */
function readinessCheckResults(instances: readonly Instance[]): Array<Record<string, unknown>> {
  return instances.flatMap((i) => (i.readinessResults ?? []).map((r) => ({ ...r, taskId: i.taskId })));
}

/** The definition part of Marathon's app JSON (what api_post_event carries). */
export function appDefinitionJson(app: AppDefinition): DiscoveryApp & Record<string, unknown> {
  const { persistentVolumes, ...rest } = app;
  return {
    ...rest,
    ports: servicePortsOf(app),
    container: persistentVolumes === undefined ? app.container ?? null : residentContainerJson(app.container, persistentVolumes),
    // COMPAT(marathon): a resident app shows its residency; its instances wait for their agent for ever.
    ...(persistentVolumes !== undefined ? { residency: { relaunchEscalationTimeoutSeconds: 3600, taskLostBehavior: 'WAIT_FOREVER' } } : {}),
    // COMPAT(marathon): 1.5's shape, which marathon-lb reads: the host network is written out.
    networks: app.networks ?? [{ mode: 'host' }],
    dependencies: app.dependencies ?? [],
    readinessChecks: app.readinessChecks ?? [],
    executor: '',
  };
}

/** The container of a resident app as Marathon shows it: the persistent volumes in `volumes` (a MESOS container for a process app). */
function residentContainerJson(container: AppDefinition['container'], volumes: readonly PersistentVolume[]): Record<string, unknown> {
  const persistent = volumes.map(persistentVolumeJson);
  return container === undefined ? { type: 'MESOS', volumes: persistent } : { ...container, volumes: [...container.volumes, ...persistent] };
}

/** What `embed=` may add to Marathon's app JSON (counts and deployments are always there). */
export type AppEmbed = 'tasks' | 'lastTaskFailure' | 'taskStats' | 'readiness';

/**
 * Resolves Marathon's `embed` query values. COMPAT(marathon): the prefixes `apps.`, `app.` and
 * `group.apps.` are interchangeable (or absent); `failures` is the deprecated tasks +
 * lastTaskFailure; `counts` and `deployments` are accepted and always embedded; unknown values
 * are ignored, as Marathon only logs them.
 */
export function resolveAppEmbeds(values: readonly string[]): Set<AppEmbed> {
  const embeds = new Set<AppEmbed>();
  for (const value of values) {
    const name = value.replace(/^(group\.apps\.|apps\.|app\.)/, '');
    if (name === 'tasks' || name === 'lastTaskFailure' || name === 'taskStats' || name === 'readiness') embeds.add(name);
    if (name === 'failures') {
      embeds.add('tasks');
      embeds.add('lastTaskFailure');
    }
  }
  return embeds;
}

export interface AppJsonOptions {
  embedTasks: boolean;
  /** The app's last task failure; the key is written only when given (Marathon omits it when there is none). */
  lastTaskFailure?: TaskFailure | undefined;
  embedLastTaskFailure?: boolean;
  /** Epoch ms to measure task lifetimes at; `taskStats` is embedded when given. */
  taskStatsAt?: number;
  embedReadiness?: boolean;
}

/** Marathon's staged/running/healthy/unhealthy counts of an app. */
export interface TaskCounts {
  staged: number;
  running: number;
  healthy: number;
  unhealthy: number;
}

/** An app's instances as `appJson` reads them: the counts always, the list only for an embed that shows it. */
export interface AppInstances {
  counts: TaskCounts;
  list: () => readonly Instance[];
}

/** From the state: counts from its tallies, unless health checks need every instance looked at. */
export function appInstances(state: ClusterState, app: AppDefinition): AppInstances {
  const list = (): Instance[] => instancesOfApp(state, app.id);
  if (app.healthChecks.length > 0) return { counts: taskCounts(app, list()), list };
  const inState = (taskState: TaskState): number => countInstances(state, app.id, `state:${taskState}`);
  return { counts: { staged: inState('TASK_STAGING') + inState('TASK_STARTING'), running: inState('TASK_RUNNING'), healthy: 0, unhealthy: 0 }, list };
}

/** Marathon's app JSON with counts, deployments and what `options` embeds. */
export function appJson(
  app: AppDefinition,
  source: AppInstances,
  deployments: readonly Deployment[],
  options: AppJsonOptions,
): Record<string, unknown> {
  const { counts } = source;
  const instances = options.embedTasks || options.embedReadiness === true || options.taskStatsAt !== undefined ? source.list() : [];
  return {
    ...appDefinitionJson(app),
    tasksStaged: counts.staged,
    tasksRunning: counts.running,
    tasksHealthy: counts.healthy,
    tasksUnhealthy: counts.unhealthy,
    deployments: deployments.map((d) => ({ id: d.id })),
    ...(options.embedReadiness === true ? { readinessCheckResults: readinessCheckResults(instances) } : {}),
    ...(options.embedTasks ? { tasks: instances.map((i) => taskJson(i, app)) } : {}),
    ...(options.embedLastTaskFailure === true && options.lastTaskFailure !== undefined ? { lastTaskFailure: taskFailureJson(options.lastTaskFailure) } : {}),
    ...(options.taskStatsAt !== undefined ? { taskStats: taskStatsJson(app, instances, options.taskStatsAt) } : {}),
  };
}

/** Marathon's staged/running/healthy/unhealthy counts. */
function taskCounts(app: AppDefinition, instances: readonly Instance[]): TaskCounts {
  const count = (state: string): number => instances.filter((i) => i.state === state).length;
  // Without health checks Marathon counts no task as healthy or unhealthy.
  const health = instances.map((i) => instanceHealthy(i, app));
  return {
    staged: count('TASK_STAGING') + count('TASK_STARTING'),
    running: count('TASK_RUNNING'),
    healthy: health.filter((h) => h === true).length,
    unhealthy: instances.filter((i, index) => i.state === 'TASK_RUNNING' && health[index] === false && i.healthResults !== undefined).length,
  };
}

export function taskFailureJson(failure: TaskFailure): Record<string, unknown> {
  return {
    appId: failure.appId,
    host: failure.host,
    message: failure.message,
    state: failure.state,
    taskId: failure.taskId,
    timestamp: failure.timestamp,
    version: failure.version,
    slaveId: failure.slaveId,
  };
}

/**
 * Marathon's `taskStats`: counts and lifetimes of the tasks launched since the last scaling,
 * with the latest configuration, with an outdated one, and of all. A group without tasks is left
 * out, and so is `lifeTime` when none of its tasks has started (as Marathon does).
 */
export function taskStatsJson(app: AppDefinition, instances: readonly Instance[], nowMs: number): Record<string, unknown> {
  const stats = (group: readonly Instance[]): Record<string, unknown> | undefined => {
    if (group.length === 0) return undefined;
    const lifeTimes = group
      .filter((i) => i.startedAt !== undefined)
      .map((i) => Math.max(0, (nowMs - Date.parse(i.startedAt as string)) / 1000))
      .sort((a, b) => a - b);
    const middle = Math.floor(lifeTimes.length / 2);
    const median = lifeTimes.length % 2 === 1 ? (lifeTimes[middle] as number) : ((lifeTimes[middle - 1] ?? 0) + (lifeTimes[middle] ?? 0)) / 2;
    return {
      stats: {
        counts: taskCounts(app, group),
        ...(lifeTimes.length > 0 ? { lifeTime: { averageSeconds: lifeTimes.reduce((a, b) => a + b, 0) / lifeTimes.length, medianSeconds: median } } : {}),
      },
    };
  };
  // COMPAT(marathon): grouped by the app version each task was launched from.
  const at = (i: Instance): number => Date.parse(i.version);
  const scaledAt = Date.parse(app.versionInfo.lastScalingAt);
  const configAt = Date.parse(app.versionInfo.lastConfigChangeAt);
  const groups: Array<[string, Record<string, unknown> | undefined]> = [
    ['startedAfterLastScaling', stats(instances.filter((i) => at(i) >= scaledAt))],
    ['withLatestConfig', stats(instances.filter((i) => at(i) >= configAt))],
    ['withOutdatedConfig', stats(instances.filter((i) => at(i) < configAt))],
    ['totalSummary', stats(instances)],
  ];
  return Object.fromEntries(groups.filter((g) => g[1] !== undefined));
}

/** One entry of `GET /v2/queue`: an app with instances waiting to be launched. */
export interface QueueEntry {
  app: AppDefinition;
  count: number;
  /** Corral: why they wait, in plain words (placement's or the backoff's reason). */
  reasons: string[];
  /** Agents refused, by reason, at the last placement attempt; and how many agents were tried. */
  refusals: Record<string, number>;
  agentCount: number;
  delay: LaunchDelay | undefined;
}

/**
 * Marathon's launch queue from the last evaluation's unplaced instances: one entry per app
 * still defined. Apps that wait only for their backoff are among the unplaced as well.
 */
export function launchQueue(apps: ReadonlyMap<string, AppDefinition>, unplaced: readonly Unplaced[], delays: ReadonlyMap<string, LaunchDelay>): QueueEntry[] {
  const entries = new Map<string, QueueEntry>();
  for (const u of unplaced) {
    const app = apps.get(u.appId);
    if (app === undefined || u.count <= 0) continue;
    const entry = entries.get(u.appId) ?? { app, count: 0, reasons: [], refusals: {}, agentCount: 0, delay: delays.get(u.appId) };
    entry.count += u.count;
    for (const [reason, agents] of Object.entries(u.refusals ?? {})) entry.refusals[reason] = Math.max(entry.refusals[reason] ?? 0, agents);
    entry.agentCount = Math.max(entry.agentCount, u.agentCount ?? 0);
    if (!entry.reasons.includes(u.reason)) entry.reasons.push(u.reason);
    entries.set(u.appId, entry);
  }
  return [...entries.values()].sort((a, b) => a.app.id.localeCompare(b.app.id));
}

/** Marathon's queue entry JSON plus Corral's `reason`. */
export function queueEntryJson(entry: QueueEntry, lastFailure: TaskFailure | undefined, nowMs: number): Record<string, unknown> {
  const { app, delay } = entry;
  const delayed = isDelayed(delay, app, nowMs) && delay !== undefined;
  // Corral does not record when instances were queued: the latest of the app's last change, its
  // last task failure and the start of its backoff is when they began to wait.
  const since = [app.version, lastFailure?.timestamp, delayed ? new Date(delay.until - delay.delayMs).toISOString() : undefined]
    .filter((t): t is string => t !== undefined)
    .reduce((a, b) => (Date.parse(a) >= Date.parse(b) ? a : b));
  return {
    app: appDefinitionJson(app),
    count: entry.count,
    delay: delayed
      ? { timeLeftSeconds: Math.floor((delay.until - nowMs) / 1000), overdue: false }
      : { timeLeftSeconds: 0, overdue: true },
    since,
    reason: entry.reasons.join('; '),
    refusals: refusalsJson(entry),
    processedOffersSummary: offersSummary(entry),
  };
}

/**
 * Corral's: the agents refused at the last placement, by reason in its words, most first; a
 * constraint's reason names it (the web UI's Debug shows which constraint failed on how many
 * agents, which Marathon's `UnfulfilledConstraint` count does not tell).
 */
function refusalsJson(entry: QueueEntry): Array<{ reason: string; agents: number; constraint?: Constraint }> {
  const constraints = new Map((entry.app.constraints ?? []).map((c) => [describeConstraint(c), c] as const));
  return Object.entries(entry.refusals)
    .sort(([a, m], [b, n]) => n - m || (a < b ? -1 : 1))
    .map(([reason, agents]) => {
      const constraint = constraints.get(reason);
      return { reason, agents, ...(constraint === undefined ? {} : { constraint }) };
    });
}

/** Marathon's reject reasons for Corral's refusal reasons. */
function rejectReason(refusal: string): string {
  const named: Record<string, string> = {
    'insufficient cpus': 'InsufficientCpus',
    'insufficient mem': 'InsufficientMemory',
    'insufficient disk': 'InsufficientDisk',
    'insufficient ports': 'InsufficientPorts',
  };
  if (refusal === DRAINING) return 'AgentMaintenance';
  if (refusal.startsWith(UNFULFILLED_ROLE)) return 'UnfulfilledRole';
  return named[refusal] ?? 'UnfulfilledConstraint';
}

/**
 * COMPAT(marathon): `processedOffersSummary` with one "offer" per agent tried at the last
 * placement, so tools that read it show why an app is waiting; `rejectSummaryLastOffers` counts
 * the agents refused per reason (Corral's own words are in `reason`).
 */
function offersSummary(entry: QueueEntry): Record<string, unknown> {
  const declined = new Map<string, number>();
  for (const [refusal, agents] of Object.entries(entry.refusals)) declined.set(rejectReason(refusal), (declined.get(rejectReason(refusal)) ?? 0) + agents);
  return {
    processedOffersCount: entry.agentCount,
    unusedOffersCount: entry.agentCount,
    rejectSummaryLastOffers: [...declined].map(([reason, count]) => ({ reason, declined: count, processed: entry.agentCount })),
  };
}

export function discoveryApp(app: AppDefinition): DiscoveryApp {
  return {
    id: app.id, version: app.version, labels: app.labels, portDefinitions: app.portDefinitions, healthChecks: app.healthChecks,
    ...(app.networks !== undefined ? { networks: app.networks, container: { portMappings: app.container?.portMappings ?? [] } } : {}),
  };
}

/** An agent as the discovery snapshot and `agent_added_event` carry it; the port is its endpoint's (Mesos' agent port). */
export function discoveryAgent(agent: AgentRecord): DiscoveryAgent {
  const port = endpointPort(agent.endpoint);
  return { id: agent.id, hostname: agent.hostname, ip: agent.ip, ...(port === undefined ? {} : { port }) };
}

function endpointPort(endpoint: string): number | undefined {
  if (!URL.canParse(endpoint)) return undefined;
  const port = new URL(endpoint).port;
  return port === '' ? undefined : Number(port);
}

export function discoveryTask(instance: Instance, app: AppDefinition | undefined): DiscoveryTask {
  const healthy = instanceHealthy(instance, app);
  return {
    ...(healthy !== undefined ? { healthy } : {}),
    id: instance.taskId,
    appId: instance.appId,
    slaveId: instance.agentId,
    host: instance.host,
    ipAddresses: ipAddresses(instance),
    ports: instance.ports,
    state: instance.state,
    version: instance.version,
    ...(instance.startedAt !== undefined ? { startedAt: instance.startedAt } : {}),
  };
}

export function statusUpdateEvent(instance: Instance, timestamp: string): StatusUpdateEvent {
  return {
    eventType: 'status_update_event',
    timestamp,
    slaveId: instance.agentId,
    taskId: instance.taskId,
    taskStatus: instance.state,
    message: instance.message,
    appId: instance.appId,
    host: instance.host,
    ipAddresses: ipAddresses(instance),
    ports: instance.ports,
    version: instance.version,
  };
}

/**
 * Marathon's deployment JSON. Each current action carries the readiness results of its app's
 * instances of the configuration being deployed (Marathon's readinessCheckResults).
 */
export function deploymentJson(deployment: Deployment, state: ClusterState): Record<string, unknown> {
  const step = deployment.plan.steps[deployment.currentStep];
  const deploying = (appId: string): Instance[] => {
    const app = state.apps.get(appId);
    if (app === undefined || (app.readinessChecks ?? []).length === 0) return [];
    return instancesOfApp(state, appId).filter((i) => i.goal === 'running' && i.configVersion === app.versionInfo.lastConfigChangeAt);
  };
  return {
    id: deployment.id,
    version: deployment.plan.version,
    affectedApps: deployment.affectedApps,
    affectedPods: [],
    steps: deployment.plan.steps,
    currentActions: (step?.actions ?? []).map((a) => ({ ...a, readinessCheckResults: readinessCheckResults(deploying(a.app)) })),
    currentStep: deployment.currentStep + 1,
    totalSteps: deployment.plan.steps.length,
  };
}

const CONDITIONS: Record<string, InstanceCondition> = {
  TASK_STAGING: 'Staging', TASK_STARTING: 'Starting', TASK_RUNNING: 'Running', TASK_FINISHED: 'Finished', TASK_FAILED: 'Failed',
  TASK_KILLING: 'Killing', TASK_KILLED: 'Killed', TASK_UNREACHABLE: 'Unreachable', TASK_GONE: 'Gone', TASK_LOST: 'Unknown',
};

/** Marathon 1.4+'s instance-level companion of status_update_event. */
export function instanceChangedEvent(instance: Instance, timestamp: string): InstanceChangedEvent {
  return {
    eventType: 'instance_changed_event',
    timestamp,
    id: instance.taskId,
    condition: CONDITIONS[instance.state] ?? 'Unknown',
    runSpecId: instance.appId,
    agentId: instance.agentId,
    host: instance.host,
    runSpecVersion: instance.version,
    goal: instance.goal === 'running' ? 'Running' : 'Stopped',
  };
}

/** The group an app belongs to: `/shop/web` → `/shop`, `/web` → `/`. */
export function groupOf(appId: string): string {
  return appId.slice(0, appId.lastIndexOf('/')) || '/';
}
