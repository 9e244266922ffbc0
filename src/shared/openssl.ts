import { execFileSync } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The openssl CLI as Corral calls it to make certificates of its own (the LB's default one,
 * `corral up --tls`'s CA): no key library to pin, and the same commands an operator would type.
 */

/** Runs `openssl args…`; its stderr is in the error's message when it fails. */
export function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Whether `err` (from {@link openssl}) says there is no openssl command on the PATH. */
export function isOpensslMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT' && (err as { path?: string }).path === 'openssl';
}

/** The first line of an openssl failure, for an error that names the file it was making. */
export function opensslFailure(err: unknown): string {
  return (err as Error).message.split('\n')[0] ?? '';
}

/** `work` with a private scratch directory (openssl's output files), removed afterwards whatever happens. */
export function inScratchDir<T>(prefix: string, work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Writes `content` to `file` whole under another name, then renames it: a crash never leaves half
 * a key behind, and two processes writing at once each rename a whole one (the loser's is replaced).
 */
export function writeWhole(file: string, content: string, mode: number): void {
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, content, { mode });
  renameSync(partial, file);
}
