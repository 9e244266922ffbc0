import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lchown, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parsePasswdLine, unreachableAncestor, type Account, type DirStat } from './core/task-user.ts';

/** The account `name` (or a numeric uid) resolves to through NSS (`getent passwd`), or undefined. */
export function lookupAccount(name: string): Promise<Account | undefined> {
  return new Promise((resolve) => {
    // `--` so that a name starting with `-` is a name, not an option.
    execFile('getent', ['passwd', '--', name], { timeout: 10_000 }, (err, stdout) => {
      resolve(err === null ? parsePasswdLine(stdout.split('\n')[0] ?? '') : undefined);
    });
  });
}

/** The agent's own account (its name from the user database, else its uid). */
export async function agentAccount(): Promise<Account> {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const found = await lookupAccount(String(uid));
  return { name: found?.name ?? String(uid), uid, gid };
}

/** util-linux setpriv, looked up in the usual places only (never through a task's PATH). */
export function findSetpriv(): string | undefined {
  return ['/usr/bin/setpriv', '/bin/setpriv', '/usr/sbin/setpriv', '/sbin/setpriv'].find((path) => existsSync(path));
}

/** Gives `dir` and everything in it to the task user; links are changed themselves, never followed. */
export async function chownTree(dir: string, account: Account): Promise<void> {
  await lchown(dir, account.uid, account.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, account);
    else await lchown(path, account.uid, account.gid);
  }
}

/** Why `account` cannot reach `dir` (an ancestor it may not search), or undefined when it can. */
export async function unreachableBy(dir: string, account: Account): Promise<string | undefined> {
  const dirs: DirStat[] = [];
  for (let path = dir; ; path = dirname(path)) {
    const s = await stat(path);
    dirs.unshift({ path, mode: s.mode, uid: s.uid, gid: s.gid });
    if (dirname(path) === path) break;
  }
  const blocked = unreachableAncestor(dirs, account);
  if (blocked === undefined) return undefined;
  return `user "${account.name}" cannot reach its sandbox: ${blocked.path} (mode ${(blocked.mode & 0o777).toString(8)}, uid ${blocked.uid}) is not searchable by it; make it o+x or use a --work-dir the task users can reach`;
}
