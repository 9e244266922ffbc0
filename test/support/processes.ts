import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Pids of processes whose command line holds `text` (pgrep -f), sorted; [] when none. */
export function pidsOf(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', text]).toString().trim().split('\n').filter(Boolean).sort();
  } catch {
    // pgrep exits 1 when nothing matches
    return [];
  }
}

/**
 * Teardown shared by the tests that start parts themselves: SIGTERM them all, wait for them,
 * remove the temp dir (kept with KEEP=1), and return the pids of task processes that survived.
 */
export async function stopAll(parts: ReadonlyArray<{ child: { kill(signal: NodeJS.Signals): boolean }; exited: Promise<unknown> }>, dir: string, marker: string): Promise<string[]> {
  for (const part of parts) part.child.kill('SIGTERM');
  await Promise.all(parts.map((p) => p.exited));
  const strays = pidsOf(marker);
  if (process.env.KEEP !== '1') rmSync(dir, { recursive: true, force: true });
  return strays;
}
