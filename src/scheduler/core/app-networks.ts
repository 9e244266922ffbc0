import type { AppNetwork, PortMapping, PortProtocol } from '../../events/types.ts';
import { BRIDGE_NETWORK_CAPABILITY, containerNetworkCapability, type TaskNetwork } from '../../shared/agent-protocol.ts';
import type { ValidationDetail } from '../errors.ts';
import { LIMITS } from './app-limits.ts';

/** What an app's networking comes to: its networks (absent = the host's) and, off the host network, its port mappings. */
export interface Networking {
  /** Absent: the agent's host network (Marathon's `[{mode: "host"}]`). */
  networks?: AppNetwork[];
  /** Off the host network: the ports, service ports still 0 where to be assigned. */
  portMappings?: PortMapping[];
  /** Where the mappings were posted (1.5+ `/container/portMappings` or 1.4 `/container/docker/portMappings`), for later errors. */
  portMappingsPath?: string;
}

export type NetworkingResult = { ok: true; networking: Networking } | { ok: false; details: ValidationDetail[] };

/** The fields of a posted app that say how its tasks are networked (Marathon 1.5+ and 1.4 forms). */
export interface NetworkingInput {
  networks?: ReadonlyArray<{ mode: string; name?: string }>;
  container?: Record<string, unknown> | null;
  /** Marathon 1.4's `ipAddress: {networkName}` (USER networks, and MESOS containers). */
  ipAddress?: Record<string, unknown> | null;
  portDefinitions?: readonly unknown[];
  ports?: readonly unknown[];
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isPort = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535;
const PORT_NAME = /^[a-z0-9-]+$/;
const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'udp,tcp'];
const MAPPING_FIELDS = ['containerPort', 'hostPort', 'servicePort', 'protocol', 'name', 'labels'];

/**
 * Marathon's networking rules: `networks` (1.5+) or `container.docker.network` (1.4: `HOST`,
 * `BRIDGE`, `USER` with `ipAddress.networkName`), normalised to the 1.5 form; one network; a
 * bridge or container network needs an image and takes its ports from `portMappings` (in
 * `container` or, 1.4, `container.docker`), never `portDefinitions`. Mapping defaults as
 * Marathon's: protocol tcp, servicePort 0 (assigned), hostPort 0 (any offered port) on the
 * bridge and none on a container network.
 */
export function checkNetworking(input: NetworkingInput): NetworkingResult {
  const details: ValidationDetail[] = [];
  const refuse = (path: string, error: string): void => void details.push({ path, errors: [error] });
  const container = isObject(input.container) ? input.container : undefined;
  const docker = isObject(container?.docker) ? container.docker : undefined;
  const network = resolveNetwork(input, docker, refuse);
  const mappingsRaw = pickMappings(container, docker, refuse);
  if (network === undefined) {
    if (mappingsRaw.list.length > 0) refuse(mappingsRaw.path, 'port mappings need a container/bridge or container network (networks); on the host network give ports in portDefinitions');
    return details.length > 0 ? { ok: false, details } : { ok: true, networking: {} };
  }
  if (docker === undefined || typeof docker.image !== 'string') refuse('/networks/0/mode', `a ${network.mode} network needs a container with an image (container.docker.image)`);
  if (input.portDefinitions !== undefined && input.portDefinitions.length > 0) refuse('/portDefinitions', `must be empty with a ${network.mode} network: give ports in container.portMappings`);
  if (input.ports !== undefined && input.ports.length > 0) refuse('/ports', `must be empty with a ${network.mode} network: give ports in container.portMappings`);
  const portMappings = checkMappings(mappingsRaw, network.mode === 'container/bridge', refuse);
  if (details.length > 0) return { ok: false, details };
  return { ok: true, networking: { networks: [network], portMappings, portMappingsPath: mappingsRaw.path } };
}

/** The one network the app asks for, undefined for the host's. */
function resolveNetwork(input: NetworkingInput, docker: Record<string, unknown> | undefined, refuse: (path: string, error: string) => void): AppNetwork | undefined {
  const networks = input.networks ?? [];
  if (networks.length > 1) {
    refuse('/networks', 'one network per app is supported (host, container/bridge, or one named container network)');
    return undefined;
  }
  const legacy = docker?.network;
  if (legacy !== undefined && !['HOST', 'BRIDGE', 'USER'].includes(legacy as string)) {
    refuse('/container/docker/network', `must be HOST, BRIDGE or USER (got ${JSON.stringify(legacy)})`);
    return undefined;
  }
  const networkName = isObject(input.ipAddress) && typeof input.ipAddress.networkName === 'string' && input.ipAddress.networkName !== '' ? input.ipAddress.networkName : undefined;
  let fromLegacy: AppNetwork | undefined;
  if (legacy === 'BRIDGE') fromLegacy = { mode: 'container/bridge' };
  else if (legacy === 'USER' || (legacy === undefined && networkName !== undefined)) {
    if (networkName === undefined) {
      refuse('/ipAddress/networkName', 'a USER network needs ipAddress.networkName (the container network to join)');
      return undefined;
    }
    fromLegacy = { mode: 'container', name: networkName };
  }
  const posted = networks[0];
  const fromNetworks: AppNetwork | undefined = posted === undefined || posted.mode === 'host' ? undefined
    : posted.mode === 'container/bridge' ? { mode: 'container/bridge' } : { mode: 'container', ...(posted.name !== undefined ? { name: posted.name } : {}) };
  if (posted !== undefined && legacy !== undefined && JSON.stringify(fromNetworks) !== JSON.stringify(fromLegacy)) {
    refuse('/container/docker/network', `${String(legacy)} contradicts networks[0].mode ${posted.mode}: give one of them`);
    return undefined;
  }
  const network = posted !== undefined ? fromNetworks : fromLegacy;
  if (network?.mode === 'container' && (network.name === undefined || network.name === '')) {
    refuse('/networks/0/name', 'a container network needs the name of the network to join');
    return undefined;
  }
  return network;
}

