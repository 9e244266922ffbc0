import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.ts';
import { errorCode, exists, handDown, readText } from './cgroup-files.ts';
import { CgroupIsolator } from './cgroup-isolator.ts';
import { CONTROLLERS, type CpuPolicy } from './core/limits.ts';
import { parentSegments } from './core/names.ts';
import type { Isolator } from './isolator.ts';
import { NoIsolation } from './no-isolation.ts';

export interface DetectOptions {
  /** Where cgroups are mounted; default /sys/fs/cgroup. */
  root?: string;
  /** The cgroup (relative path) task cgroups are made under; default 'corral'. Tests use their own. */
  parent?: string;
  /** Hard CFS quotas as well as shares/weight (Mesos' --cgroups_enable_cfs); default false. */
  enableCfs?: boolean;
  logger: Logger;
}


function describe(error: unknown): string {
  const code = errorCode(error);
  const hint = code === 'EACCES' || code === 'EPERM' ? (process.getuid?.() === 0 ? '' : ' (the agent is not running as root)')
    : code === 'EROFS' ? ' (cgroups are mounted read-only here, as in most containers)'
    : code === 'EBUSY' ? ' (that cgroup has processes of its own; v2 hands controllers down only from cgroups without processes)'
    : '';
  return `${(error as Error).message}${hint}`;
}

/**
 * cgroup v2 when the unified hierarchy is mounted at the root with the memory and cpu
 * controllers (a hybrid system's v2 mount at root/unified has none of them): makes the parent
 * and enables both controllers down to it. Undefined, with the reason noted, when that fails.
 */
async function tryV2(root: string, segments: readonly string[], cpu: CpuPolicy, logger: Logger, reasons: string[]): Promise<Isolator | undefined> {
  const controllers = await readText(join(root, 'cgroup.controllers'));
  if (controllers === undefined) return undefined;
  const available = controllers.trim().split(/\s+/);
  const missing = CONTROLLERS.filter((c) => !available.includes(c));
  if (missing.length > 0) {
    reasons.push(`cgroup v2 at ${root} lacks the ${missing.join(' and ')} controller (it has: ${controllers.trim() || 'none'})`);
    return undefined;
  }
  let dir = root;
  try {
    for (const segment of [...segments, undefined]) {
      await handDown(dir, CONTROLLERS);
      if (segment === undefined) break;
      dir = join(dir, segment);
      await mkdir(dir, { recursive: true });
    }
  } catch (error) {
    reasons.push(`cgroup v2 at ${root}: cannot hand the memory and cpu controllers down to ${join(root, ...segments)}: ${describe(error)}`);
    return undefined;
  }
  return new CgroupIsolator('v2', { memory: dir, cpu: dir }, cpu, logger);
}

/** cgroup v1 when root/memory and root/cpu are hierarchies with limits and CFS bandwidth control. */
async function tryV1(root: string, segments: readonly string[], policy: CpuPolicy, logger: Logger, reasons: string[]): Promise<Isolator | undefined> {
  const memoryRoot = join(root, 'memory');
  const cpuRoot = join(root, 'cpu');
  const lacking = [
    ...((await exists(join(memoryRoot, 'memory.limit_in_bytes'))) ? [] : [`${memoryRoot}/memory.limit_in_bytes`]),
    ...((await exists(join(cpuRoot, 'cpu.cfs_quota_us'))) ? [] : [`${cpuRoot}/cpu.cfs_quota_us`]),
  ];
  if (lacking.length > 0) {
    reasons.push(`no cgroup v1 memory and cpu hierarchies (missing ${lacking.join(', ')})`);
    return undefined;
  }
  try {
    // cpu is often a link to cpu,cpuacct; memory and cpu mounted together share one directory.
    const memory = join(await realpath(memoryRoot), ...segments);
    const cpu = join(await realpath(cpuRoot), ...segments);
    for (const dir of new Set([memory, cpu])) await mkdir(dir, { recursive: true });
    return new CgroupIsolator('v1', { memory, cpu }, policy, logger);
  } catch (error) {
    reasons.push(`cgroup v1 at ${root}: cannot make the parent cgroup: ${describe(error)}`);
    return undefined;
  }
}

/**
 * Finds the cgroups this agent can use (v2, else v1, else none), makes its parent cgroup there
 * and logs the outcome once: info with the directories, or a warning that tasks run without limits.
 */
export async function detectIsolator(options: DetectOptions): Promise<Isolator> {
  const root = options.root ?? '/sys/fs/cgroup';
  const segments = parentSegments(options.parent ?? 'corral');
  const logger = options.logger;
  const reasons: string[] = [];
  const cpu: CpuPolicy = { enableCfs: options.enableCfs ?? false };
  const found = (await tryV2(root, segments, cpu, logger, reasons)) ?? (await tryV1(root, segments, cpu, logger, reasons));
  if (found !== undefined) {
    logger.info({ isolation: found.kind, parentDirs: found.parentDirs, enableCfs: cpu.enableCfs }, `task isolation: ${found.kind}, task cgroups under ${found.parentDirs.join(' and ')}, cpu ${cpu.enableCfs ? 'shares and a CFS quota' : 'shares only'}`);
    return found;
  }
  const reason = reasons.length > 0 ? reasons.join('; ') : `no cgroups found at ${root}`;
  const none = new NoIsolation(reason);
  logger.warn({ isolation: 'none', reason }, `task isolation: none, tasks run without memory or CPU limits: ${reason}`);
  return none;
}
