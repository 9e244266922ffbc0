import { STATUS_CODES } from 'node:http';
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import type { HealthCheck } from '../../shared/agent-protocol.ts';
import { runAsArgv, type RunAs } from '../core/run-as.ts';
import { spawnWithTaskEnv } from '../run-as.ts';
import type { ProbeOutcome } from './core/health-result.ts';
import { commandExitOutcome, healthCheckUrl, httpStatusOutcome, probeKindOf, resolveHealthPort } from './core/probe-rules.ts';

/** Where a task can be reached and how it runs: what a check needs to probe it. */
export interface HealthTarget {
  host: string;
  ports: readonly number[];
  /** Index-aligned with ports where a port is not on `host` (a container network's port without a host port: the task's address). */
  hosts?: readonly string[];
  env: Record<string, string>;
  cwd: string;
  /** COMMAND checks run as the task does: its user, its environment (see core/run-as.ts). */
  runAs: RunAs;
  agentEnv: Record<string, string>;
}

/**
 * Runs probes for one task. Every probe settles soon after `signal` aborts (the caller's timeout
 * or stop), having released what it held: sockets are destroyed, command process groups killed.
 */
export class Prober {
  // COMPAT(marathon): HTTPS checks do not verify the task's certificate (nor does Mesos: curl -k).
  readonly #dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  readonly #target: HealthTarget;

  constructor(target: HealthTarget) {
    this.#target = target;
  }

  probe(check: HealthCheck, signal: AbortSignal): Promise<ProbeOutcome> {
    const kind = probeKindOf(check.protocol);
    if (kind === 'command') return this.#command(check, signal);
    const resolved = resolveHealthPort(check, this.#target.ports);
    if ('error' in resolved) return Promise.resolve({ kind: 'unhealthy', cause: resolved.error });
    const host = (check.port === undefined ? this.#target.hosts?.[check.portIndex ?? 0] : undefined) ?? this.#target.host;
    if (kind === 'tcp') return this.#tcp(host, resolved.port, signal);
    return this.#http(healthCheckUrl(kind, host, resolved.port, check.path), check, signal);
  }

  /** Drops pooled connections and aborts requests still running. */
  close(): void {
    this.#dispatcher.destroy().catch(() => undefined);
  }

  async #http(url: string, check: HealthCheck, signal: AbortSignal): Promise<ProbeOutcome> {
    try {
      // A fresh connection per probe (`reset`), as Mesos' curl does: a kept-alive socket must not
      // hide a server that no longer accepts connections.
      const response = await request(url, { method: 'GET', dispatcher: this.#dispatcher, signal, reset: true });
      await response.body.dump();
      return httpStatusOutcome(response.statusCode, check.ignoreHttp1xx, STATUS_CODES[response.statusCode]);
    } catch (err) {
      return { kind: 'unhealthy', cause: describeError(err) };
    }
  }

  #tcp(host: string, port: number, signal: AbortSignal): Promise<ProbeOutcome> {
    return new Promise((resolve) => {
      const socket = connect({ host, port });
      const done = (outcome: ProbeOutcome): void => {
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        resolve(outcome);
      };
      const onAbort = (): void => done({ kind: 'unhealthy', cause: 'aborted' });
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => done({ kind: 'healthy' }));
      socket.once('error', (err) => done({ kind: 'unhealthy', cause: describeError(err) }));
      if (signal.aborted) onAbort();
    });
  }

  #command(check: HealthCheck, signal: AbortSignal): Promise<ProbeOutcome> {
    const value = check.command?.value;
    if (value === undefined || value === '') return Promise.resolve({ kind: 'unhealthy', cause: 'no command to run' });
    return new Promise((resolve) => {
      // Its own process group, so a timeout can kill whatever the command started.
      const { env, cwd, runAs, agentEnv } = this.#target;
      const { child } = spawnWithTaskEnv(runAsArgv(['/bin/sh', '-c', value], runAs), { agentEnv, env, cwd, stdio: ['ignore', 'ignore', 'ignore'] });
      let settled = false;
      const killGroup = (): void => {
        if (child.pid === undefined) return;
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // ESRCH: nothing of the group is left.
        }
      };
      const done = (outcome: ProbeOutcome): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const onAbort = (): void => {
        killGroup();
        done({ kind: 'unhealthy', cause: 'aborted' });
      };
      signal.addEventListener('abort', onAbort, { once: true });
      child.once('error', (err) => done({ kind: 'unhealthy', cause: `command failed to start: ${err.message}` }));
      child.once('exit', (code, sig) => {
        // A check leaves nothing behind: background children of the command die with it.
        killGroup();
        done(commandExitOutcome(code, sig));
      });
      if (signal.aborted) onAbort();
    });
  }
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // undici wraps socket errors: the cause names what actually went wrong (ECONNREFUSED …).
  const cause = (err as Error & { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message !== '') return cause.message;
  const code = (err as Error & { code?: unknown }).code;
  return err.message !== '' ? err.message : typeof code === 'string' ? code : err.name;
}
