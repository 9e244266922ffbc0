/**
 * What benchmarks read about processes from /proc: memory and CPU of one pid, and every
 * process that carries a marker (in its command line or environment) so a run can prove it
 * left nothing behind.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

export interface ProcUsage {
  /** Resident set now (VmRSS), KiB. */
  rssKiB: number;
  /** Highest resident set so far (VmHWM), KiB. */
  peakRssKiB: number;
  /** User + system CPU time of the process itself, ms. */
  cpuMs: number;
}

/** Memory and CPU of `pid`, or undefined once it is gone. */
export function procUsage(pid: number): ProcUsage | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    // Fields after the command name, which may itself hold spaces and parentheses: utime is field 14.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { rssKiB: kib('VmRSS'), peakRssKiB: kib('VmHWM'), cpuMs: (ticks * 1000) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/**
 * Pids (other than this process) whose command line or environment contains `marker`. Tasks
 * inherit the sandbox path in MESOS_SANDBOX, so a marker in the work dir finds a task's
 * processes even after they exec'd a program whose argv does not mention it.
 */
export function pidsCarrying(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    for (const file of ['cmdline', 'environ']) {
      try {
        if (readFileSync(`/proc/${entry}/${file}`, 'latin1').includes(marker)) {
          found.push(Number(entry));
          break;
        }
      } catch {
        // gone, or not ours to read
      }
    }
  }
  return found;
}

export const mib = (kib: number): number => kib / 1024;
