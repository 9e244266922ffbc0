import { IMAGES_CAPABILITY, PERSISTENT_VOLUMES_CAPABILITY, PRIVILEGED_CAPABILITY, type PortRange } from '../../shared/agent-protocol.ts';
import type { AgentRecord, Instance } from '../types.ts';
import { ConstraintTracker, oldestFirst, type Constraint } from './constraints.ts';

/** Instances of one app still to be placed, with what each needs. */
export interface LaunchRequest {
  appId: string;
  count: number;
  cpus: number;
  mem: number;
  disk: number;
  /** Number of host ports each instance needs. */
  portCount: number;
  /** With requirePorts: the exact host ports each instance needs. */
  fixedPorts?: number[];
  /** Port mappings' host ports, instead of portCount: 0 = any offered port, else exactly that one. */
  hostPorts?: number[];
  /** A bridge or named container network: only agents advertising its capability (networkCapability) can take it. */
  network?: { capability: string; refusal: string };
  /** Roles whose resources may be used (`*` = unreserved). */
  roles: string[];
  /** The app's placement constraints (Marathon's `[field, operator, value?]`). */
  constraints?: readonly Constraint[];
  /** Runs from an image: only agents that advertise the `images` capability can take it. */
  image?: boolean;
  /** A privileged container: only agents that advertise `privileged-containers` can take it. */
  privileged?: boolean;
  /** Resident (local persistent volumes): only agents that advertise `persistent-volumes` can take it. */
  persistentVolumes?: boolean;
}

/** What one instance holds of one scalar resource of one role. */
export interface Allocation {
  name: string;
  role: string;
  amount: number;
}

export interface Placement {
  appId: string;
  agentId: string;
  host: string;
  ports: number[];
  allocation: Allocation[];
}

export interface Unplaced {
  appId: string;
  count: number;
  /** `insufficient cpus on 1 of 3 agents, UNIQUE hostname on 2 of 3 agents` */
  reason: string;
  /**
   * Why each agent refused the last instance tried, as counts by reason (`insufficient cpus`,
   * `insufficient ports`, `UNIQUE hostname`, `MAX_PER rack:2`…); one reason per agent, so
   * the counts add up to `agentCount`. Absent when no agent was tried (none connected, backoff).
   */
  refusals?: Record<string, number>;
  /** The agents that were considered. */
  agentCount?: number;
}

export interface PlacementResult {
  placements: Placement[];
  unplaced: Unplaced[];
}

/** Where placement finds the current instances: by app (for constraints) and by agent (for what is used). */
export interface InstanceIndex {
  ofApp(appId: string): Iterable<Instance>;
  onAgent(agentId: string): Iterable<Instance>;
}

/** An index over a plain list of instances (tests, small callers). */
export function indexInstances(instances: Iterable<Instance>): InstanceIndex {
  const list = [...instances];
  return {
    ofApp: (appId) => list.filter((i) => i.appId === appId),
    onAgent: (agentId) => list.filter((i) => i.agentId === agentId),
  };
}

const SCALARS = ['cpus', 'mem', 'disk'] as const;
type Scalar = (typeof SCALARS)[number];
/** An amount per role, per scalar resource. */
type ByRole = Record<Scalar, Map<string, number>>;
const byRole = (): ByRole => ({ cpus: new Map(), mem: new Map(), disk: new Map() });
const isScalar = (name: string): name is Scalar => (SCALARS as readonly string[]).includes(name);

interface Free {
  agent: AgentRecord;
  capacity: ByRole;
  used: ByRole;
  usedPorts: Set<number>;
  perApp: Map<string, number>;
}

/**
 * Each instance is placed on the best of the first this-many agents that can take it, found
 * from a cursor that moves on round the agents (Nomad's limit iterator): so a placement costs
 * the same with 10 or 10,000 agents, and consecutive placements look at different agents.
 * Clusters up to this size, and apps that GROUP_BY (whose balance needs every group), are
 * searched whole.
 */
const CANDIDATES = 8;

