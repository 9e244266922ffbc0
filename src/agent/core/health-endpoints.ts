import type { TaskLaunch } from '../../shared/agent-protocol.ts';

/**
 * Where health checks reach the task's ports: host ports on the agent, except that on a
 * container network the ports are its mappings' (portIndex indexes them), and one without a
 * host port is the task's address and container port.
 */
export function healthEndpoints(launch: TaskLaunch, agentHost: string, ipAddresses: readonly string[] | undefined): { host: string; ports: number[]; hosts?: string[] } {
  const network = launch.container?.network;
  if (network === undefined || network.mode === 'container/bridge') return { host: agentHost, ports: launch.ports };
  const taskIp = ipAddresses?.[0] ?? agentHost;
  return {
    host: agentHost,
    ports: network.portMappings.map((m) => m.hostPort ?? m.containerPort),
    hosts: network.portMappings.map((m) => (m.hostPort === undefined ? taskIp : agentHost)),
  };
}
