import { ERR_ISOLATION_BAD_LIMITS, IsolationError } from '../errors.ts';
import type { TaskLimits } from '../isolator.ts';

export type CgroupVersion = 'v1' | 'v2';
export type Controller = 'memory' | 'cpu';
export const CONTROLLERS: readonly Controller[] = ['memory', 'cpu'];

/**
 * How a write may fail: `required` fails the task's start; `if-present` is skipped when the
 * kernel has no such file (memsw without swap accounting, memory.swap.max without swap);
 * `best-effort` is tried and its failure ignored.
 */
export type WriteRule = 'required' | 'if-present' | 'best-effort';

/** One value to write into one control file of the task's cgroup, in order. */
export interface ControlWrite {
  /** The v1 hierarchy the file lives in; on v2 every file is in the one directory. */
  readonly controller: Controller;
  readonly file: string;
  readonly value: string;
  readonly rule: WriteRule;
}

const MIB = 1024 * 1024;
// COMPAT(mesos): the cgroups/mem isolator never sets a limit below 32 MB; less kills a shell.
export const MIN_MEMORY_MIB = 32;
// COMPAT(mesos): the cgroups/cpu isolator's floors: 0.01 cpus, 2 shares, a 1 ms CFS quota.
export const MIN_CPUS = 0.01;
export const CPU_SHARES_PER_CPU = 1024;
export const MIN_CPU_SHARES = 2;
export const CFS_PERIOD_US = 100_000;
export const MIN_CFS_QUOTA_US = 1000;
/**
 * v2 weight per cpu: the default weight (100) is one cpu, as the default v1 share count (1024)
 * is. (runc's shares-to-weight formula maps 1024 shares to weight 39, which would make a
 * one-cpu task weigh less than an unconfined neighbour.)
 */
export const CPU_WEIGHT_PER_CPU = 100;
const MAX_CPU_WEIGHT = 10_000;

/** The memory limit in bytes and the CPU figures for a task's limits, with Mesos' floors. */
export function limitValues(limits: TaskLimits): { memBytes: number; cfsQuotaUs: number; shares: number; weight: number } {
  for (const [name, value] of Object.entries({ cpus: limits.cpus, mem: limits.mem })) {
    if (!Number.isFinite(value) || value < 0) {
      throw new IsolationError(ERR_ISOLATION_BAD_LIMITS, `${name} must be a non-negative number, not ${String(value)}`);
    }
  }
  const cpus = Math.max(limits.cpus, MIN_CPUS);
  return {
    memBytes: Math.floor(Math.max(limits.mem, MIN_MEMORY_MIB) * MIB),
    cfsQuotaUs: Math.max(Math.round(cpus * CFS_PERIOD_US), MIN_CFS_QUOTA_US),
    shares: Math.max(Math.floor(cpus * CPU_SHARES_PER_CPU), MIN_CPU_SHARES),
    weight: Math.min(Math.max(Math.round(cpus * CPU_WEIGHT_PER_CPU), 1), MAX_CPU_WEIGHT),
  };
}

export interface CpuPolicy {
  /**
   * Also a hard CFS quota of `cpus` per period (Mesos' --cgroups_enable_cfs). Off, a task gets
   * only its share/weight: it may use idle cores, and only under contention is it held to its
   * part, so a `cpus: 0.01` sidecar still starts quickly on an idle machine.
   */
  readonly enableCfs: boolean;
}

/** The control files to write, in order, to hold a task to its limits. */
export function controlWritesFor(version: CgroupVersion, limits: TaskLimits, cpu: CpuPolicy): ControlWrite[] {
  const { memBytes, cfsQuotaUs, shares, weight } = limitValues(limits);
  const mem = String(memBytes);
  if (version === 'v1') {
    const quota: ControlWrite[] = [
      { controller: 'cpu', file: 'cpu.cfs_period_us', value: String(CFS_PERIOD_US), rule: 'required' },
      { controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(cfsQuotaUs), rule: 'required' },
    ];
    return [
      // memsw may not be below the memory limit, so the memory limit goes first.
      { controller: 'memory', file: 'memory.limit_in_bytes', value: mem, rule: 'required' },
      // memory + swap = memory: the task gets no swap.
      { controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: mem, rule: 'if-present' },
      { controller: 'memory', file: 'memory.swappiness', value: '0', rule: 'best-effort' },
      ...(cpu.enableCfs ? quota : []),
      { controller: 'cpu', file: 'cpu.shares', value: String(shares), rule: 'required' },
    ];
  }
  return [
    { controller: 'memory', file: 'memory.max', value: mem, rule: 'required' },
    { controller: 'memory', file: 'memory.swap.max', value: '0', rule: 'if-present' },
    // COMPAT(mesos): an OOM ends the whole container, not one process of it.
    { controller: 'memory', file: 'memory.oom.group', value: '1', rule: 'if-present' },
    ...(cpu.enableCfs ? [{ controller: 'cpu', file: 'cpu.max', value: `${cfsQuotaUs} ${CFS_PERIOD_US}`, rule: 'required' } as const] : []),
    { controller: 'cpu', file: 'cpu.weight', value: String(weight), rule: 'required' },
  ];
}
