import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BRIDGE_NETWORK_CAPABILITY, containerNetworkCapability, type TaskNetwork } from '../../shared/agent-protocol.ts';
import { AgentError } from '../errors.ts';
import { agentNetworks, agentTag, cniNetworkList, netnsNameOf, networkOfTask, pluginEnv, pluginStdin, portmapRuntimeConfig, resultAddresses, type AgentNetwork, type CniNetworkList } from './core/cni-config.ts';
import { containerIdOf, taskIdOfContainer } from './core/oci-spec.ts';

const run = promisify(execFile);

/** The CNI plugins the agent calls (Debian's containernetworking-plugins). */
const PLUGINS = ['bridge', 'host-local', 'portmap'];
/** A plugin hung on a lock or a stuck netlink call must not hold a launch, or a task's cleanup, forever. */
const DEFAULT_TIMEOUT_MS = 60_000;

export interface ContainerNetworksOptions {
  workDir: string;
  /** `--cni-plugin-dir` (Debian: /usr/lib/cni). */
  pluginDir: string;
  /** `--bridge-subnet`; empty: derived from the work dir (core/cni-config.ts). */
  bridgeSubnet: string;
  /** `--container-networks` entries, `name=subnet`. */
  containerNetworks: readonly string[];
  uid: number;
  /** How long one plugin or `ip` call may take before it is killed and the step fails (default 60 s). */
  pluginTimeoutMs?: number;
}

/** What is kept per container while it is attached: enough to detach it after an agent crash. */
interface AttachState {
  netns: string;
  list: CniNetworkList;
  runtimeConfig: Record<string, unknown>;
  /** Each plugin's ADD result, in order (the next one's prevResult; DEL's too). */
  results: unknown[];
}

export type DetectedNetworks = { ok: true; networks: ContainerNetworks } | { ok: false; reason: string };

/**
 * A network namespace per container task, wired by CNI plugins as Mesos' network/cni isolator
 * does: a named namespace (`ip netns`, `corral-<container id>`), the `bridge` plugin on the
 * agent's bridge or a container network's (addresses from `host-local`, leases under
 * `<work-dir>/cni/ipam`) and `portmap` for host ports. What was attached is written to
 * `<work-dir>/cni/state` first, so that a detach (task end, or the sweep after an agent crash)
 * undoes it: DEL in reverse order (veth, iptables chains, lease), then the namespace.
 */
export class ContainerNetworks {
  readonly #pluginDir: string;
  readonly #ip: string;
  readonly #stateDir: string;
  readonly #ipamDir: string;
  readonly #timeoutMs: number;
  readonly networks: readonly AgentNetwork[];

  private constructor(pluginDir: string, ip: string, dir: string, networks: readonly AgentNetwork[], timeoutMs: number) {
    this.#pluginDir = pluginDir;
    this.#timeoutMs = timeoutMs;
    this.#ip = ip;
    this.#stateDir = join(dir, 'state');
    this.#ipamDir = join(dir, 'ipam');
    this.networks = networks;
  }

  /** The networks when the plugins, ip and iptables are there and the agent is root; otherwise why not. */
  static async detect(options: ContainerNetworksOptions): Promise<DetectedNetworks> {
    if (options.uid !== 0) return { ok: false, reason: 'the agent is not running as root' };
    const missing = PLUGINS.filter((name) => !existsSync(join(options.pluginDir, name)));
    if (missing.length > 0) return { ok: false, reason: `CNI plugins ${missing.join(', ')} not found in ${options.pluginDir} (apt-get install containernetworking-plugins, or --cni-plugin-dir)` };
    const ip = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((path) => existsSync(path));
    if (ip === undefined) return { ok: false, reason: 'ip not found (apt-get install iproute2)' };
    if (!['/usr/sbin/iptables', '/sbin/iptables'].some((path) => existsSync(path))) return { ok: false, reason: 'iptables not found (apt-get install iptables)' };
    const networks = agentNetworks(agentTag(options.workDir), options);
    if (!networks.ok) return { ok: false, reason: networks.reason };
    const dir = join(options.workDir, 'cni');
    await mkdir(join(dir, 'state'), { recursive: true });
    await mkdir(join(dir, 'ipam'), { recursive: true });
    return { ok: true, networks: new ContainerNetworks(options.pluginDir, ip, dir, networks.networks, options.pluginTimeoutMs ?? DEFAULT_TIMEOUT_MS) };
  }

  /** What the agent advertises: the bridge and each container network. */
  capabilities(): string[] {
    return this.networks.map((n, index) => (index === 0 ? BRIDGE_NETWORK_CAPABILITY : containerNetworkCapability(n.name)));
  }