/** The posted mappings, from `container.portMappings` (1.5+) or `container.docker.portMappings` (1.4). */
function pickMappings(container: Record<string, unknown> | undefined, docker: Record<string, unknown> | undefined, refuse: (path: string, error: string) => void): { list: unknown[]; path: string } {
  const outer = container?.portMappings;
  const inner = docker?.portMappings;
  const given = (value: unknown): boolean => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
  if (given(outer) && given(inner)) refuse('/container/docker/portMappings', 'give port mappings in container.portMappings or container.docker.portMappings, not both');
  const [raw, path] = given(inner) ? [inner, '/container/docker/portMappings'] : [outer, '/container/portMappings'];
  if (raw === undefined || raw === null) return { list: [], path };
  if (!Array.isArray(raw)) {
    refuse(path, 'must be an array of port mappings');
    return { list: [], path };
  }
  if (raw.length > LIMITS.ports) refuse(path, `must have at most ${LIMITS.ports} items`);
  return { list: raw, path };
}

function checkMappings(raw: { list: unknown[]; path: string }, bridge: boolean, refuse: (path: string, error: string) => void): PortMapping[] {
  const mappings: PortMapping[] = [];
  const names = new Set<string>();
  raw.list.forEach((entry, index) => {
    const path = `${raw.path}/${index}`;
    if (!isObject(entry)) return refuse(path, 'must be {containerPort, hostPort, servicePort, protocol, name, labels}');
    const unknown = Object.keys(entry).find((key) => !MAPPING_FIELDS.includes(key));
    if (unknown !== undefined) return refuse(`${path}/${unknown}`, 'unknown field');
    const { containerPort = 0, servicePort = 0, protocol = 'tcp', name, labels } = entry;
    // COMPAT(marathon): on the bridge a mapping without hostPort takes any offered port; on a container network it has none.
    const hostPort = entry.hostPort ?? (bridge ? 0 : undefined);
    if (!isPort(containerPort)) return refuse(`${path}/containerPort`, 'must be an integer from 0 to 65535');
    if (hostPort !== undefined && !isPort(hostPort)) return refuse(`${path}/hostPort`, 'must be an integer from 0 to 65535');
    if (containerPort === 0 && hostPort === undefined) return refuse(`${path}/containerPort`, 'containerPort 0 (the host port\'s number) needs a hostPort');
    if (!isPort(servicePort)) return refuse(`${path}/servicePort`, 'must be an integer from 0 to 65535');
    if (typeof protocol !== 'string' || !PROTOCOLS.includes(protocol)) return refuse(`${path}/protocol`, 'must be tcp, udp or udp,tcp');
    if (name !== undefined && (typeof name !== 'string' || !PORT_NAME.test(name))) return refuse(`${path}/name`, 'must match ^[a-z0-9-]+$');
    if (labels !== undefined && (!isObject(labels) || Object.values(labels).some((v) => typeof v !== 'string'))) return refuse(`${path}/labels`, 'must be an object of strings');
    if (typeof name === 'string') {
      // COMPAT(marathon): its message, word for word.
      if (names.has(name)) return refuse(`${path}/name`, 'Port names must be unique.');
      names.add(name);
    }
    mappings.push({
      containerPort,
      ...(hostPort !== undefined ? { hostPort } : {}),
      servicePort,
      protocol: protocol as PortProtocol,
      ...(typeof name === 'string' ? { name } : {}),
      ...(labels !== undefined ? { labels: labels as Record<string, string> } : {}),
    });
  });
  return mappings;
}

/** The host ports placement must find for one instance: 0 = any offered port, else that one; mappings without one need none. */
export function requestedHostPorts(mappings: readonly PortMapping[]): number[] {
  return mappings.flatMap((m) => (m.hostPort === undefined ? [] : [m.hostPort]));
}

/** The agent capability an app's network needs, and placement's refusal for an agent without it. */
export function networkNeed(networks: readonly AppNetwork[]): { capability: string; refusal: string } {
  const network = networks[0];
  if (network?.mode === 'container' && network.name !== undefined) return { capability: containerNetworkCapability(network.name), refusal: `no container network ${network.name} (--container-networks)` };
  return { capability: BRIDGE_NETWORK_CAPABILITY, refusal: 'no bridge network (CNI plugins)' };
}

/**
 * What the agent needs to network an instance: the mappings in order with the host ports placed
 * (`hostPorts`, in the order of the mappings that have one); containerPort 0 is the host port's number.
 */
export function taskNetwork(networks: readonly AppNetwork[], mappings: readonly PortMapping[], hostPorts: readonly number[]): TaskNetwork {
  const network = networks[0] ?? { mode: 'container/bridge' };
  let next = 0;
  const portMappings = mappings.map((m) => {
    const hostPort = m.hostPort === undefined ? undefined : hostPorts[next++];
    return { containerPort: m.containerPort === 0 ? hostPort ?? 0 : m.containerPort, ...(hostPort !== undefined ? { hostPort } : {}), protocol: m.protocol };
  });
  return { mode: network.mode === 'container' ? 'container' : 'container/bridge', ...(network.name !== undefined ? { name: network.name } : {}), portMappings };
}
