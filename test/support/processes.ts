import { execFileSync } from 'node:child_process';

/** Pids of processes whose command line holds `text` (pgrep -f), sorted; [] when none. */
export function pidsOf(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', text]).toString().trim().split('\n').filter(Boolean).sort();
  } catch {
    // pgrep exits 1 when nothing matches
    return [];
  }
}
