import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { agentTag, bridgeNameOf, netnsNameOf } from '../../src/agent/containers/core/cni-config.ts';
import { containerIdOf } from '../../src/agent/containers/core/oci-spec.ts';

/** The bridge of an agent (by its work dir) and of its index-th container network. */
export function agentBridge(workDir: string, index?: number): string {
  return bridgeNameOf(agentTag(workDir), index);
}

/**
 * What is left on the host of a task's network: its namespace, iptables rules naming it, host-local
 * leases holding it, the agent's state of it. Empty when the agent cleaned up.
 */
export function networkLeftovers(workDir: string, taskId: string): string[] {
  const id = containerIdOf(taskId);
  const left: string[] = [];
  if (existsSync(`/run/netns/${netnsNameOf(id)}`)) left.push(`netns ${netnsNameOf(id)}`);
  for (const table of ['nat', 'filter']) {
    const rules = execFileSync('iptables-save', ['-t', table], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(id));
    left.push(...rules.map((rule) => `iptables ${table}: ${rule}`));
  }
  const ipam = join(workDir, 'cni', 'ipam');
  for (const network of existsSync(ipam) ? readdirSync(ipam) : []) {
    for (const file of readdirSync(join(ipam, network))) {
      if (!/^\d+\.\d+\.\d+\.\d+$/.test(file)) continue;
      if (execFileSync('cat', [join(ipam, network, file)], { encoding: 'utf8' }).includes(id)) left.push(`lease ${network}/${file}`);
    }
  }
  if (existsSync(join(workDir, 'cni', 'state', `${id}.json`))) left.push('agent network state');
  return left;
}

/** The veth ends attached to a bridge (one per container on it). */
export function bridgePorts(bridge: string): string[] {
  const out = execFileSync('ip', ['-o', 'link', 'show', 'master', bridge], { encoding: 'utf8' }).trim();
  return out === '' ? [] : out.split('\n');
}

/** The per-container iptables chains (CNI-DN-…, CNI-<hash>) that rules naming the task jump to, while it runs. */
export function taskChains(taskId: string): string[] {
  const id = containerIdOf(taskId);
  const chains = new Set<string>();
  for (const table of ['nat', 'filter']) {
    for (const line of execFileSync('iptables-save', ['-t', table], { encoding: 'utf8' }).split('\n')) {
      const target = / -j (CNI-[A-Za-z0-9-]+)/.exec(line)?.[1];
      if (line.includes(id) && target !== undefined && !target.startsWith('CNI-HOSTPORT-')) chains.add(`${table}:${target}`);
    }
  }
  return [...chains];
}

/** Those of `chains` (table:name) that still exist. */
export function existingChains(chains: readonly string[]): string[] {
  return chains.filter((entry) => {
    const [table = '', name = ''] = entry.split(':');
    return execFileSync('iptables-save', ['-t', table], { encoding: 'utf8' }).split('\n').some((line) => line.startsWith(`:${name} `));
  });
}
