import { constants as fsConstants, createReadStream, createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, realpath, rename, rm, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import * as tar from 'tar';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import yauzl from 'yauzl';
import type { FetchUri } from '../shared/agent-protocol.ts';
import type { Logger } from '../shared/log.ts';
import { AgentError } from './errors.ts';
import { archiveEntryProblem, isWithin, planFetch, type ArchiveEntryType, type FetchPlan } from './core/fetch-plan.ts';

/**
 * The Mesos fetcher, in process: before a task starts, every URI of its `fetch` list is downloaded
 * (http, https) or copied (file://, absolute paths) into the sandbox, made executable or unpacked.
 * The first failure stops the fetch and becomes the task's TASK_FAILED message.
 *
 * `cache` is ignored: every task fetches afresh, as Mesos does without --fetcher_cache_dir.
 */

/** Largest download, copy or unpacked archive accepted by default. */
export const DEFAULT_FETCH_MAX_BYTES = 1024 ** 3;
/** Time one URI may take to download or copy by default (a total, not an idle timeout). */
export const DEFAULT_FETCH_TIMEOUT_MS = 10 * 60_000;
const MAX_REDIRECTS = 5;
const MAX_ZIP_SYMLINK_TARGET_BYTES = 4096;

export interface FetchOptions {
  logger: Logger;
  /** Aborts the fetch in progress (the task was killed before it started). */
  signal?: AbortSignal;
  /** Per URI: the largest download or copy, and the largest total an archive may unpack to. */
  maxBytes?: number;
  /** Per URI: how long the download or copy may take in total. */
  timeoutMs?: number;
}

/** A URI could not be fetched; the message names the URI and why, on one line, for an operator. */
export class FetchError extends AgentError {
  readonly uri: string;

  constructor(uri: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_AGENT_FETCH', `fetch ${redactUri(uri)} failed: ${reason.replace(/\s*\n\s*/g, ' ')}`, options);
    this.name = 'FetchError';
    this.uri = uri;
  }
}

/** A failure whose message is already the operator-facing reason. */
class Refusal extends Error {}

/** Fetches every entry into `sandbox`, in order; throws FetchError for the first that fails. */
export async function fetchArtifacts(entries: readonly FetchUri[], sandbox: string, options: FetchOptions): Promise<void> {
  if (entries.length === 0) return;
  const maxBytes = options.maxBytes ?? DEFAULT_FETCH_MAX_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  await mkdir(sandbox, { recursive: true });
  const root = await realpath(sandbox);
  const agent = new Agent();
  const dispatcher = agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
  try {
    for (const entry of entries) {
      const plan = planFetch(entry);
      if (!plan.ok) throw new FetchError(entry.uri, plan.reason);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
      try {
        const bytes = await fetchOne(plan.value, root, { maxBytes, signal, dispatcher });
        options.logger.info({ uri: redactUri(entry.uri), target: plan.value.target, bytes, unpack: plan.value.unpack, executable: plan.value.executable }, 'fetched artifact');
      } catch (error) {
        let reason: string;
        if (options.signal?.aborted === true) reason = 'aborted';
        else if (timeout.aborted) reason = `timed out after ${timeoutMs} ms`;
        else reason = describe(error);
        throw new FetchError(entry.uri, reason, { cause: error });
      }
    }
  } finally {
    await agent.destroy().catch(() => undefined);
  }
}

interface StepContext {
  maxBytes: number;
  signal: AbortSignal;
  dispatcher: Dispatcher;
}

/** Fetches one planned entry; returns the number of bytes fetched. */
async function fetchOne(plan: FetchPlan, root: string, context: StepContext): Promise<number> {
  const parent = await makeDirsInside(root, path.posix.dirname(plan.target));
  const name = path.posix.basename(plan.target);
  const finalPath = path.join(parent, name);
  // Written beside the target and renamed over it, so a failed fetch never leaves a truncated
  // file under the real name, and a symlink already at the target is replaced, not followed.
  const partial = path.join(parent, `.${name}.corral-fetch`);
  await rm(partial, { force: true });
  let bytes: number;
  try {
    bytes = plan.source.kind === 'http'
      ? await download(plan.source.url, partial, context)
      : await copy(plan.source.path, partial, context);
    await rename(partial, finalPath);
  } catch (error) {
    await rm(partial, { force: true }).catch(() => undefined);
    throw error;
  }
  if (plan.executable) await chmod(finalPath, 0o755);
  // COMPAT(mesos): archives unpack into the sandbox root whatever destPath says, and the archive
  // itself stays where it was fetched to.
  try {
    if (plan.unpack === 'tar' || plan.unpack === 'tar.gz') await extractTar(finalPath, root, context.maxBytes);
    else if (plan.unpack === 'zip') await extractZip(finalPath, root, context.maxBytes);
    else if (plan.unpack === 'gunzip') await gunzipBeside(finalPath, root, name.slice(0, -'.gz'.length), context.maxBytes);
  } catch (error) {
    // Our own refusals already read well; a library's error (corrupt archive, disk full) gets a prefix.
    if (error instanceof Refusal) throw error;
    throw new Refusal(`cannot extract ${name}: ${describe(error)}`, { cause: error });
  }
  return bytes;
}

async function download(url: string, file: string, context: StepContext): Promise<number> {
  const response = await request(url, {
    method: 'GET',
    dispatcher: context.dispatcher,
    signal: context.signal,
    headers: { 'user-agent': 'corral-agent-fetcher' },
  });
  try {
    const status = response.statusCode;
    if (status < 200 || status > 299) {
      const redirect = status >= 300 && status <= 399 ? ` (redirect not followed: more than ${MAX_REDIRECTS} redirects or no Location header)` : '';
      throw new Refusal(`HTTP ${status}${redirect}`);
    }
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > context.maxBytes) {
      throw new Refusal(`the server announces ${declared} bytes, more than the limit of ${formatBytes(context.maxBytes)}`);
    }
    const counter = byteLimit(context.maxBytes, 'the download');
    await pipeline(response.body, counter, createWriteStream(file, { flags: 'wx' }), { signal: context.signal });
    return counter.bytes;
  } finally {
    if (!response.body.readableEnded) {
      // Destroying an unread undici body emits an abort error nobody else listens for.
      response.body.on('error', () => undefined);
      response.body.destroy();
    }
  }
}

