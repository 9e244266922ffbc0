import { createHash } from 'node:crypto';
import type { TaskNetwork } from '../../../shared/agent-protocol.ts';

/** One network the agent puts containers on: a Linux bridge of its own with an IPv4 subnet. */
export interface AgentNetwork {
  /** `bridge` for the agent's bridge (`container/bridge` apps), else the container network's name. */
  name: string;
  /** The Linux bridge (at most 15 characters: IFNAMSIZ), unique per agent. */
  bridge: string;
  subnet: string;
}

/** Linux's interface name limit (IFNAMSIZ - 1). */
const IFNAME_MAX = 15;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** A short hash of what makes this agent unique on its host (its work dir), for interface names. */
export function agentTag(workDir: string): string {
  return createHash('sha256').update(workDir).digest('hex').slice(0, 8);
}

/** `cb<tag>` for the bridge, `cn<index><tag>` for the index-th container network: unique per agent, within IFNAMSIZ. */
export function bridgeNameOf(tag: string, index?: number): string {
  return (index === undefined ? `cb${tag}` : `cn${index}${tag}`).slice(0, IFNAME_MAX);
}

/**
 * The default bridge subnet: one of the 3584 /24s of 172.18.0.0–172.31.255.0 (private, past
 * Docker's default 172.17.0.0/16) chosen by the agent's tag, so that agents on one host (tests,
 * several work dirs) hardly ever share one (bridges with one subnet would clash in the host's
 * routes); `--bridge-subnet` picks one by hand.
 */
export function defaultBridgeSubnet(tag: string): string {
  const n = parseInt(tag.slice(0, 6), 16);
  return `172.${18 + (Math.floor(n / 256) % 14)}.${n % 256}.0/24`;
}

/** An IPv4 subnet (`a.b.c.d/n`, n from 8 to 30), or why not. */
export function checkSubnet(value: string): string | undefined {
  const match = CIDR.exec(value);
  if (match === null) return `${JSON.stringify(value)} is not an IPv4 subnet (a.b.c.d/n)`;
  if (match.slice(1, 5).some((octet) => Number(octet) > 255)) return `${value}: an octet is above 255`;
  const bits = Number(match[5]);
  if (bits < 8 || bits > 30) return `${value}: the prefix must be from /8 to /30`;
  return undefined;
}

export type NetworksResult = { ok: true; networks: AgentNetwork[] } | { ok: false; reason: string };

/**
 * The agent's networks from its flags: the bridge (its subnet given or derived) and each
 * `--container-networks name=subnet`, with bridge names derived from the agent's tag.
 */
export function agentNetworks(tag: string, flags: { bridgeSubnet: string; containerNetworks: readonly string[] }): NetworksResult {
  const bridgeSubnet = flags.bridgeSubnet === '' ? defaultBridgeSubnet(tag) : flags.bridgeSubnet;
  const bad = checkSubnet(bridgeSubnet);
  if (bad !== undefined) return { ok: false, reason: `--bridge-subnet: ${bad}` };
  const networks: AgentNetwork[] = [{ name: 'bridge', bridge: bridgeNameOf(tag), subnet: bridgeSubnet }];
  for (const [index, entry] of flags.containerNetworks.entries()) {
    const at = entry.indexOf('=');
    const name = entry.slice(0, at);
    const subnet = entry.slice(at + 1);
    if (at <= 0 || !NETWORK_NAME.test(name)) return { ok: false, reason: `--container-networks: ${JSON.stringify(entry)} is not name=subnet (a name of letters, digits, _ . -)` };
    const problem = checkSubnet(subnet);
    if (problem !== undefined) return { ok: false, reason: `--container-networks: ${problem}` };
    if (networks.slice(1).some((n) => n.name === name)) return { ok: false, reason: `--container-networks: ${name} is given twice` };
    if (networks.some((n) => n.subnet === subnet)) return { ok: false, reason: `--container-networks: ${name} has the subnet ${subnet} of another network` };
    networks.push({ name, bridge: bridgeNameOf(tag, index), subnet });
  }
  return { ok: true, networks };
}

/** A container's network namespace name (`ip netns`): `corral-<id>`, hashed when the id is too long for a file name. */
export function netnsNameOf(containerId: string): string {
  return containerId.length <= 200 ? `corral-${containerId}` : `corral-${createHash('sha256').update(containerId).digest('hex')}`;
}

/** The network of this agent a task joins, by its launch. */
export function networkOfTask(networks: readonly AgentNetwork[], network: TaskNetwork): AgentNetwork | undefined {
  return network.mode === 'container/bridge' ? networks[0] : networks.slice(1).find((n) => n.name === network.name);
}

/**
 * The CNI network list of a network: `bridge` (the gateway on the host, masquerading out) with
 * `host-local` addresses (leases under `ipamDir`), then `portmap` (SNAT on, so that the agent's own
 * 127.0.0.1 reaches host ports) when the task forwards host ports.
 */
export function cniNetworkList(network: AgentNetwork, ipamDir: string, withPortmap: boolean): CniNetworkList {
  return {
    cniVersion: '1.0.0',
    name: `corral-${network.bridge}`,
    plugins: [
      {
        type: 'bridge',
        bridge: network.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: network.subnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
      },
      ...(withPortmap ? [{ type: 'portmap', snat: true, capabilities: { portMappings: true } }] : []),
    ],
  };
}

export interface CniNetworkList {
  cniVersion: string;
  name: string;
  plugins: Array<Record<string, unknown> & { type: string; capabilities?: Record<string, boolean> }>;
}

/** portmap's runtimeConfig: one entry per protocol of each mapping with a host port (`udp,tcp` gives two). */
export function portmapRuntimeConfig(network: TaskNetwork): { portMappings: Array<{ hostPort: number; containerPort: number; protocol: string }> } {
  return {
    portMappings: network.portMappings.flatMap((m) => (m.hostPort === undefined ? [] : m.protocol.split(',').map((protocol) => ({ hostPort: m.hostPort as number, containerPort: m.containerPort, protocol })))),
  };
}

/**
 * What one plugin of the list reads on stdin (libcni's rules): its own config with the list's
 * `cniVersion` and `name`, the previous plugin's result, and the runtime config of the
 * capabilities it declares.
 */
export function pluginStdin(list: CniNetworkList, index: number, runtimeConfig: Record<string, unknown>, prevResult?: unknown): string {
  const plugin = list.plugins[index];
  if (plugin === undefined) throw new RangeError(`no plugin ${index}`);
  const wanted = Object.entries(plugin.capabilities ?? {}).filter(([, on]) => on).map(([name]) => name);
  const runtime = Object.fromEntries(Object.entries(runtimeConfig).filter(([name]) => wanted.includes(name)));
  return JSON.stringify({
    ...plugin,
    cniVersion: list.cniVersion,
    name: list.name,
    ...(Object.keys(runtime).length > 0 ? { runtimeConfig: runtime } : {}),
    ...(prevResult !== undefined ? { prevResult } : {}),
  });
}

/** The environment of one plugin call (CNI's parameters are environment variables). */
export function pluginEnv(command: 'ADD' | 'DEL' | 'CHECK', containerId: string, netns: string, pluginDir: string): Record<string, string> {
  return { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: pluginDir };
}

/** The task's addresses in a CNI result (`ips[].address` is `a.b.c.d/n`). */
export function resultAddresses(result: unknown): string[] {
  const ips = (result as { ips?: Array<{ address?: unknown }> } | null)?.ips ?? [];
  return ips.map((ip) => (typeof ip.address === 'string' ? ip.address.replace(/\/\d+$/, '') : '')).filter((ip) => ip !== '');
}
