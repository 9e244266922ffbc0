import { constants, type Stats } from 'node:fs';
import { lstat, open, readFile, readdir, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { AgentTokenNeed } from '../../auth/core/agent-tokens.ts';
import { sendRefusal, type AgentApiGuard } from './api-tokens.ts';
import {
  ancestorsOf,
  formatFileMode,
  isWithinRoot,
  parseIdNames,
  parseReadQuery,
  planReadWindow,
  resolveSandboxPath,
} from '../core/sandbox-paths.ts';

export interface FilesRoutesOptions {
  /** `<workDir>/sandboxes`: nothing outside it is ever listed or read. */
  sandboxRoot: string;
  /** The most bytes one `/files/read` answers; 1 MiB by default. */
  maxReadBytes?: number;
  /** Agent admission on: a path inside a task's sandbox needs a token for that task, the root one for the whole agent. */
  guard?: AgentApiGuard;
}

/** One entry of `/files/browse`, as Mesos answers it. */
export interface FileEntry {
  path: string;
  nlink: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  mode: string;
  uid: string;
  gid: string;
}

const DEFAULT_MAX_READ_BYTES = 1 << 20;

/** An answer other than 200, carried up from wherever it was decided. */
class FilesError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** Who asks: the request's Authorization header, checked against what the path needs. */
type Ask = (need: AgentTokenNeed) => void;

interface Located {
  /** The path as the client named it, normalised: what browse echoes back. */
  virtual: string;
  /** The real path: no symlinks, inside the real root. */
  real: string;
  /** The real directory nothing answered may leave: the sandbox of the task named, or the sandbox root. */
  realRoot: string;
  stats: Stats;
}

/**
 * Mesos' files API over the agent's sandboxes: `GET /files/browse`, `/files/read`,
 * `/files/download`, each with `path=` absolute inside the sandbox root or relative to it.
 * A path that leaves the root — by `..`, by naming another absolute path, or through a
 * symlink a task planted — answers 403, checked on the real path after every symlink is
 * resolved, and for reads once more on the descriptor actually opened; so does reading a
 * file with more than one hard link. A path below a task's sandbox is confined to that sandbox: a
 * symlink into another task's sandbox answers 403 too (a token for one task reads no other).
 */
export function registerFilesRoutes(app: FastifyInstance, options: FilesRoutesOptions): void {
  const root = resolve(options.sandboxRoot);
  const maxReadBytes = options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES;
  const owners = new OwnerNames();
  const asker = (authorization: string | undefined): Ask => (need) => {
    const decision = options.guard?.(authorization, need) ?? { ok: true };
    if (!decision.ok) throw new FilesError(decision.status, decision.message);
  };

  app.get('/files/browse', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    return answer(reply, async () => {
      const located = await locate(root, query.path, asker(request.headers.authorization));
      if (!located.stats.isDirectory()) {
        // COMPAT(mesos): browsing a file lists just that file (newer Mesos; older ones answered []).
        return [await describe(located.virtual, located.stats, owners)];
      }
      const entries: FileEntry[] = [];
      for (const name of (await readdir(located.real)).sort()) {
        const stats = await entryStats(join(located.real, name), located.realRoot);
        // Gone between readdir and stat: Mesos skips such entries too.
        if (stats !== undefined) entries.push(await describe(posix.join(located.virtual, name), stats, owners));
      }
      return entries;
    });
  });

  app.get('/files/read', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    return answer(reply, async () => {
      const parsed = parseReadQuery(query);
      if (parsed.kind === 'invalid') throw new FilesError(400, parsed.message);
      const located = await locate(root, query.path, asker(request.headers.authorization));
      if (located.stats.isDirectory()) throw new FilesError(400, 'Cannot read a directory.');
      const handle = await openConfined(located);
      try {
        const size = (await handle.stat()).size;
        const window = planReadWindow(parsed, size, maxReadBytes);
        if (window.length === 0) return { data: '', offset: window.offset };
        const buffer = Buffer.alloc(window.length);
        const { bytesRead } = await handle.read(buffer, 0, window.length, window.offset);
        // Bytes, not characters, are what offsets count; a split multibyte character shows as U+FFFD.
        return { data: buffer.subarray(0, bytesRead).toString('utf8'), offset: window.offset };
      } finally {
        await handle.close();
      }
    });
  });

  app.get('/files/download', async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    let handle: FileHandle | undefined;
    try {
      const located = await locate(root, query.path, asker(request.headers.authorization));
      if (located.stats.isDirectory()) throw new FilesError(400, 'Cannot download a directory.');
      handle = await openConfined(located);
      // The task may still be writing: send the file as long as it is now, so Content-Length holds.
      const size = (await handle.stat()).size;
      reply
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', `attachment; filename="${basename(located.real).replace(/["\\\r\n]/g, '_')}"`)
        .header('content-length', size);
      if (size === 0) {
        await handle.close();
        return reply.send(Buffer.alloc(0));
      }
      const stream = handle.createReadStream({ start: 0, end: size - 1, autoClose: true });
      handle = undefined;
      return reply.send(stream);
    } catch (error) {
      await handle?.close();
      return sendError(reply, error);
    }
  });
}

