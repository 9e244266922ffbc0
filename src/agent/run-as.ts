import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Writable } from 'node:stream';
import { envScript, ENV_FD } from './core/run-as.ts';

export interface SpawnAsOptions {
  /** The agent's clean environment: what the processes start with until they are the task user. */
  agentEnv: Record<string, string>;
  /** The task's environment, set after the switch. */
  env: Record<string, string>;
  cwd: string;
  stdio: ['ignore', number | 'ignore', number | 'ignore'];
}

/**
 * Spawns `argv` in its own process group as the agent with its clean environment, and writes the
 * task's environment on fd 3 for the `runAsArgv` stage in it (see core/run-as.ts). Names the
 * environment could not carry are returned for the caller to log.
 */
export function spawnWithTaskEnv(argv: readonly string[], options: SpawnAsOptions): { child: ChildProcess; skipped: string[] } {
  const [program = '/bin/sh', ...rest] = argv;
  const stdio: StdioOptions = [...options.stdio, 'pipe'];
  const child = spawn(program, rest, { cwd: options.cwd, env: options.agentEnv, detached: true, stdio });
  const { script, skipped } = envScript(options.env, Object.keys(options.agentEnv));
  const pipe = child.stdio[ENV_FD] as Writable | null | undefined;
  // A process that died early closes the pipe: its exit is what gets reported, not EPIPE.
  pipe?.on('error', () => undefined);
  pipe?.end(script);
  return { child, skipped };
}
