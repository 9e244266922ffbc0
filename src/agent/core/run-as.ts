import type { Account } from './task-user.ts';

/**
 * How a task's processes get their user and their environment. The agent starts them as itself
 * with a clean environment (its PATH, LANG, TZ), so nothing an app puts in `env` (LD_PRELOAD,
 * GLIBC_TUNABLES, PATH…) runs with the agent's privileges. `setpriv` drops to the task user
 * (uid, primary gid and the user's supplementary groups, initgroups(3)); only then does a small
 * `sh` read the task's environment from fd 3 (a pipe the agent writes: never in argv, which
 * every user can read in /proc) and exec the command.
 */
export interface RunAs {
  /** Set when the task runs as another user than the agent's. */
  readonly switchTo: Account | undefined;
  /** Absolute path of util-linux setpriv (found at start-up, never through a task's PATH). */
  readonly setpriv: string;
}

/** The fd the environment script arrives on. */
export const ENV_FD = 3;

// `cat` runs with the agent's clean PATH, before the task's PATH is in place.
const STAGE = `env_script=$(cat <&${ENV_FD}) || exit 126; exec ${ENV_FD}<&-; eval "$env_script"; unset env_script; exec "$@"`;

/** argv (absolute program first) that runs `argv` as the task user with the environment read from fd 3. */
export function runAsArgv(argv: readonly string[], runAs: RunAs): string[] {
  const drop = runAs.switchTo === undefined ? [] : [runAs.setpriv, `--reuid=${runAs.switchTo.uid}`, `--regid=${runAs.switchTo.gid}`, '--init-groups', '--'];
  return [...drop, '/bin/sh', '-c', STAGE, 'corral-env', ...argv];
}

const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The script that sets exactly `env` (what the agent inherited is unset first): `export` lines,
 * values single-quoted. Names a shell cannot export (`my-var`, `a.b`) and values holding a NUL
 * (no environment can) are left out and listed.
 */
export function envScript(env: Readonly<Record<string, string>>, inherited: readonly string[]): { script: string; skipped: string[] } {
  const lines = inherited.filter((name) => !(name in env) && SHELL_NAME.test(name)).map((name) => `unset ${name}`);
  const skipped: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!SHELL_NAME.test(name) || value.includes('\0')) {
      skipped.push(name);
      continue;
    }
    lines.push(`export ${name}='${value.replaceAll("'", "'\\''")}'`);
  }
  return { script: `${lines.join('\n')}\n`, skipped };
}
