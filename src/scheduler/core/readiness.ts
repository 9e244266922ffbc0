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
        const port = instance.ports[app.portDefinitions.findIndex((p) => p.name === check.portName)];
        if (port === undefined) return;
        const host = instance.host.includes(':') ? `[${instance.host}]` : instance.host;
        probes.push({ taskId: instance.taskId, index, check, url: `${check.protocol.toLowerCase()}://${host}:${port}${check.path}` });
      });
    }
  }
  return probes;
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