/**
 * Places instances on agents that meet the app's constraints and have enough free cpus, mem,
 * disk and host ports (draining agents, given so that they are named as a reason, take none). Spreads an app across agents (least-used GROUP_BY groups first, then
 * fewest instances of that app, then most free cpus, then agent id) so that losing one agent
 * loses as few instances as possible. Deterministic: same input, same plan.
 *
 * `knownAgents` (default: `agents`) is where the constraints look up the hostname and attributes
 * of the agents that the app's current instances run on; pass every registered agent so that
 * instances on agents not offered for placement (disconnected, draining) still count.
 */
export function place(
  requests: readonly LaunchRequest[],
  agents: readonly AgentRecord[],
  instances: InstanceIndex,
  knownAgents: ReadonlyMap<string, AgentRecord> = new Map(agents.map((a) => [a.id, a])),
): PlacementResult {
  // What each agent has in use, worked out only for the agents placement looks at.
  const slots = new Map<string, Free>();
  const slotOf = (agent: AgentRecord): Free => {
    let slot = slots.get(agent.id);
    if (slot === undefined) slots.set(agent.id, (slot = usage(agent, instances.onAgent(agent.id))));
    return slot;
  };
  const placements: Placement[] = [];
  const unplaced: Unplaced[] = [];
  for (const request of requests) {
    // Oldest first, so that CLUSTER without a value pins to where the app has been longest.
    const tracker = (request.constraints?.length ?? 0) === 0
      ? undefined
      : new ConstraintTracker(request.constraints ?? [], [...instances.ofApp(request.appId)].sort(oldestFirst), knownAgents);
    let cursor = agents.length === 0 ? 0 : startOf(request.appId, agents.length);
    const enough = request.constraints?.some(([, operator]) => operator === 'GROUP_BY') === true ? Infinity : CANDIDATES;
    for (let placed = 0; placed < request.count; placed += 1) {
      const refusals = new Map<string, number>();
      const refuse = (reason: string): void => void refusals.set(reason, (refusals.get(reason) ?? 0) + 1);
      let best: { slot: Free; ports: number[]; load: number } | undefined;
      let examined = 0;
      for (let candidates = 0; examined < agents.length && candidates < enough; examined += 1) {
        const agent = agents[(cursor + examined) % agents.length] as AgentRecord;
        if (agent.draining === true) {
          refuse(DRAINING);
          continue;
        }
        if (request.image === true && agent.capabilities?.includes(IMAGES_CAPABILITY) !== true) {
          refuse(NO_IMAGE_RUNTIME);
          continue;
        }
        if (request.privileged === true && agent.capabilities?.includes(PRIVILEGED_CAPABILITY) !== true) {
          refuse(NO_PRIVILEGED);
          continue;
        }
        if (request.persistentVolumes === true && agent.capabilities?.includes(PERSISTENT_VOLUMES_CAPABILITY) !== true) {
          refuse(NO_PERSISTENT_VOLUMES);
          continue;
        }
        if (request.network !== undefined && agent.capabilities?.includes(request.network.capability) !== true) {
          refuse(request.network.refusal);
          continue;
        }
        // Constraints first: they are cheaper than a port scan and do not go away as tasks end.
        const allowed = tracker?.check(agent) ?? true;
        if (allowed !== true) {
          refuse(allowed);
          continue;
        }
        const slot = slotOf(agent);
        const fit = fits(slot, request);
        if (typeof fit === 'string') {
          refuse(fit === 'role' ? unfulfilledRole(request.roles) : `insufficient ${fit}`);
          continue;
        }
        candidates += 1;
        const load = tracker?.groupLoad(agent) ?? 0;
        if (best === undefined || load < best.load || (load === best.load && better(slot, best.slot, request))) best = { slot, ports: fit, load };
      }
      cursor = agents.length === 0 ? 0 : (cursor + examined) % agents.length;
      if (best === undefined) {
        unplaced.push({
          appId: request.appId,
          count: request.count - placed,
          reason: summarize(refusals, agents.length),
          ...(agents.length > 0 ? { refusals: Object.fromEntries(refusals), agentCount: agents.length } : {}),
        });
        break;
      }
      const { slot, ports } = best;
      tracker?.record(slot.agent);
      for (const port of ports) slot.usedPorts.add(port);
      slot.perApp.set(request.appId, (slot.perApp.get(request.appId) ?? 0) + 1);
      const allocation = SCALARS.flatMap((name) => take(slot, name, request[name], request.roles));
      charge(slot, allocation);
      placements.push({ appId: request.appId, agentId: slot.agent.id, host: slot.agent.ip, ports, allocation });
    }
  }
  return { placements, unplaced };
}

