import type { HealthCheck } from '../../../shared/agent-protocol.ts';
import type { ProbeOutcome } from './health-result.ts';

/** Which probe runs a check: Marathon-side and Mesos-side protocols probe the same way on the agent. */
export type ProbeKind = 'http' | 'https' | 'tcp' | 'command';

export function probeKindOf(protocol: HealthCheck['protocol']): ProbeKind {
  switch (protocol) {
    case 'HTTP':
    case 'MESOS_HTTP':
      return 'http';
    case 'HTTPS':
    case 'MESOS_HTTPS':
      return 'https';
    case 'TCP':
    case 'MESOS_TCP':
      return 'tcp';
    case 'COMMAND':
      return 'command';
  }
}

/**
 * Seconds before a check's first probe. COMPAT(marathon): Marathon runs its own HTTP/HTTPS/TCP
 * checks from the first tick on (the grace period covers start-up) and hands `delaySeconds` only
 * to Mesos, whose COMMAND and MESOS_* checks wait that long.
 */
export function firstProbeDelaySeconds(check: Pick<HealthCheck, 'protocol' | 'delaySeconds'>): number {
  switch (check.protocol) {
    case 'HTTP':
    case 'HTTPS':
    case 'TCP':
      return 0;
    default:
      return check.delaySeconds;
  }
}

/** The port a network check probes: `port` when given, else the task's host port at `portIndex` (0 by default). */
export function resolveHealthPort(check: HealthCheck, ports: readonly number[]): { port: number } | { error: string } {
  if (check.port !== undefined && check.port > 0) return { port: check.port };
  const index = check.portIndex ?? 0;
  const port = ports[index];
  if (port === undefined) return { error: `no host port at portIndex ${index} (task has ${ports.length})` };
  return { port };
}

/** `http(s)://host:port/path`, with IPv6 hosts bracketed and the path rooted. */
export function healthCheckUrl(scheme: 'http' | 'https', host: string, port: number, path: string): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const p = path.startsWith('/') ? path : `/${path}`;
  return `${scheme}://${h}:${port}${p}`;
}

/**
 * Judges an HTTP status as Marathon does: 200–399 pass; with `ignoreHttp1xx`, 100–199 are neither
 * success nor failure; anything else fails with the status (and its reason phrase, when known) as cause.
 */
export function httpStatusOutcome(status: number, ignoreHttp1xx: boolean, reasonPhrase?: string): ProbeOutcome {
  const cause = reasonPhrase ? `${status} ${reasonPhrase}` : `HTTP status ${status}`;
  if (status >= 200 && status <= 399) return { kind: 'healthy' };
  if (ignoreHttp1xx && status >= 100 && status <= 199) return { kind: 'ignored', cause };
  return { kind: 'unhealthy', cause };
}

export function timeoutCause(check: HealthCheck): string {
  return `timed out after ${check.timeoutSeconds}s`;
}

/** How a health command ended, in words for `lastFailureCause`. */
export function commandExitOutcome(code: number | null, signal: string | null): ProbeOutcome {
  if (code === 0) return { kind: 'healthy' };
  if (code !== null) return { kind: 'unhealthy', cause: `command exited with status ${code}` };
  return { kind: 'unhealthy', cause: `command killed by signal ${signal ?? 'unknown'}` };
}
