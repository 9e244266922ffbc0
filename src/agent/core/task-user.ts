/**
 * Which OS user a task runs as (Mesos' `--switch_user`, Marathon's app `user`), decided from the
 * app, the agent's settings and the account the name resolves to. Root is a policy decision, not
 * a default: a task resolving to uid 0 runs only on an agent started with `--allow-root-tasks`.
 */

export interface TaskUserSettings {
  /** `--default-user`: the user of tasks whose app names none. */
  readonly defaultUser: string;
  /** `--switch-user`: false runs every task as the agent's own user, whatever the app says. */
  readonly switchUser: boolean;
  /** `--allow-root-tasks`: a task may run as uid 0. */
  readonly allowRootTasks: boolean;
}

/** A user database entry (`getent passwd`). */
export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** The name to look up, or `self` when tasks run as the agent's own user. */
export function taskUserName(appUser: string | undefined, settings: TaskUserSettings): { name: string } | { self: true } {
  if (!settings.switchUser) return { self: true };
  return { name: appUser !== undefined && appUser !== '' ? appUser : settings.defaultUser };
}

export type TaskUserDecision =
  /** `switchTo` is set when the task's credentials differ from the agent's (the launch must drop to them). */
  | { readonly ok: true; readonly account: Account; readonly switchTo: Account | undefined }
  | { readonly ok: false; readonly reason: string };

/**
 * Whether the task may run as `account` (the resolved `name`, undefined when unknown), for an
 * agent running as `agent`. A refusal's reason ends up in the task's failure message.
 */
export function decideTaskUser(name: string, account: Account | undefined, agent: Account, settings: TaskUserSettings): TaskUserDecision {
  if (account === undefined) return { ok: false, reason: `user "${name}" does not exist on this agent` };
  if (account.uid === 0 && !settings.allowRootTasks) {
    return { ok: false, reason: `tasks may not run as root (user "${name}", uid 0) on this agent; start it with --allow-root-tasks to allow it` };
  }
  if (account.uid === agent.uid && account.gid === agent.gid) return { ok: true, account, switchTo: undefined };
  if (agent.uid !== 0) {
    return { ok: false, reason: `the agent runs as "${agent.name}" (uid ${agent.uid}), not root, and cannot run the task as "${name}" (uid ${account.uid}); run the agent as root or with --switch-user=false` };
  }
  return { ok: true, account, switchTo: account };
}

/** One `getent passwd` line (`name:x:uid:gid:gecos:home:shell`) as an account; undefined if malformed. */
export function parsePasswdLine(line: string): Account | undefined {
  const fields = line.trim().split(':');
  if (fields.length < 7) return undefined;
  const [name = '', , uid = '', gid = ''] = fields;
  if (!/^\d+$/.test(uid) || !/^\d+$/.test(gid) || name === '') return undefined;
  return { name, uid: Number(uid), gid: Number(gid) };
}

/** A directory as stat shows it. */
export interface DirStat {
  readonly path: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/**
 * The first of `dirs` (a sandbox's ancestors) that `account` cannot pass through (no search
 * permission for it as owner, group or other), or undefined. Supplementary groups are not known
 * here: an ancestor open to one of them only is reported (the operator makes it o+x, or the agent owns it).
 */
export function unreachableAncestor(dirs: readonly DirStat[], account: Account): DirStat | undefined {
  if (account.uid === 0) return undefined;
  return dirs.find((dir) => {
    if (dir.uid === account.uid) return (dir.mode & 0o100) === 0;
    if (dir.gid === account.gid) return (dir.mode & 0o010) === 0;
    return (dir.mode & 0o001) === 0;
  });
}
