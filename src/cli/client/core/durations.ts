/** A short age such as `12s`, `5m`, `3h`, `2d` between two epoch-ms instants; `-` when unknown. */
export function formatAge(sinceMs: number, nowMs: number): string {
  if (!Number.isFinite(sinceMs)) return '-';
  const seconds = Math.max(0, Math.floor((nowMs - sinceMs) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
