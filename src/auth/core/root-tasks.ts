import type { Grant, Identity } from '../types.ts';
import { authorize } from './policy.ts';

/**
 * Root tasks are a policy decision (issue #15): a write that leaves an app running as root
 * (`user: "root"` or uid `0`) needs `run-as-root` on that app's path, as well as its own action.
 * Decided on the app as the write leaves it, not on the body: a partial update that does not name
 * the user keeps root, and a rollback brings back the user of its version. Agents refuse root
 * tasks unless started with `--allow-root-tasks` (src/agent/core/task-user.ts); this is the
 * scheduler's half, under `--auth`.
 */

/** Whether an app's `user` names root. Other names with uid 0 on an agent are the agent's to refuse. */
export function runsAsRoot(user: unknown): boolean {
  return typeof user === 'string' && (user.trim() === 'root' || /^0+$/.test(user.trim()));
}

/**
 * Why `identity` may not write these apps (each as the write leaves it), or undefined when it
 * may: the first app that runs as root without a grant of `run-as-root` on its path.
 */
export function rootTaskRefusal(grants: readonly Grant[], identity: Identity, apps: ReadonlyArray<{ id: string; user?: string | undefined }>): string | undefined {
  for (const app of apps) {
    if (!runsAsRoot(app.user)) continue;
    const decision = authorize(grants, identity, 'run-as-root', app.id);
    if (!decision.allowed) return decision.reason;
  }
  return undefined;
}
