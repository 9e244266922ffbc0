import type { AppDefinition, ClusterState, Instance, ReadinessCheck, ReadinessResult } from '../types.ts';
import { instanceHealthy } from './health.ts';
import { instancesOfApp } from './state-ops.ts';

/** One readiness check of one instance still to pass, and where to ask. */
export interface ReadinessProbe {
  taskId: string;
  index: number;
  check: ReadinessCheck;
  url: string;
}

/**
 * The readiness checks to make now: of every instance that runs the app's current configuration,
 * is wanted running and healthy (where checked), the checks that have not passed yet. Marathon
 * asks only once health allows, and never again after a pass.
 */
export function pendingReadiness(state: ClusterState): ReadinessProbe[] {
  const probes: ReadinessProbe[] = [];
  for (const app of state.apps.values()) {
    const checks = app.readinessChecks ?? [];
    if (checks.length === 0) continue;
    for (const instance of instancesOfApp(state, app.id)) {
      if (instance.goal !== 'running' || instance.state !== 'TASK_RUNNING' || instanceHealthy(instance, app) === false) continue;
      if (instance.configVersion !== app.versionInfo.lastConfigChangeAt) continue;
      checks.forEach((check, index) => {
        if (instance.readinessResults?.[index]?.ready === true) return;
        const target = readinessTarget(instance, app, check.portName);
        if (target === undefined) return;
        const host = target.host.includes(':') ? `[${target.host}]` : target.host;
        probes.push({ taskId: instance.taskId, index, check, url: `${check.protocol.toLowerCase()}://${host}:${target.port}${check.path}` });
      });
    }
  }
  return probes;
}

/** Where the named port is reached: its host port on the agent, or (a container network's port without one) the task's IP and container port. */
function readinessTarget(instance: Instance, app: AppDefinition, portName: string): { host: string; port: number } | undefined {
  const mappings = app.container?.portMappings;
  if (mappings === undefined) {
    const port = instance.ports[app.portDefinitions.findIndex((p) => p.name === portName)];
    return port === undefined ? undefined : { host: instance.host, port };
  }
  const mapping = mappings.find((m) => m.name === portName);
  if (mapping === undefined) return undefined;
  if (mapping.hostPort === undefined) {
    const ip = instance.ipAddresses?.[0];
    return ip === undefined ? undefined : { host: ip, port: mapping.containerPort };
  }
  const port = instance.ports[mappings.filter((m) => m.hostPort !== undefined).indexOf(mapping)];
  return port === undefined ? undefined : { host: instance.host, port };
}

/** The instance with one check's new result; the same instance when nothing worth storing changed. */
export function withReadinessResult(instance: Instance, app: AppDefinition, index: number, result: ReadinessResult): Instance {
  const checks = app.readinessChecks ?? [];
  if (index >= checks.length) return instance;
  const previous = instance.readinessResults?.[index];
  if (previous?.ready === true) return instance;
  if (previous !== undefined && !result.ready && JSON.stringify(previous.lastResponse) === JSON.stringify(result.lastResponse)) return instance;
  const results = checks.map((check, i): ReadinessResult => instance.readinessResults?.[i] ?? { name: check.name, ready: false });
  results[index] = result;
  return { ...instance, readinessResults: results };
}