async function copy(source: string, file: string, context: StepContext): Promise<number> {
  const info = await stat(source);
  if (!info.isFile()) throw new Refusal(`'${source}' is not a regular file`);
  if (info.size > context.maxBytes) throw new Refusal(`'${source}' has ${info.size} bytes, more than the limit of ${formatBytes(context.maxBytes)}`);
  await copyFile(source, file, fsConstants.COPYFILE_EXCL);
  return info.size;
}

const TAR_ENTRY_TYPES: Readonly<Record<string, ArchiveEntryType>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'directory',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
};

async function extractTar(file: string, root: string, maxBytes: number): Promise<void> {
  // A first pass checks every entry so that an unsafe archive is refused before anything is
  // written; node-tar's own guards (no '..', no writing through symlinks) stay on for the second.
  let problem: string | null = null;
  let total = 0;
  await tar.t({
    file,
    strict: true,
    onReadEntry: (entry) => {
      total += entry.size;
      if (problem !== null) return;
      const type = TAR_ENTRY_TYPES[entry.type];
      problem = type === undefined
        ? `archive entry '${entry.path}' is a ${entry.type}, which the fetcher does not unpack`
        : archiveEntryProblem(entry.path, type, entry.linkpath);
    },
  });
  if (problem !== null) throw new Refusal(problem);
  if (total > maxBytes) throw new Refusal(`${path.basename(file)} unpacks to ${total} bytes, more than the limit of ${formatBytes(maxBytes)}`);
  await tar.x({ file, cwd: root, strict: true, preserveOwner: false });
}

async function extractZip(file: string, root: string, maxBytes: number): Promise<void> {
  // yauzl itself rejects absolute names, '..' and backslashes in names (decodeStrings).
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, validateEntrySizes: true });
  try {
    // As for tarballs: every entry is checked (symlink targets included) before anything is written.
    const planned: Array<{ entry: yauzl.Entry; name: string; type: ArchiveEntryType; permissions: number; target?: string }> = [];
    let total = 0;
    for await (const entry of zip.eachEntry()) {
      total += entry.uncompressedSize;
      if (total > maxBytes) throw new Refusal(`${path.basename(file)} unpacks to more than the limit of ${formatBytes(maxBytes)}`);
      const madeOnUnix = entry.versionMadeBy >> 8 === 3;
      const mode = madeOnUnix ? (entry.externalFileAttributes >>> 16) & 0o177777 : 0;
      const format = mode & 0o170000;
      if (format !== 0 && format !== 0o100000 && format !== 0o040000 && format !== 0o120000) {
        throw new Refusal(`archive entry '${entry.fileName}' is not a file, directory or symlink`);
      }
      const type: ArchiveEntryType = entry.fileName.endsWith('/') || format === 0o040000 ? 'directory' : format === 0o120000 ? 'symlink' : 'file';
      const name = entry.fileName.replace(/\/+$/, '');
      const target = type === 'symlink'
        ? (await readSmall(await zip.openReadStreamPromise(entry), MAX_ZIP_SYMLINK_TARGET_BYTES, entry.fileName)).toString('utf8')
        : undefined;
      const problem = archiveEntryProblem(name, type, target);
      if (problem !== null) throw new Refusal(problem);
      planned.push({ entry, name, type, permissions: mode & 0o777, ...(target === undefined ? {} : { target }) });
    }
    for (const { entry, name, type, permissions, target } of planned) {
      if (type === 'directory') {
        await makeDirsInside(root, name);
      } else if (target !== undefined) {
        await symlink(target, await placeInside(root, name));
      } else {
        const destination = await placeInside(root, name);
        await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(destination, { flags: 'wx', mode: permissions === 0 ? 0o644 : permissions }));
      }
    }
  } finally {
    zip.close();
  }
}

