import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { parseResources } from '../../src/agent/core/resources.ts';
import { buildApp } from '../../src/scheduler/core/app-definition.ts';
import { emptyState } from '../../src/scheduler/core/state-ops.ts';
import type { AgentRecord, AppDefinition, ClusterState, Instance } from '../../src/scheduler/types.ts';

export const NOW = '2026-01-01T00:00:00.000Z';

/** A stored app built through the real validation path, so fixtures cannot drift from it. */
export function app(fields: Record<string, unknown>, apps: ReadonlyMap<string, AppDefinition> = new Map()): AppDefinition {
  const result = buildApp({ cmd: 'sleep 1000', ...fields }, { now: NOW, apps });
  if (!result.ok) throw new Error(JSON.stringify(result.details));
  return result.app;
}

export function agent(id: string, resources = 'cpus:4;mem:4096;ports:[31000-31009]', ip = `10.0.0.${id.length}`): AgentRecord {
  return { id, hostname: id, ip, endpoint: '', resources: parseResources(resources), attributes: {}, registeredAt: NOW };
}

export function instance(taskId: string, appDef: AppDefinition, agentId: string, fields: Partial<Instance> = {}): Instance {
  return {
    taskId,
    appId: appDef.id,
    agentId,
    host: agentId,
    ports: [],
    version: appDef.version,
    configVersion: appDef.versionInfo.lastConfigChangeAt,
    goal: 'running',
    cpus: appDef.cpus,
    mem: appDef.mem,
    disk: appDef.disk,
    state: 'TASK_RUNNING',
    message: '',
    stagedAt: NOW,
    ...fields,
  };
}

export function state(parts: { apps?: AppDefinition[]; agents?: AgentRecord[]; instances?: Instance[] }): ClusterState {
  return {
    ...emptyState(),
    apps: new Map((parts.apps ?? []).map((a) => [a.id, a])),
    agents: new Map((parts.agents ?? []).map((a) => [a.id, a])),
    instances: new Map((parts.instances ?? []).map((i) => [i.taskId, i])),
  };
}

/** An app definition that must be refused with a detail at `path` whose errors match `error`. */
export interface RefusalCase {
  name: string;
  fields: Record<string, unknown>;
  path: string;
  error: RegExp;
}

/** One subtest per case: `build` refuses its fields, with Marathon's detail at the case's path. */
export async function assertRefusals(t: TestContext, cases: readonly RefusalCase[], build: (fields: Record<string, unknown>) => ReturnType<typeof buildApp>): Promise<void> {
  for (const c of cases) {
    await t.test(c.name, () => {
      const result = build(c.fields);
      assert.equal(result.ok, false, 'accepted');
      if (result.ok) return;
      const detail = result.details.find((d) => d.path === c.path);
      assert.ok(detail, `no detail for ${JSON.stringify(c.path)}: ${JSON.stringify(result.details).slice(0, 500)}`);
      assert.match(detail.errors.join(' '), c.error);
    });
  }
}