async function answer(reply: FastifyReply, produce: () => Promise<unknown>): Promise<FastifyReply> {
  try {
    return reply.send(await produce());
  } catch (error) {
    return sendError(reply, error);
  }
}

function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof FilesError && (error.statusCode === 401 || error.statusCode === 403)) return sendRefusal(reply, { status: error.statusCode, message: error.message });
  if (error instanceof FilesError) return reply.code(error.statusCode).send({ message: error.message });
  throw error;
}

/**
 * Finds what `requested` names, or throws the 400, 401, 403 or 404 it deserves. The caller's
 * token is checked on the text of the path, before the disk is touched: a refused caller learns
 * nothing about which files exist.
 */
async function locate(root: string, requested: unknown, ask: Ask): Promise<Located> {
  const resolved = resolveSandboxPath(root, requested);
  if (resolved.kind === 'invalid') throw new FilesError(400, resolved.message);
  if (resolved.kind === 'outside') throw new FilesError(403, resolved.message);
  const taskId = taskOf(root, resolved.path);
  ask(taskId === undefined ? { kind: 'agent' } : { kind: 'task', taskId });
  const virtual = posix.isAbsolute(requested as string) ? resolved.path : posix.normalize(requested as string).replace(/\/+$/, '') || '.';
  const realSandboxes = await realpath(root).catch((error: unknown) => {
    throw isMissing(error) ? new FilesError(404, `'${String(requested)}' does not exist`) : error;
  });
  // Joined as text, not resolved: a sandbox directory that is itself a symlink confines nothing.
  const realRoot = taskId === undefined ? realSandboxes : join(realSandboxes, taskId);
  let real: string;
  try {
    real = await realpath(resolved.path);
  } catch (error) {
    if (isMissing(error)) {
      // Answer 404 only when the nearest existing ancestor is inside: a 404 behind a symlink
      // to /etc would tell a client which files exist there.
      if (await nearestExistingInside(resolved.path, realRoot, realSandboxes)) throw new FilesError(404, `'${String(requested)}' does not exist`);
      throw new FilesError(403, `'${String(requested)}' is outside the sandbox root`);
    }
    if (errorCode(error) === 'ELOOP' || errorCode(error) === 'EACCES') throw new FilesError(403, `'${String(requested)}' is inaccessible`);
    throw error;
  }
  if (!isWithinRoot(realRoot, real)) throw new FilesError(403, `'${String(requested)}' is outside the sandbox root`);
  return { virtual, real, realRoot, stats: await stat(real) };
}

/** The task whose sandbox `path` (resolved, inside `root`) lies in; undefined for the root itself. */
function taskOf(root: string, path: string): string | undefined {
  const [first] = posix.relative(root, path).split('/');
  return first === undefined || first === '' ? undefined : first;
}

