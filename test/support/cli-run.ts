import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './wait.ts';

/**
 * Runs the real `corral` CLI from the sources as a child process, as an operator would: for
 * one-shot commands ({@link corral}) and for those that keep running until Ctrl-C ({@link CliProcess}).
 */

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'src', 'cli', 'main.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Sets CORRAL_MASTER; leave it out to test the flag or the default. */
  master?: string;
  /** Written to the command's stdin (for `FILE` given as `-`). */
  input?: string;
  timeoutMs?: number;
  /** More environment variables (CORRAL_* settings). */
  env?: Record<string, string>;
}

function spawnCli(args: readonly string[], options: CliOptions): ChildProcess {
  const env = { ...process.env };
  delete env.CORRAL_MASTER;
  // A token of the operator's shell would change what the tests see.
  delete env.CORRAL_TOKEN;
  delete env.CORRAL_TOKEN_FILE;
  if (options.master !== undefined) env.CORRAL_MASTER = options.master;
  Object.assign(env, options.env);
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.end(options.input ?? '');
  return child;
}

/** Runs `corral <args>` to its end; kills it (and fails) when it outlives the liveness deadline. */
export function corral(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  return new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`corral ${args.join(' ')} still running after ${timeoutMs} ms; stdout: ${Buffer.concat(out).toString()} stderr: ${Buffer.concat(err).toString()}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** `corral --json`: the exit code must be 0 and stdout must parse. */
export async function corralJson<T = unknown>(args: readonly string[], options: CliOptions = {}): Promise<T> {
  const result = await corral([...args, '--json'], options);
  if (result.code !== 0) throw new Error(`corral ${args.join(' ')} --json exited ${String(result.code)}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** A long-running command: what it printed so far, and Ctrl-C. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly #closed: Promise<number | null>;

  constructor(args: readonly string[], options: CliOptions = {}) {
    this.child = spawnCli(args, options);
    this.child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.#closed = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Waits until stdout (or stderr) matches `pattern`. */
  printed(pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return waitFor(`corral to print ${String(pattern)} on ${stream} (so far: ${stream === 'stdout' ? this.stdout : this.stderr})`,
      () => (stream === 'stdout' ? this.stdout : this.stderr).match(pattern) ?? undefined, timeoutMs);
  }

  /** Sends SIGINT (Ctrl-C) and resolves with the exit code. */
  async interrupt(timeoutMs = 10_000): Promise<number | null> {
    this.child.kill('SIGINT');
    return this.exited(timeoutMs);
  }

  /** The exit code, killing the process if it does not end within the deadline. */
  async exited(timeoutMs = 30_000): Promise<number | null> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.#closed;
    } finally {
      clearTimeout(timer);
    }
  }
}
