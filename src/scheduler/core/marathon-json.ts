import type { DiscoveryApp, DiscoveryTask, IpAddress, StatusUpdateEvent } from '../../events/types.ts';
import type { AppDefinition, Deployment, Instance } from '../types.ts';

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
    healthCheckResults: [],
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
  const running = count('TASK_RUNNING');
  return {
    ...appDefinitionJson(app),
    tasksStaged: count('TASK_STAGING') + count('TASK_STARTING'),
    tasksRunning: running,
    // Without health checks Marathon counts no task as healthy or unhealthy.
    tasksHealthy: 0,
    tasksUnhealthy: 0,
    deployments: deployments.map((d) => ({ id: d.id })),
    ...(options.embedTasks ? { tasks: instances.map((i) => taskJson(i, app)) } : {}),
  };
}

export function discoveryApp(app: AppDefinition): DiscoveryApp {
  return { id: app.id, version: app.version, labels: app.labels, portDefinitions: app.portDefinitions, healthChecks: app.healthChecks };
}

export function discoveryTask(instance: Instance): DiscoveryTask {
  return {
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
