import type { CgroupVersion } from './limits.ts';

/** Parses a cgroup "flat keyed" file (`key value` per line: memory.events, memory.oom_control). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value, ...rest] = line.trim().split(/\s+/);
    if (key === undefined || key === '' || value === undefined || rest.length > 0) continue;
    const number = Number(value);
    if (Number.isFinite(number)) values.set(key, number);
  }
  return values;
}

/** What the kernel says about OOM in a task's cgroup. */
export interface OomEvidence {
  /** v1: memory.oom_control; v2: memory.events. Undefined when unreadable. */
  readonly counters: string | undefined;
  /** v1 only, for kernels before 4.13 that have no `oom_kill` counter: memory.failcnt. */
  readonly failcnt?: string | undefined;
}

/**
 * Whether the kernel OOM-killed a process in the cgroup. The `oom_kill` counter (memory.events on
 * v2, memory.oom_control on v1 since Linux 4.13) counts exactly that. Without it (old v1 kernels)
 * a non-zero failcnt, or `under_oom 1`, is the best there is: the limit was hit, so a SIGKILL the
 * task died of was very likely the OOM killer. (On Linux 6.x failcnt stays 0 even across an OOM
 * kill, which is why it is only the fallback.)
 */
export function oomKilledFrom(version: CgroupVersion, evidence: OomEvidence): boolean {
  const counters = parseFlatKeyed(evidence.counters ?? '');
  const kills = counters.get('oom_kill');
  if (kills !== undefined) return kills > 0;
  if (version === 'v2') return false;
  if (counters.get('under_oom') === 1) return true;
  return Number(evidence.failcnt ?? '0') > 0;
}
