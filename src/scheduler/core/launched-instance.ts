import type { AppDefinition, Instance } from '../types.ts';
import type { Placement } from './placement.ts';

/** The instance a placement starts for an app: TASK_STAGING, of the app's current configuration. */
export function launchedInstance(app: AppDefinition, placement: Omit<Placement, 'appId'>, taskId: string, now: string, fields: Partial<Instance> = {}): Instance {
  return {
    taskId,
    appId: app.id,
    agentId: placement.agentId,
    host: placement.host,
    ports: placement.ports,
    version: app.version,
    configVersion: app.versionInfo.lastConfigChangeAt,
    goal: 'running',
    cpus: app.cpus,
    mem: app.mem,
    disk: reservedDisk(app),
    // Only when a reserved role is in it: unreserved is what an instance without one holds, and
    // a hundred thousand instances then store, log and snapshot a fifth less.
    ...(placement.allocation.some((a) => a.role !== '*') ? { allocation: placement.allocation } : {}),
    state: 'TASK_STAGING',
    message: '',
    stagedAt: now,
    ...fields,
  };
}

/** The volumes' disk beside the task's: what placement reserves on the agent for one instance. */
export function reservedDisk(app: AppDefinition): number {
  return app.disk + (app.persistentVolumes ?? []).reduce((sum, v) => sum + v.size, 0);
}
