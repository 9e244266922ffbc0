import type { DiscoveryTask } from '../../events/types.ts';
import { ipFamily } from './ip.ts';

/**
 * Mesos-DNS' `IPSources`: where an instance's A/AAAA records come from, first populated source
 * first. `netinfo` is the task's NetworkInfo (`ipAddresses`: its own IPs on a container network,
 * the agent's on the host's); `host` the agent's address. `mesos` and `docker` read status labels
 * the old containerizers set (deprecated in Mesos-DNS): Corral's agent sets none, so they give no
 * address and are accepted only so Mesos-DNS configurations carry over.
 */
export const IP_SOURCES = ['netinfo', 'mesos', 'docker', 'host'] as const;

export type IpSource = (typeof IP_SOURCES)[number];

/** COMPAT(mesos-dns): its default order (its sample config leaves `netinfo` out; its code does not). */
export const DEFAULT_IP_SOURCES: readonly IpSource[] = Object.freeze(['netinfo', 'mesos', 'host']);

/** The instance's addresses: the IP literals of the first source that has any. */
export function instanceAddresses(task: DiscoveryTask, sources: readonly IpSource[]): string[] {
  for (const source of sources) {
    const ips = addressesFrom(task, source).filter((ip) => ipFamily(ip) !== undefined);
    if (ips.length > 0) return ips;
  }
  return [];
}

function addressesFrom(task: DiscoveryTask, source: IpSource): string[] {
  switch (source) {
    case 'netinfo':
      return task.ipAddresses.map((ip) => ip.ipAddress);
    case 'host':
      return [task.host];
    case 'mesos':
    case 'docker':
      return [];
  }
}

/** `--ip-sources`: Mesos-DNS' rules (known names, none twice, at least one). */
export function parseIpSources(text: string): IpSource[] {
  const names = text.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  if (names.length === 0) throw new Error(`expected at least one of ${IP_SOURCES.join(', ')}`);
  const sources: IpSource[] = [];
  for (const name of names) {
    const source = IP_SOURCES.find((known) => known === name);
    if (source === undefined) throw new Error(`'${name}' is not an IP source (${IP_SOURCES.join(', ')})`);
    if (sources.includes(source)) throw new Error(`'${name}' is given twice`);
    sources.push(source);
  }
  return sources;
}
