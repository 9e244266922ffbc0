type Json = Record<string, unknown>;

/** Scalar resources of an agent: what it offers, what its tasks hold, and what is left. */
export interface AgentUsage {
  total: Record<'cpus' | 'mem' | 'disk', number>;
  used: Record<'cpus' | 'mem' | 'disk', number>;
  free: Record<'cpus' | 'mem' | 'disk', number>;
  ports: string;
}

const SCALARS = ['cpus', 'mem', 'disk'] as const;

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
/** Sums of fractional cpus are rounded to hide float noise (0.30000000000000004). */
const round = (value: number): number => Math.round(value * 1000) / 1000;

/** Usage from an agent's Mesos-style `resources` and `used_resources` (as /master/state answers them). */
export function agentUsage(slave: Json | undefined): AgentUsage {
  const total = (slave?.resources ?? {}) as Json;
  const used = (slave?.used_resources ?? {}) as Json;
  const pick = (from: Json): Record<'cpus' | 'mem' | 'disk', number> =>
    Object.fromEntries(SCALARS.map((name) => [name, round(num(from[name]))])) as Record<'cpus' | 'mem' | 'disk', number>;
  const t = pick(total);
  const u = pick(used);
  return {
    total: t,
    used: u,
    free: Object.fromEntries(SCALARS.map((name) => [name, round(Math.max(0, t[name] - u[name]))])) as Record<'cpus' | 'mem' | 'disk', number>,
    ports: typeof total.ports === 'string' ? total.ports : '',
  };
}

/** `connected`, `disconnected`, plus `draining`: the words `agent list` shows. */
export function agentState(agent: Json): string {
  const words = [agent.connected === true ? 'connected' : 'disconnected'];
  if (agent.draining === true) words.push('draining');
  return words.join(', ');
}

/** `rack:a;zone:1`, Mesos' attribute syntax. */
export function formatAttributes(attributes: unknown): string {
  if (typeof attributes !== 'object' || attributes === null) return '';
  return Object.entries(attributes).map(([key, value]) => `${key}:${String(value)}`).join(';');
}

/** `used/total` with the unit-less numbers as the scheduler counts them. */
export function usedOfTotal(usage: AgentUsage, name: 'cpus' | 'mem' | 'disk'): string {
  return `${usage.used[name]}/${usage.total[name]}`;
}
