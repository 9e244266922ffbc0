import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnPart, type PartProcess } from '../../src/cli/child-process.ts';
import { freeLoopbackPort } from '../../src/cli/up-ha.ts';

const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

/** A fresh temp dir that task users (agents run tasks as nobody by default) can pass through, not list: as a machine's work dir. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  return dir;
}

/** Starts one real `corral <part>` process from the sources and waits for its ready line. */
export function startPart(name: string, args: string[], logDir: string): Promise<PartProcess> {
  return spawnPart({ name, args, logFile: join(logDir, `${name}.log`), entry: ['--import', 'tsx', CLI] });
}

/** A TCP port free right now on 127.0.0.1 (for a process that must come back on the same port). */
export const freePort = freeLoopbackPort;
