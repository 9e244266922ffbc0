import type { DiscoveryApp, DiscoveryTask, PortProtocol } from '../types.ts';

/** Marathon's network modes; an app without `networks` is on the host's network. */
export type NetworkMode = 'host' | 'container/bridge' | 'container';

/**
 * One port of an app as discovery consumers index it (DNS named ports, the LB's `HAPROXY_{n}_*`):
 * from `portDefinitions` on host networking, else from `container.portMappings`.
 */
export interface AppPort {
  readonly servicePort: number;
  readonly protocol: PortProtocol;
  readonly name?: string;
  /** Container networking only: the port inside the task's network namespace. */
  readonly containerPort?: number;
  /**
   * Where the port's host port sits in `DiscoveryTask.ports`; undefined for a mapping without a
   * `hostPort` (open on the task's own IP only).
   */
  readonly hostPortIndex?: number;
}

/**
 * COMPAT(marathon-lb): the mode of the app's last network (Marathon does not mix modes), `host`
 * without any.
 */
export function networkMode(app: DiscoveryApp): NetworkMode {
  return app.networks?.at(-1)?.mode ?? 'host';
}

const ports = new WeakMap<DiscoveryApp, readonly AppPort[]>();

/**
 * The app's ports, in the order `n` of its labels: `container.portMappings` with container
 * networking (Marathon 1.5's app JSON leaves `portDefinitions` empty then), else
 * `portDefinitions`. Worked out once per app object (events replace an app only when it changes).
 */
export function appPorts(app: DiscoveryApp): readonly AppPort[] {
  let known = ports.get(app);
  if (known === undefined) {
    known = Object.freeze(portsOf(app).map((port) => Object.freeze(port)));
    ports.set(app, known);
  }
  return known;
}

function portsOf(app: DiscoveryApp): AppPort[] {
  const mappings = app.container?.portMappings ?? [];
  if (networkMode(app) === 'host' || mappings.length === 0) {
    return app.portDefinitions.map((definition, index) => ({ servicePort: definition.port, protocol: definition.protocol, ...named(definition.name), hostPortIndex: index }));
  }
  // A task's `ports` hold the host ports of the mappings that have one, in their order.
  let hostPorts = 0;
  return mappings.map((mapping) => ({
    servicePort: mapping.servicePort,
    protocol: mapping.protocol,
    ...named(mapping.name),
    containerPort: mapping.containerPort,
    ...(mapping.hostPort === undefined ? {} : { hostPortIndex: hostPorts++ }),
  }));
}

function named(name: string | undefined): { name?: string } {
  return name === undefined ? {} : { name };
}

/**
 * The task's own IPs on its container network: its `ipAddresses` other than the agent's address
 * (which is what they hold for a task on the host's network).
 */
export function ownIps(task: DiscoveryTask): string[] {
  return task.ipAddresses.map((ip) => ip.ipAddress).filter((ip) => ip !== '' && ip !== task.host);
}
