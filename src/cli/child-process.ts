import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** A `corral <part>` child process and the fields of its `ready` log line. */
export interface PartProcess {
  name: string;
  child: ChildProcess;
  ready: Record<string, unknown>;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
}

export interface SpawnPartOptions {
  name: string;
  args: string[];
  /** Every log line of the child is appended here. */
  logFile: string;
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Node arguments that run the CLI; defaults to how this process was started. */
  entry?: string[];
  /** Told of the process as soon as it exists, so a caller can stop it even if it never gets ready. */
  onSpawn?: (part: RunningProcess) => void;
}

export type RunningProcess = Pick<PartProcess, 'name' | 'child' | 'exited'>;

/**
 * Starts `corral <args>` with the same Node and loader as this process (so it works from
 * `dist/` and under tsx alike), and waits for its `ready` log line.
 */
export function spawnPart(options: SpawnPartOptions): Promise<PartProcess> {
  const entry = options.entry ?? [...process.execArgv, process.argv[1] ?? ''];
  const child = spawn(process.execPath, [...entry, ...options.args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  options.onSpawn?.({ name: options.name, child, exited });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${options.name} did not become ready within ${options.readyTimeoutMs ?? 20000} ms; see ${options.logFile}`));
    }, options.readyTimeoutMs ?? 20000);
    let ready = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      if (ready) return;
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (record.msg === 'ready') {
          ready = true;
          clearTimeout(timer);
          resolve({ name: options.name, child, ready: record, exited });
        }
      } catch {
        // not a log line
      }
    });
    void exited.then((status) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${options.name} exited (${status}) before it was ready; see ${options.logFile}`));
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs` for anything still running. */
export async function stopParts(parts: readonly RunningProcess[], graceMs: number): Promise<void> {
  for (const part of parts) part.child.kill('SIGTERM');
  await Promise.all(
    parts.map(async (part) => {
      const timer = setTimeout(() => part.child.kill('SIGKILL'), graceMs);
      await part.exited;
      clearTimeout(timer);
    }),
  );
}
