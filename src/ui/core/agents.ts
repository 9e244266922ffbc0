import type { CorralAgent, MesosAgent } from './marathon.ts';

export interface Usage { used: number; total: number }

export interface AgentRow {
  id: string;
  hostname: string;
  endpoint?: string;
  connected: boolean;
  draining: boolean;
  attributes: Record<string, string | number>;
  cpus: Usage;
  mem: Usage;
  disk: Usage;
  ports: Usage;
  /** `web: 2 cpus, 512 MiB, 10 ports`: what each role has reserved on it. */
  roles: string[];
}

/** `[23000-23999,25000-25000]` → how many ports the ranges hold. */
export function portCount(ranges: unknown): number {
  if (typeof ranges !== 'string') return 0;
  let count = 0;
  for (const match of ranges.matchAll(/(\d+)-(\d+)/g)) count += Math.max(0, Number(match[2]) - Number(match[1]) + 1);
  return count;
}

/** A role's reservation in words: only what it holds. */
function reservation(role: string, resources: Record<string, number | string>): string {
  const parts = [
    ...(scalar(resources.cpus) > 0 ? [`${scalar(resources.cpus)} cpus`] : []),
    ...(scalar(resources.gpus) > 0 ? [`${scalar(resources.gpus)} gpus`] : []),
    ...(scalar(resources.mem) > 0 ? [`${scalar(resources.mem)} MiB`] : []),
    ...(scalar(resources.disk) > 0 ? [`${scalar(resources.disk)} MiB disk`] : []),
    ...(portCount(resources.ports) > 0 ? [`${portCount(resources.ports)} ports`] : []),
  ];
  return `${role}: ${parts.join(', ') || 'nothing'}`;
}

const scalar = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * The agents page: Mesos' `/master/slaves` (resources, what tasks use) joined with Corral's
 * agent records (draining, connected). An agent in only one of them shows what that one knows.
 */
export function agentRows(mesos: readonly MesosAgent[], corral: readonly CorralAgent[]): AgentRow[] {
  const records = new Map(corral.map((agent) => [agent.id, agent]));
  const ids = [...new Set([...mesos.map((a) => a.id), ...corral.map((a) => a.id)])];
  const byId = new Map(mesos.map((agent) => [agent.id, agent]));
  return ids.map((id) => {
    const m = byId.get(id);
    const c = records.get(id);
    const usage = (name: string): Usage => ({ used: scalar(m?.used_resources[name]), total: scalar(m?.resources[name]) });
    return {
      id,
      hostname: m?.hostname ?? c?.hostname ?? id,
      ...(c?.endpoint !== undefined ? { endpoint: c.endpoint } : {}),
      connected: c?.connected ?? m?.active ?? false,
      draining: c?.draining === true,
      attributes: m?.attributes ?? c?.attributes ?? {},
      cpus: usage('cpus'),
      mem: usage('mem'),
      disk: usage('disk'),
      ports: { used: portCount(m?.used_resources.ports), total: portCount(m?.resources.ports) },
      roles: Object.entries(m?.reserved_resources ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([role, resources]) => reservation(role, resources)),
    };
  }).sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : a.id < b.id ? -1 : 1));
}