/** Is the nearest existing ancestor inside the real root (or the sandbox root itself: the sandbox is gone)? */
async function nearestExistingInside(path: string, realRoot: string, realSandboxes: string): Promise<boolean> {
  for (const ancestor of ancestorsOf(path)) {
    try {
      const real = await realpath(ancestor);
      return isWithinRoot(realRoot, real) || real === realSandboxes;
    } catch (error) {
      if (!isMissing(error)) return false;
    }
  }
  return false;
}

/**
 * O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, holding one of libuv's four
 * threadpool threads (and with four such requests, every file operation of the agent) for ever.
 * O_NOFOLLOW: the path was resolved already; a symlink in its place now is a swap.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

function notRegular(located: Pick<Located, 'virtual'>, stats: Stats): FilesError {
  const kind = stats.isFIFO() ? 'a FIFO' : stats.isSocket() ? 'a socket' : stats.isCharacterDevice() || stats.isBlockDevice() ? 'a device' : 'not a file';
  return new FilesError(400, `Cannot read '${located.virtual}': it is ${kind}, not a regular file.`);
}

/**
 * Opens the located file, which must be a regular file (a FIFO, socket or device could block the
 * agent's I/O or never end) with a single link, and checks what the descriptor really is and where it points: a task
 * could swap the file for a FIFO, or a directory on the path for a symlink, after the checks.
 */
async function openConfined(located: Located): Promise<FileHandle> {
  if (!located.stats.isFile()) throw notRegular(located, located.stats);
  const handle = await open(located.real, OPEN_FLAGS).catch((error: unknown) => {
    if (errorCode(error) === 'ELOOP') throw new FilesError(403, `'${located.virtual}' is inaccessible`);
    if (errorCode(error) === 'ENXIO') throw new FilesError(400, `Cannot read '${located.virtual}': it is not a regular file.`);
    throw isMissing(error) ? new FilesError(404, `'${located.virtual}' does not exist`) : error;
  });
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw notRegular(located, stats);
    // A second name may be outside the sandbox (a task linked /etc/passwd in), and no path tells
    // which name is the original: a file with more than one link is never served.
    if (stats.nlink > 1) throw new FilesError(403, `Cannot read '${located.virtual}': it has ${stats.nlink} hard links, and a hard-linked file may lie outside the sandbox.`);
    const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => undefined);
    if (opened !== undefined && !isWithinRoot(located.realRoot, opened)) throw new FilesError(403, `'${located.virtual}' is outside the sandbox root`);
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * What browse shows for one entry: like Mesos, the target of a symlink — unless the target is
 * outside the root, when only the link itself is described.
 */
async function entryStats(path: string, realRoot: string): Promise<Stats | undefined> {
  try {
    const linkStats = await lstat(path);
    if (!linkStats.isSymbolicLink()) return linkStats;
    const target = await realpath(path).catch(() => undefined);
    return target !== undefined && isWithinRoot(realRoot, target) ? await stat(target) : linkStats;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

async function describe(path: string, stats: Stats, owners: OwnerNames): Promise<FileEntry> {
  return {
    path,
    nlink: stats.nlink,
    size: stats.size,
    mtime: Math.floor(stats.mtimeMs / 1000),
    mode: formatFileMode(stats.mode),
    uid: await owners.user(stats.uid),
    gid: await owners.group(stats.gid),
  };
}

/** User and group names as Mesos shows them (getpwuid/getgrgid), read once; the number when unknown. */
class OwnerNames {
  #users: Promise<ReadonlyMap<number, string>> | undefined;
  #groups: Promise<ReadonlyMap<number, string>> | undefined;

  async user(uid: number): Promise<string> {
    this.#users ??= loadIdNames('/etc/passwd');
    return (await this.#users).get(uid) ?? String(uid);
  }

  async group(gid: number): Promise<string> {
    this.#groups ??= loadIdNames('/etc/group');
    return (await this.#groups).get(gid) ?? String(gid);
  }
}

async function loadIdNames(file: string): Promise<ReadonlyMap<number, string>> {
  return readFile(file, 'utf8').then(parseIdNames, () => new Map<number, string>());
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as NodeJS.ErrnoException).code : undefined;
}

function isMissing(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}
