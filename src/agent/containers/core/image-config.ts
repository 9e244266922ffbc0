import { parsePasswdLine } from '../../core/task-user.ts';

/** The parts of an OCI image config (`config` of application/vnd.oci.image.config.v1+json) a task uses. */
export interface ImageConfig {
  entrypoint: string[];
  cmd: string[];
  /** `NAME=value`, in the image's order. */
  env: string[];
  workingDir: string;
  user: string;
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
const record = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

export function parseImageConfig(json: unknown): ImageConfig {
  const config = record(record(json).config);
  return {
    entrypoint: strings(config.Entrypoint),
    cmd: strings(config.Cmd),
    env: strings(config.Env),
    workingDir: typeof config.WorkingDir === 'string' ? config.WorkingDir : '',
    user: typeof config.User === 'string' ? config.User : '',
  };
}

/** The manifest digest an OCI layout's index.json names `refName` (org.opencontainers.image.ref.name). */
export function manifestDigestOf(index: unknown, refName: string): string | undefined {
  const manifests = record(index).manifests;
  if (!Array.isArray(manifests)) return undefined;
  // skopeo replaces the entry of a name copied again, but the last one is the newest either way.
  const found = [...manifests].reverse().find((m) => record(record(m).annotations)['org.opencontainers.image.ref.name'] === refName);
  const digest = record(found).digest;
  return typeof digest === 'string' ? digest : undefined;
}

/** The config blob digest of an image manifest. */
export function configDigestOf(manifest: unknown): string | undefined {
  const digest = record(record(manifest).config).digest;
  return typeof digest === 'string' ? digest : undefined;
}

/** A blob's path in an OCI layout (`blobs/<algorithm>/<hex>`), or undefined for a malformed digest. */
export function blobPath(digest: string): string[] | undefined {
  const match = /^(sha256|sha512):([a-f0-9]{64,128})$/.exec(digest);
  return match === null ? undefined : ['blobs', match[1] as string, match[2] as string];
}

export interface ContainerProcess {
  args: string[];
  env: string[];
  cwd: string;
}

/**
 * What runs in the container, as Docker and Mesos combine the image with the task: the task's
 * `cmd` runs through `/bin/sh -c` (Mesos' shell command: the image's entrypoint and cmd are not
 * used); `args` replace the image's Cmd after its Entrypoint; neither runs Entrypoint + Cmd. The
 * environment is the image's with the task's over it; the working directory is the image's,
 * else the sandbox (Mesos' unified containerizer).
 */
export function containerProcess(image: ImageConfig, task: { cmd?: string; args?: string[] }, env: Readonly<Record<string, string>>, sandbox: string): { ok: true; process: ContainerProcess } | { ok: false; reason: string } {
  const args = task.cmd !== undefined ? ['/bin/sh', '-c', task.cmd]
    : task.args !== undefined && task.args.length > 0 ? [...image.entrypoint, ...task.args]
    : [...image.entrypoint, ...image.cmd];
  if (args.length === 0) return { ok: false, reason: 'the image has no Entrypoint or Cmd, and the app gives neither cmd nor args' };
  const merged = new Map<string, string>();
  for (const entry of image.env) {
    const eq = entry.indexOf('=');
    if (eq > 0) merged.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  for (const [name, value] of Object.entries(env)) merged.set(name, value);
  return { ok: true, process: { args, env: [...merged].map(([name, value]) => `${name}=${value}`), cwd: image.workingDir !== '' ? image.workingDir : sandbox } };
}

export interface ContainerUser {
  uid: number;
  gid: number;
}

/**
 * Docker's `User` (`name`, `uid`, `name:group`, `uid:gid`; empty is root) against the image's
 * own /etc/passwd and /etc/group (undefined when the image has none). A name the image does
 * not know is an error, as in Docker.
 */
export function resolveContainerUser(user: string, passwd: string | undefined, group: string | undefined): { ok: true; user: ContainerUser } | { ok: false; reason: string } {
  if (user === '') return { ok: true, user: { uid: 0, gid: 0 } };
  const [userPart = '', groupPart] = user.split(':', 2);
  const accounts = (passwd ?? '').split('\n').map(parsePasswdLine).filter((a) => a !== undefined);
  const account = /^\d+$/.test(userPart) ? accounts.find((a) => a.uid === Number(userPart)) ?? { uid: Number(userPart), gid: 0 } : accounts.find((a) => a.name === userPart);
  if (account === undefined) return { ok: false, reason: `the image's user ${JSON.stringify(userPart)} is not in its /etc/passwd` };
  if (groupPart === undefined || groupPart === '') return { ok: true, user: { uid: account.uid, gid: account.gid } };
  if (/^\d+$/.test(groupPart)) return { ok: true, user: { uid: account.uid, gid: Number(groupPart) } };
  const line = (group ?? '').split('\n').map((l) => l.split(':')).find((fields) => fields[0] === groupPart && /^\d+$/.test(fields[2] ?? ''));
  if (line === undefined) return { ok: false, reason: `the image's group ${JSON.stringify(groupPart)} is not in its /etc/group` };
  return { ok: true, user: { uid: account.uid, gid: Number(line[2]) } };
}
