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

/** A task's addresses: `host:port` per port, or the host alone. */
export function endpoints(host: string, ports: readonly number[]): string[] {
  const shown = host.includes(':') ? `[${host}]` : host;
  return ports.length === 0 ? [host] : ports.map((port) => `${shown}:${port}`);
}

/** `0.1` cpus, `32` MiB: numbers trimmed to what is meaningful. */
export const formatNumber = (value: number): string => String(Math.round(value * 1000) / 1000);

/** A task state without Mesos' prefix: `TASK_RUNNING` → `running`. */
export const stateLabel = (state: string): string => state.replace(/^TASK_/, '').toLowerCase();