/** Where an app's search starts: different apps start at different agents. */
function startOf(appId: string, agentCount: number): number {
  let hash = 0;
  for (let i = 0; i < appId.length; i += 1) hash = (hash * 31 + appId.charCodeAt(i)) >>> 0;
  return hash % agentCount;
}

function usage(agent: AgentRecord, instances: Iterable<Instance>): Free {
  const capacity = byRole();
  for (const r of agent.resources) {
    if (r.scalar !== undefined && isScalar(r.name)) capacity[r.name].set(r.role, (capacity[r.name].get(r.role) ?? 0) + r.scalar);
  }
  const slot: Free = { agent, capacity, used: byRole(), usedPorts: new Set(), perApp: new Map() };
  // Summed apart: most instances hold unreserved resources only (no `allocation`), and this runs
  // over every instance of every agent placement looks at, each evaluation.
  let cpus = 0;
  let mem = 0;
  let disk = 0;
  for (const instance of instances) {
    for (const port of instance.ports) slot.usedPorts.add(port);
    slot.perApp.set(instance.appId, (slot.perApp.get(instance.appId) ?? 0) + 1);
    if (instance.allocation !== undefined) {
      charge(slot, instance.allocation);
      continue;
    }
    cpus += instance.cpus;
    mem += instance.mem;
    disk += instance.disk;
  }
  charge(slot, [{ name: 'cpus', role: '*', amount: cpus }, { name: 'mem', role: '*', amount: mem }, { name: 'disk', role: '*', amount: disk }]);
  return slot;
}

function charge(slot: Free, allocation: readonly Allocation[]): void {
  for (const a of allocation) if (isScalar(a.name)) slot.used[a.name].set(a.role, (slot.used[a.name].get(a.role) ?? 0) + a.amount);
}

/** Free amount of a scalar in one role. */
function freeIn(slot: Free, name: Scalar, role: string): number {
  return (slot.capacity[name].get(role) ?? 0) - (slot.used[name].get(role) ?? 0);
}

function freeScalar(slot: Free, name: Scalar, roles: readonly string[]): number {
  let sum = 0;
  for (const role of roles) sum += Math.max(0, freeIn(slot, name, role));
  // Small epsilon: 0.1 + 0.2 cpus must fit in 0.3.
  return sum + 1e-9;
}

/** Takes `amount` from the roles allowed, reserved roles first (as Mesos frameworks do), unreserved last. */
function take(slot: Free, name: Scalar, amount: number, roles: readonly string[]): Allocation[] {
  const allocation: Allocation[] = [];
  let left = amount;
  for (const role of [...roles].sort((a, b) => Number(a === '*') - Number(b === '*'))) {
    if (left <= 1e-9) break;
    const taken = Math.min(left, Math.max(0, freeIn(slot, name, role)));
    if (taken > 0) allocation.push({ name, role, amount: taken });
    left -= taken;
  }
  // Rounding leftovers (0.1 + 0.2) go to the last role tried.
  if (left > 1e-9 && allocation.length > 0) (allocation.at(-1) as Allocation).amount += left;
  return allocation.length > 0 || amount === 0 ? allocation : [{ name, role: roles[0] ?? '*', amount }];
}

/** Corral's refusal for an agent without the tools to run images (it said so when it registered). */
export const NO_IMAGE_RUNTIME = 'no image runtime (crun, skopeo, umoci)';

/** Corral's refusal for an agent that does not run privileged containers. */
export const NO_PRIVILEGED = 'privileged containers not allowed (--allow-privileged-containers)';

/** Corral's refusal for an agent too old to keep persistent volumes. */
export const NO_PERSISTENT_VOLUMES = 'no persistent volumes (agent too old)';