  /** Makes the task's namespace and wires it; returns its path and the task's addresses. A failure undoes what was done. */
  async attach(taskId: string, network: TaskNetwork): Promise<{ netns: string; ipAddresses: string[] }> {
    const target = networkOfTask(this.networks, network);
    if (target === undefined) throw new AgentError('ERR_AGENT_IMAGE', `this agent has no container network ${network.name ?? ''} (--container-networks)`);
    const id = containerIdOf(taskId);
    const runtimeConfig = portmapRuntimeConfig(network);
    const state: AttachState = { netns: netnsPath(id), list: cniNetworkList(target, this.#ipamDir, runtimeConfig.portMappings.length > 0), runtimeConfig, results: [] };
    // Written before anything exists, so a crash midway leaves what the sweep needs to undo it.
    await this.#save(id, state);
    try {
      await this.#ipCommand(['netns', 'add', netnsNameOf(id)]);
      await this.#ipCommand(['-n', netnsNameOf(id), 'link', 'set', 'lo', 'up']);
      let previous: unknown;
      for (const [index, plugin] of state.list.plugins.entries()) {
        previous = await this.#plugin(plugin.type, 'ADD', id, state.netns, pluginStdin(state.list, index, runtimeConfig, previous));
        state.results.push(previous);
        await this.#save(id, state);
      }
      return { netns: state.netns, ipAddresses: resultAddresses(previous) };
    } catch (err) {
      await this.detach(taskId);
      throw new AgentError('ERR_AGENT_IMAGE', `Failed to set up the ${target.name} network: ${(err as Error).message}`);
    }
  }

  /** Undoes attach (best effort, every step): DEL through the plugins in reverse, then the namespace and the state. */
  async detach(taskId: string): Promise<void> {
    const id = containerIdOf(taskId);
    const state = await this.#load(id);
    // Saved before the namespace is made: without it there is nothing of this task's to undo.
    if (state === undefined) return;
    for (let index = state.list.plugins.length - 1; index >= 0; index -= 1) {
      const plugin = state.list.plugins[index];
      if (plugin === undefined) continue;
      // The last result is the chain's; DEL gets it as libcni gives it.
      await this.#plugin(plugin.type, 'DEL', id, state.netns, pluginStdin(state.list, index, state.runtimeConfig, state.results.at(-1))).catch(() => undefined);
    }
    await this.#ipCommand(['netns', 'delete', netnsNameOf(id)]).catch(() => undefined);
    await rm(join(this.#stateDir, `${id}.json`), { force: true });
  }

  /** Removes this agent's bridges once no container is attached (the bridge plugin made them; nothing else does away with them). */
  async removeBridges(): Promise<void> {
    if ((await this.list()).length > 0) return;
    for (const network of this.networks) await this.#ipCommand(['link', 'delete', network.bridge, 'type', 'bridge']).catch(() => undefined);
  }

  /** The addresses a task got (kept in its state), for an adopted task's health checks. */
  async addresses(taskId: string): Promise<string[]> {
    const state = await this.#load(containerIdOf(taskId));
    return resultAddresses(state?.results.at(-1));
  }

  /** The task ids with a network attached (or half attached). */
  async list(): Promise<string[]> {
    const names = await readdir(this.#stateDir).catch(() => [] as string[]);
    return names.filter((name) => name.endsWith('.json')).map((name) => taskIdOfContainer(name.slice(0, -5))).filter((id) => id !== undefined);
  }

  async #save(id: string, state: AttachState): Promise<void> {
    const file = join(this.#stateDir, `${id}.json`);
    await writeFile(`${file}.tmp`, JSON.stringify(state));
    await rename(`${file}.tmp`, file);
  }

  async #load(id: string): Promise<AttachState | undefined> {
    try {
      return JSON.parse(await readFile(join(this.#stateDir, `${id}.json`), 'utf8')) as AttachState;
    } catch {
      return undefined;
    }
  }

  #ipCommand(args: readonly string[]): Promise<unknown> {
    return run(this.#ip, args, { timeout: this.#timeoutMs, killSignal: 'SIGKILL' });
  }

  /** One plugin call: the config on stdin, the parameters in the environment, the result (or error) on stdout. */
  #plugin(type: string, command: 'ADD' | 'DEL', id: string, netns: string, stdin: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const child = spawn(join(this.#pluginDir, type), [], { env: { ...pluginEnv(command, id, netns, this.#pluginDir), PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`CNI ${type} ${command}: no answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        const text = Buffer.concat(out).toString('utf8').trim();
        if (code === 0) return resolve(text === '' ? undefined : JSON.parse(text));
        let message = Buffer.concat(err).toString('utf8').trim() || text;
        try {
          const parsed = JSON.parse(text) as { msg?: string; details?: string };
          message = [parsed.msg, parsed.details].filter(Boolean).join(': ') || message;
        } catch {
          // Not the JSON error CNI specifies: the raw output says what happened.
        }
        reject(new Error(`CNI ${type} ${command}: ${message}`));
      });
      // A plugin that exits without reading its config (EPIPE) is reported by its exit, in 'close'.
      child.stdin.on('error', () => undefined);
      child.stdin.end(stdin);
    });
  }
}

/** `ip netns` keeps named namespaces in /run/netns, on a mount it makes private. */
function netnsPath(id: string): string {
  return `/run/netns/${netnsNameOf(id)}`;
}
