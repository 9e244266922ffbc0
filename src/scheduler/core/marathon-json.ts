import type { DiscoveryApp, DiscoveryTask, IpAddress, StatusUpdateEvent } from '../../events/types.ts';
import type { AppDefinition, Deployment, Instance } from '../types.ts';
import { instanceHealthy } from './health.ts';

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
    servicePorts: app?.portDefinitions.map((p) => p.port) ?? [],
    ipAddresses: ipAddresses(instance),
    healthCheckResults: (instance.healthResults ?? []).map((result) => ({ ...result, instanceId: instance.taskId })),
    localVolumes: [],
  };
}

export function ipAddresses(instance: Instance): IpAddress[] {
  return [{ ipAddress: instance.host, protocol: instance.host.includes(':') ? 'IPv6' : 'IPv4' }];
}

/** The definition part of Marathon's app JSON (what api_post_event carries). */
export function appDefinitionJson(app: AppDefinition): DiscoveryApp & Record<string, unknown> {
  return {
    ...app,
    ports: app.portDefinitions.map((p) => p.port),
    container: null,
    dependencies: [],
    readinessChecks: [],
    executor: '',
  };
}

export interface AppJsonOptions {
  embedTasks: boolean;
}

/** Marathon's app JSON with counts, deployments and (when embedded) tasks. */
export function appJson(
  app: AppDefinition,
  instances: readonly Instance[],
  deployments: readonly Deployment[],
  options: AppJsonOptions,
): Record<string, unknown> {
  const count = (state: string): number => instances.filter((i) => i.state === state).length;
  // Without health checks Marathon counts no task as healthy or unhealthy.
  const health = instances.map((i) => instanceHealthy(i, app));
  return {
    ...appDefinitionJson(app),
    tasksStaged: count('TASK_STAGING') + count('TASK_STARTING'),
    tasksRunning: count('TASK_RUNNING'),
    tasksHealthy: health.filter((h) => h === true).length,
    tasksUnhealthy: instances.filter((i, index) => i.state === 'TASK_RUNNING' && health[index] === false && i.healthResults !== undefined).length,
    deployments: deployments.map((d) => ({ id: d.id })),
    ...(options.embedTasks ? { tasks: instances.map((i) => taskJson(i, app)) } : {}),
  };
}

export function discoveryApp(app: AppDefinition): DiscoveryApp {
  return { id: app.id, version: app.version, labels: app.labels, portDefinitions: app.portDefinitions, healthChecks: app.healthChecks };
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

export function deploymentJson(deployment: Deployment): Record<string, unknown> {
  const step = deployment.plan.steps[deployment.currentStep];
  return {
    id: deployment.id,
    version: deployment.plan.version,
    affectedApps: deployment.affectedApps,
    affectedPods: [],
    steps: deployment.plan.steps,
    currentActions: (step?.actions ?? []).map((a) => ({ ...a, readinessCheckResults: [] })),
    currentStep: deployment.currentStep + 1,
    totalSteps: deployment.plan.steps.length,
  };
}
