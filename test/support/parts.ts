import { chmodSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnPart, type PartProcess } from '../../src/cli/child-process.ts';

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
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}