// COMPAT(mesos): a bare .gz is decompressed into the sandbox root, named without .gz (Mesos runs gunzip).
async function gunzipBeside(file: string, root: string, name: string, maxBytes: number): Promise<void> {
  if (name === '' || name.startsWith('.')) throw new Refusal(`cannot name the file decompressed from ${path.basename(file)}`);
  const destination = path.join(root, name);
  const partial = path.join(root, `.${name}.corral-fetch`);
  await rm(partial, { force: true });
  try {
    await pipeline(createReadStream(file), createGunzip(), byteLimit(maxBytes, `${path.basename(file)} decompressed`), createWriteStream(partial, { flags: 'wx' }));
    await rename(partial, destination);
  } catch (error) {
    await rm(partial, { force: true }).catch(() => undefined);
    throw error;
  }
}

/**
 * Creates `relative`'s directories under `root` one at a time, checking after each that its real
 * path is still inside `root`: a symlink planted by an earlier archive cannot lead a write outside.
 */
async function makeDirsInside(root: string, relative: string): Promise<string> {
  let dir = root;
  for (const part of relative.split('/')) {
    if (part === '' || part === '.') continue;
    const next = path.join(dir, part);
    try {
      await mkdir(next);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const real = await realpath(next);
    if (!isWithin(root, real)) throw new Refusal(`'${relative}' leads outside the sandbox through a symlink`);
    dir = real;
  }
  return dir;
}

/** Where a file at `relative` may be created: its directory is inside `root`, and nothing is in the way. */
async function placeInside(root: string, relative: string): Promise<string> {
  const parent = await makeDirsInside(root, path.posix.dirname(relative));
  const destination = path.join(parent, path.posix.basename(relative));
  // Removes a file or symlink of the same name (later entries win, as with tar and unzip -o);
  // fails on a directory, which is what we want.
  await rm(destination, { force: true });
  return destination;
}

async function readSmall(stream: Readable, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) {
      stream.destroy();
      throw new Refusal(`archive symlink '${what}' has a target longer than ${limit} bytes`);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** A pass-through that fails once more than `limit` bytes went through. */
function byteLimit(limit: number, what: string): Transform & { bytes: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      counter.bytes += chunk.length;
      if (counter.bytes > limit) callback(new Refusal(`${what} is larger than the limit of ${formatBytes(limit)}`));
      else callback(null, chunk);
    },
  }) as Transform & { bytes: number };
  counter.bytes = 0;
  return counter;
}

function formatBytes(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** An operator-facing reason for an I/O error. */
function describe(error: unknown): string {
  if (error instanceof Refusal) return error.message;
  const failure = error as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
  switch (failure.code) {
    case 'ECONNREFUSED':
      return failure.address === undefined ? 'connection refused' : `connection refused by ${failure.address}${failure.port === undefined ? '' : `:${failure.port}`}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host${failure.hostname === undefined ? '' : ` '${failure.hostname}'`}`;
    case 'ECONNRESET':
      return 'connection reset by the server';
    case 'ENOENT':
      return `no such file or directory${failure.path === undefined ? '' : ` '${failure.path}'`}`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied${failure.path === undefined ? '' : ` on '${failure.path}'`}`;
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      break;
  }
  if (failure.message?.startsWith('Redirect loop detected') === true) return 'redirect loop';
  if (failure.code?.startsWith('UND_ERR_') === true) return `HTTP request failed: ${failure.message}`;
  return failure.message ?? String(error);
}

/** The URI without user:password, so credentials never reach a task status or a log line. */
function redactUri(uri: string): string {
  try {
    const url = new URL(uri.trimStart());
    if (url.username === '' && url.password === '') return uri;
    url.username = '***';
    url.password = '';
    return url.href;
  } catch {
    return uri;
  }
}