/** Corral's refusal for an agent in maintenance (Marathon's AgentMaintenance). */
export const DRAINING = 'agent draining';

/**
 * Corral's refusal for an agent with no resource at all in the roles the app accepts
 * (Marathon's UnfulfilledRole); one that has some, but too few, refuses for insufficient ones.
 */
export function unfulfilledRole(roles: readonly string[]): string {
  return `${UNFULFILLED_ROLE} ${roles.join(', ')}`;
}

export const UNFULFILLED_ROLE = 'no resources of role';

/** The host ports for one instance, or why the agent cannot take it (`role`, or the resource short). */
function fits(slot: Free, request: LaunchRequest): number[] | string {
  if (!slot.agent.resources.some((r) => request.roles.includes(r.role))) return 'role';
  for (const name of SCALARS) {
    if (freeScalar(slot, name, request.roles) < request[name]) return `${name}`;
  }
  if (request.portCount === 0 && request.fixedPorts === undefined && (request.hostPorts ?? []).length === 0) return [];
  const ranges = slot.agent.resources.filter((r) => r.name === 'ports' && request.roles.includes(r.role)).flatMap((r) => r.ranges ?? []);
  const inRange = (port: number): boolean => ranges.some((range) => port >= range.begin && port <= range.end);
  if (request.fixedPorts !== undefined) {
    return request.fixedPorts.every((port) => inRange(port) && !slot.usedPorts.has(port)) ? [...request.fixedPorts] : 'ports';
  }
  if (request.hostPorts !== undefined) return mappedPorts(request.hostPorts, ranges, slot.usedPorts);
  const ports: number[] = [];
  for (const range of ranges) {
    for (let port = range.begin; port <= range.end && ports.length < request.portCount; port += 1) {
      if (!slot.usedPorts.has(port)) ports.push(port);
    }
  }
  return ports.length === request.portCount ? ports : 'ports';
}

/** Port mappings' host ports: fixed ones as asked (offered and free), 0s from what is left, in mapping order. */
function mappedPorts(wanted: readonly number[], ranges: readonly PortRange[], used: ReadonlySet<number>): number[] | string {
  const fixed = new Set(wanted.filter((port) => port !== 0));
  if (fixed.size !== wanted.filter((port) => port !== 0).length) return 'ports';
  for (const port of fixed) if (used.has(port) || !ranges.some((range) => port >= range.begin && port <= range.end)) return 'ports';
  const ports: number[] = [];
  let range = 0;
  let next = ranges[0]?.begin ?? 0;
  for (const port of wanted) {
    if (port !== 0) {
      ports.push(port);
      continue;
    }
    for (; range < ranges.length; range += 1, next = ranges[range]?.begin ?? 0) {
      const current = ranges[range] as PortRange;
      next = Math.max(next, current.begin);
      while (next <= current.end && (used.has(next) || fixed.has(next))) next += 1;
      if (next <= current.end) break;
    }
    if (range >= ranges.length) return 'ports';
    ports.push(next);
    next += 1;
  }
  return ports;
}

function better(candidate: Free, current: Free, request: LaunchRequest): boolean {
  const a = candidate.perApp.get(request.appId) ?? 0;
  const b = current.perApp.get(request.appId) ?? 0;
  if (a !== b) return a < b;
  const cpusA = freeScalar(candidate, 'cpus', request.roles);
  const cpusB = freeScalar(current, 'cpus', request.roles);
  if (Math.abs(cpusA - cpusB) > 1e-6) return cpusA > cpusB;
  return candidate.agent.id < current.agent.id;
}

/** `insufficient cpus on 2 of 3 agents, UNIQUE hostname on 1 of 3 agents` (commonest first), or `no agents…`. */
function summarize(refusals: ReadonlyMap<string, number>, agentCount: number): string {
  if (agentCount === 0) return 'no agents are connected';
  return [...refusals].sort(([a, m], [b, n]) => n - m || (a < b ? -1 : 1)).map(([reason, n]) => `${reason} on ${n} of ${agentCount} agents`).join(', ');
}
