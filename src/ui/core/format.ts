/** How long ago `iso` was, as `42s`, `5m`, `3h`, `2d`; `—` without a time. */
export function formatAge(iso: string | undefined, nowMs: number): string {
  const then = iso === undefined ? NaN : Date.parse(iso);
  if (Number.isNaN(then)) return '—';
  const seconds = Math.max(0, Math.floor((nowMs - then) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

const withPort = (address: string, port: number): string => `${address.includes(':') ? `[${address}]` : address}:${port}`;

/** A task's addresses: `host:port` per port, or the host alone. */
export function endpoints(host: string, ports: readonly number[]): string[] {
  return ports.length === 0 ? [host] : ports.map((port) => withPort(host, port));
}

/**
 * Where an instance answers. On the host network: `host:port` per port. With port mappings
 * (bridge, container network) the container port beside each host port (`host:31005 → 8080`;
 * the host ports are the task's `ports`, in the order of the mappings that have one), and a
 * mapping without a host port at the task's own IP. `ip`: the task's own address, when it has
 * one (Marathon's `ipAddresses` name the host's otherwise).
 */
export function taskAddresses(
  task: { host: string; ports: readonly number[]; ipAddresses?: ReadonlyArray<{ ipAddress: string }> },
  mappings: ReadonlyArray<{ containerPort: number; hostPort?: number }> | undefined,
): { endpoints: string[]; ip?: string } {
  const ip = task.ipAddresses?.find((a) => a.ipAddress !== task.host)?.ipAddress;
  let next = 0;
  const mapped = (mappings ?? []).flatMap((m) => {
    const hostPort = m.hostPort === undefined ? undefined : task.ports[next++];
    if (hostPort !== undefined) return [`${withPort(task.host, hostPort)} → ${m.containerPort === 0 ? hostPort : m.containerPort}`];
    return ip === undefined ? [] : [withPort(ip, m.containerPort)];
  });
  const shown = mappings === undefined ? endpoints(task.host, task.ports) : mapped.length > 0 ? mapped : [task.host];
  return { endpoints: shown, ...(ip !== undefined ? { ip } : {}) };
}

/** `0.1` cpus, `32` MiB: numbers trimmed to what is meaningful. */
export const formatNumber = (value: number): string => String(Math.round(value * 1000) / 1000);

/** A task state without Mesos' prefix: `TASK_RUNNING` → `running`. */
export const stateLabel = (state: string): string => state.replace(/^TASK_/, '').toLowerCase();
