import { mkdirSync, statfsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import type { HostPort } from '../shared/address.ts';
import type { AttributeValue, Resource } from '../shared/agent-protocol.ts';
import { absolutePath, byteSize, duration, flag, hostPort, integer, ipAddress, list, logLevel, masterUrls, optional, parseConfig, text, type FieldParser } from '../shared/config.ts';
import { commandDefaults, type Settings } from '../shared/settings.ts';
import { caFile, plainMasterProblems, tlsCertFile, tlsKeyFile, tlsPairProblems } from '../shared/tls.ts';
import { metricsTokenFile } from '../auth/secret-files.ts';
import { parseAttributes, parseResources, withDetectedResources } from './core/resources.ts';

/** `corral agent` settings, validated once at start-up, then frozen. */
export interface AgentConfig {
  readonly masters: readonly string[];
  readonly ip: string;
  readonly hostname: string;
  /** `--resources`, with what it leaves out detected from the machine. */
  readonly resources: readonly Resource[];
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly workDir: string;
  readonly listen: HostPort;
  readonly sandboxMaxAgeMs: number;
  readonly logMaxBytes: number;
  readonly logKeep: number;
  readonly cgroupsRoot: string;
  readonly cgroupsParent: string;
  readonly cgroupsEnableCfs: boolean;
  readonly logLevel: string;
  /** The scheduler's join token (agent admission); unset when the scheduler admits every agent. */
  readonly joinTokenFile: string | undefined;
  /** `--metrics-token-file`: a long-lived token good for `/metrics` (Prometheus), besides the scheduler's. */
  readonly metricsTokenFile: string | undefined;
  /** `--tls-cert`/`--tls-key`: the agent's own HTTP is HTTPS (both or neither). */
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  /** `--ca`: the certificates trusted for the (then https) scheduler URLs. */
  readonly ca: string | undefined;
  /** Who tasks run as (see core/task-user.ts). */
  readonly defaultUser: string;
  readonly switchUser: boolean;
  readonly allowRootTasks: boolean;
  /** `--insecure-registry`: registries beside loopback ones that images may come from over plain HTTP. */
  readonly insecureRegistries: readonly string[];
  /** `--registry-mirror`: Docker Hub mirrors tried before docker.io. */
  readonly registryMirrors: readonly string[];
  /** `--registry-auth-file`: registry credentials in Docker's config.json form (read by skopeo). */
  readonly registryAuthFile: string | undefined;
  /** `--image-gc-max-size`: the image store's bytes above which unused images are removed. */
  readonly imageGcMaxSize: number;
  /** `--image-gc-min-age`: an image used more recently is never removed. */
  readonly imageGcMinAgeMs: number;
  /** `--host-volume-paths`: directories containers may bind-mount host paths from (none by default). */
  readonly hostVolumePaths: readonly string[];
  /** `--allow-privileged-containers`: tasks may run privileged containers (Docker's `privileged`). */
  readonly allowPrivilegedContainers: boolean;
  /** `--disk-watch-interval`: how often persistent volumes' usage is measured (Mesos' --container_disk_watch_interval). */
  readonly diskWatchIntervalMs: number;
  /** `--cni-plugin-dir`: where the CNI plugins (bridge, host-local, portmap) are. */
  readonly cniPluginDir: string;
  /** `--bridge-subnet`: the agent's bridge subnet; empty: one derived from the work dir. */
  readonly bridgeSubnet: string;
  /** `--container-networks`: `name=subnet` entries, the named container networks this agent has. */
  readonly containerNetworks: readonly string[];
}

const resources: FieldParser<Resource[]> = (raw) => parseResources(text(raw));
const attributes: FieldParser<Record<string, AttributeValue>> = (raw) => parseAttributes(text(raw));

/** Reads the layered settings (missing ones from config/defaults.json); throws a ConfigError listing every bad value. */
export function parseAgentConfig(settings: Settings): AgentConfig {
  const config = parseConfig(settings, {
    masters: ['master', masterUrls],
    ip: ipAddress,
    // The ip when not given: a name is optional, an address is not.
    hostname: optional(text),
    resources,
    attributes,
    workDir: absolutePath,
    listen: hostPort,
    sandboxMaxAgeMs: ['sandboxMaxAge', duration()],
    logMaxBytes: byteSize(1024),
    logKeep: integer(0),
    cgroupsRoot: text,
    cgroupsParent: text,
    cgroupsEnableCfs: flag,
    logLevel,
    joinTokenFile: optional(absolutePath),
    metricsTokenFile: optional(metricsTokenFile),
    tlsCert: tlsCertFile,
    tlsKey: tlsKeyFile,
    ca: caFile,
    defaultUser: text,
    switchUser: flag,
    allowRootTasks: flag,
    insecureRegistries: ['insecureRegistry', list()],
    registryMirrors: ['registryMirror', list()],
    registryAuthFile: optional(absolutePath),
    imageGcMaxSize: byteSize(0),
    imageGcMinAgeMs: ['imageGcMinAge', duration()],
    allowPrivilegedContainers: flag,
    // At least 100ms: each round is a `du` per volume.
    diskWatchIntervalMs: ['diskWatchInterval', duration(100)],
    hostVolumePaths: (raw) => list()(raw).map((dir) => absolutePath(dir)),
    cniPluginDir: absolutePath,
    bridgeSubnet: text,
    containerNetworks: list(),
  }, { defaults: commandDefaults('agent'), check: (parsed) => [...tlsPairProblems(parsed), ...plainMasterProblems(parsed)] });
  return Object.freeze({
    ...config,
    hostname: config.hostname === undefined || config.hostname === '' ? config.ip : config.hostname,
    resources: Object.freeze(withDetectedResources(config.resources, machineResources(config.workDir))),
  });
}

function machineResources(workDir: string): { cores: number; memMiB: number; diskMiB: number } {
  let diskMiB = 0;
  try {
    mkdirSync(workDir, { recursive: true });
    const fs = statfsSync(workDir);
    diskMiB = Math.floor((fs.blocks * fs.bsize) / 2 ** 20);
  } catch {
    // No filesystem figures: no disk unless --resources says so.
  }
  return { cores: availableParallelism(), memMiB: Math.floor(totalmem() / 2 ** 20), diskMiB };
}
