import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const CLI = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

export interface RunningCorral {
  urls: { scheduler: string; ui: string; dns: string; dnsHttp: string; lbHttp: string; lbStats: string; agents: string[]; logs: string };
  dataDir: string;
  /** The admin token `corral up` left in `<data dir>/admin.token` (undefined with `--no-auth`). */
  token: string | undefined;
  /** `authorization: Bearer <admin token>`, or nothing with `--no-auth`. */
  auth: Record<string, string>;
  child: ChildProcess;
  /** SIGTERM to `corral up`; resolves with its exit code once it is gone. */
  stop(): Promise<number | null>;
}

/**
 * Runs the real `corral up` with every port picked by the OS (unless `extraArgs` say otherwise) and a host-port range of its own.
 * With `dataDir` (a second run over the same data) the directory is the caller's: `stop` leaves it.
 */
export async function startCorral(extraArgs: string[] = [], options: { dataDir?: string } = {}): Promise<RunningCorral> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'corral-it-'));
  // A random 1000-port block below the ephemeral range, so two runs rarely share host ports.
  const agentPortsBase = 20000 + 1000 * Math.floor(Math.random() * 10);
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'up', '--data-dir', dataDir,
    '--scheduler-listen', '127.0.0.1:0', '--dns-listen', '127.0.0.1:0', '--dns-http', '127.0.0.1:0',
    '--lb-http-port', '0', '--lb-stats-port', '0', '--agent-ports-base', String(agentPortsBase),
    '--agent-http-port-base', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const urls = await new Promise<RunningCorral['urls']>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`corral up not ready in 30 s\n${stderr}`)), 30000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const record = JSON.parse(line) as RunningCorral['urls'] & { msg?: string; component?: string };
        if (record.msg === 'ready' && record.component === 'up') {
          clearTimeout(timer);
          resolve(record);
        }
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`corral up exited (${code}) before ready\n${stderr}`)));
  });
  const tokenFile = join(dataDir, 'admin.token');
  const token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined;
  return {
    urls,
    dataDir,
    token,
    auth: token === undefined ? {} : { authorization: `Bearer ${token}` },
    child,
    async stop() {
      child.kill('SIGTERM');
      const code = await exited;
      if (process.env.CORRAL_KEEP_DATA === undefined && options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
