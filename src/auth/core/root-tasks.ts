/**
 * Root tasks are a policy decision (issue #15): an app or group write whose body asks for
 * `user: "root"` (or uid `0`) needs `run-as-root` on the paths the write itself is asked on, as
 * well as its own action. Agents refuse root tasks unless started with `--allow-root-tasks`
 * (src/agent/core/task-user.ts); this is the scheduler's half, under `--auth`.
 */

/** Whether an app's `user` names root. Other names with uid 0 on an agent are the agent's to refuse. */
export function runsAsRoot(user: unknown): boolean {
  return typeof user === 'string' && (user.trim() === 'root' || /^0+$/.test(user.trim()));
}

/** Whether an app, a group or a list of either asks for a root user anywhere (a group's apps and groups at any depth). */
function asksForRoot(value: unknown, depth = 0): boolean {
  if (depth > 64 || typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some((item) => asksForRoot(item, depth + 1));
  const record = value as Record<string, unknown>;
  return runsAsRoot(record.user) || asksForRoot(record.apps, depth + 1) || asksForRoot(record.groups, depth + 1);
}

const WRITES = new Set(['POST', 'PUT', 'PATCH']);

/**
 * The paths a write needs `run-as-root` on, given the paths its route asks its own action on
 * (src/auth/core/route-actions.ts): none unless the body asks for root; for a bulk app write
 * (`[{id}, ...]`, one path per item) only the items that ask; otherwise every path of the write.
 */
export function rootTaskPaths(request: { method: string; route: string; body: unknown }, paths: readonly string[]): string[] {
  if (!WRITES.has(request.method) || !/^\/v2\/(apps|groups)(\/|$)/.test(request.route)) return [];
  const { body } = request;
  if (Array.isArray(body) && body.length === paths.length) return paths.filter((_, i) => asksForRoot(body[i]));
  return asksForRoot(body) ? [...paths] : [];
}
