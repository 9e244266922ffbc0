import type { AttributeValue, PortRange, Resource } from '../../shared/agent-protocol.ts';
import { AgentError } from '../errors.ts';

const ENTRY = /^([A-Za-z_][\w.-]*)(?:\(([^()]+)\))?:(.+)$/;

/**
 * Parses Mesos' resource syntax: `cpus:4;mem:4096;ports:[31000-32000,33000-33100];disks:{a,b}`,
 * with roles as `cpus(prod):2`. Throws naming the part that is wrong: an agent must never
 * register with half of what was meant.
 */
export function parseResources(text: string): Resource[] {
  const resources: Resource[] = [];
  for (const part of text.split(';').map((p) => p.trim()).filter((p) => p !== '')) {
    const match = ENTRY.exec(part);
    if (!match) throw new AgentError('ERR_AGENT_BAD_RESOURCE', `bad resource '${part}': expected name:value or name(role):value`);
    const [, name = '', role = '*', value = ''] = match;
    const resource: Resource = { name, role: role.trim() };
    if (value.startsWith('[')) resource.ranges = parseRanges(part, value);
    else if (value.startsWith('{')) resource.set = parseSet(part, value);
    else {
      const scalar = Number(value);
      if (value.trim() === '' || !Number.isFinite(scalar) || scalar < 0) throw new AgentError('ERR_AGENT_BAD_RESOURCE', `bad resource '${part}': '${value}' is not a non-negative number`);
      resource.scalar = scalar;
    }
    if (resources.some((r) => r.name === name && r.role === resource.role)) throw new AgentError('ERR_AGENT_BAD_RESOURCE', `bad resource '${part}': ${name}(${resource.role}) is given twice`);
    resources.push(resource);
  }
  return resources;
}

function parseRanges(part: string, value: string): PortRange[] {
  if (!value.endsWith(']')) throw new AgentError('ERR_AGENT_BAD_RESOURCE', `bad resource '${part}': ranges must be written [a-b,c-d]`);
  const ranges = value.slice(1, -1).split(',').map((r) => {
    const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(r);
    const begin = Number(m?.[1]);
    const end = Number(m?.[2]);
    if (!m || begin > end || end > 65535) throw new AgentError('ERR_AGENT_BAD_RESOURCE', `bad resource '${part}': '${r}' is not a range begin-end (0-65535)`);
    return { begin, end };
  });
  const sorted = [...ranges].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i += 1) {
    if ((sorted[i]?.begin ?? 0) <= (sorted[i - 1]?.end ?? -1)) throw new AgentError('ERR_AGENT_BAD_RESOURCE', `bad resource '${part}': ranges overlap`);
  }
  return sorted;
}

function parseSet(part: string, value: string): string[] {
  if (!value.endsWith('}')) throw new AgentError('ERR_AGENT_BAD_RESOURCE', `bad resource '${part}': sets must be written {a,b}`);
  const items = value.slice(1, -1).split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new AgentError('ERR_AGENT_BAD_RESOURCE', `bad resource '${part}': empty set item`);
  return items;
}

/** Parses Mesos attributes `rack:a;zone:1`: numbers stay numbers, the rest are text. */
export function parseAttributes(text: string): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const part of text.split(';').map((p) => p.trim()).filter((p) => p !== '')) {
    const colon = part.indexOf(':');
    const name = part.slice(0, colon).trim();
    const value = part.slice(colon + 1).trim();
    if (colon <= 0 || value === '') throw new AgentError('ERR_AGENT_BAD_ATTRIBUTE', `bad attribute '${part}': expected name:value`);
    attributes[name] = /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return attributes;
}

/** What the machine has, as the agent measured it at start-up. */
export interface MachineResources {
  cores: number;
  memMiB: number;
  diskMiB: number;
}

/**
 * Fills in what `--resources` leaves out, as the Mesos agent does: cpus from the cores, mem
 * from total memory less a reserve for the system (1 GiB, or half of a small machine), disk
 * from the work dir's filesystem less a reserve (5 GiB, or half), ports 31000-32000.
 */
export function withDetectedResources(given: readonly Resource[], machine: MachineResources): Resource[] {
  const reserve = (total: number, fixed: number): number => Math.max(0, Math.floor(total >= 2 * fixed ? total - fixed : total / 2));
  const defaults: Resource[] = [
    { name: 'cpus', role: '*', scalar: machine.cores },
    { name: 'mem', role: '*', scalar: reserve(machine.memMiB, 1024) },
    { name: 'disk', role: '*', scalar: reserve(machine.diskMiB, 5 * 1024) },
    { name: 'ports', role: '*', ranges: [{ begin: 31000, end: 32000 }] },
  ];
  return [...given, ...defaults.filter((d) => !given.some((g) => g.name === d.name))];
}
