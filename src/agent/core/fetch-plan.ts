import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FetchUri } from '../../shared/agent-protocol.ts';

/**
 * Pure decisions of the fetcher: where a URI comes from, where it lands in the sandbox, whether
 * and how it is unpacked, and whether an archive entry stays inside the sandbox. No I/O here;
 * src/agent/fetcher.ts does the downloading, copying and unpacking.
 */

/** Where the bytes come from. */
export type FetchSource = { kind: 'http'; url: string } | { kind: 'file'; path: string };

/**
 * How the fetched file is unpacked. `gunzip` is a bare `.gz` (not a tarball): Mesos writes the
 * decompressed file next to it, named without `.gz`.
 */
export type ArchiveKind = 'tar' | 'tar.gz' | 'zip' | 'gunzip';

export interface FetchPlan {
  source: FetchSource;
  /** POSIX path relative to the sandbox, normalised, never empty, never leaving the sandbox. */
  target: string;
  /** What to unpack the file as, or null to leave it as it is. */
  unpack: ArchiveKind | null;
  /** chmod 0755 after fetching. */
  executable: boolean;
}

export type Decision<T> = { ok: true; value: T } | { ok: false; reason: string };

// COMPAT(mesos): the same suffixes as Mesos' fetcher (src/launcher/fetcher.cpp `extract`). Mesos
// also unpacks .tbz2/.tar.bz2/.txz/.tar.xz through libarchive; node-tar reads neither bzip2 nor xz,
// so those names are refused with a clear reason rather than silently left packed.
const ARCHIVE_SUFFIXES: ReadonlyArray<readonly [string, ArchiveKind]> = [
  ['.tar.gz', 'tar.gz'],
  ['.tgz', 'tar.gz'],
  ['.tar', 'tar'],
  ['.zip', 'zip'],
  ['.gz', 'gunzip'],
];
const UNSUPPORTED_SUFFIXES = ['.tar.bz2', '.tbz2', '.tar.xz', '.txz'] as const;

/** The archive kind a file name asks for; an error for archive kinds Corral cannot read; null for anything else. */
export function archiveKindOf(fileName: string): Decision<ArchiveKind | null> {
  // Mesos matches case-sensitively; so do we.
  const unsupported = UNSUPPORTED_SUFFIXES.find((suffix) => fileName.endsWith(suffix));
  if (unsupported !== undefined) {
    return { ok: false, reason: `cannot extract ${unsupported} archives (bzip2 and xz are not supported); use .tar.gz, .tgz, .tar or .zip, or set extract to false` };
  }
  const match = ARCHIVE_SUFFIXES.find(([suffix]) => fileName.endsWith(suffix));
  return { ok: true, value: match === undefined ? null : match[1] };
}

/** True when `candidate` (absolute) is `root` (absolute) or below it. */
export function isWithin(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

/** Normalises a sandbox-relative POSIX path; a reason when it is absolute or climbs out. */
export function sandboxRelative(p: string, what: string): Decision<string> {
  if (p === '') return { ok: false, reason: `${what} is empty` };
  if (p.includes('\0')) return { ok: false, reason: `${what} '${p}' contains a NUL byte` };
  if (path.posix.isAbsolute(p) || /^[a-zA-Z]:[\\/]/.test(p)) return { ok: false, reason: `${what} '${p}' is an absolute path; it must be relative to the sandbox` };
  const normal = path.posix.normalize(p);
  if (normal === '..' || normal.startsWith('../')) return { ok: false, reason: `${what} '${p}' is outside the sandbox` };
  return { ok: true, value: normal };
}

/** Where a URI is read from: http(s) URLs, file:// URLs and absolute paths. */
export function fetchSourceOf(uri: string): Decision<FetchSource> {
  // COMPAT(mesos): Mesos trims leading whitespace off the URI before fetching.
  const trimmed = uri.trimStart();
  if (trimmed.startsWith('/')) return { ok: true, value: { kind: 'file', path: path.posix.normalize(trimmed) } };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    // Mesos resolves scheme-less relative paths against --frameworks_home; Corral has no such flag.
    return { ok: false, reason: 'not a URL or an absolute path (relative paths are not supported)' };
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') return { ok: true, value: { kind: 'http', url: url.href } };
  if (url.protocol === 'file:') {
    // COMPAT(mesos): file URIs may only name the local host.
    if (url.hostname !== '' && url.hostname !== 'localhost') return { ok: false, reason: `file URIs may only name the local host, not '${url.hostname}'` };
    try {
      return { ok: true, value: { kind: 'file', path: fileURLToPath(`file://${url.pathname}`) } };
    } catch (error) {
      return { ok: false, reason: `bad file URI: ${(error as Error).message}` };
    }
  }
  return { ok: false, reason: `unsupported scheme '${url.protocol.slice(0, -1)}' (supported: http, https, file, absolute paths)` };
}

/** The URI's base name without query string or fragment, as Mesos' `Fetcher::basename`. */
export function baseNameOf(source: FetchSource): Decision<string> {
  let last: string;
  if (source.kind === 'file') {
    last = path.posix.basename(source.path);
  } else {
    const segment = new URL(source.url).pathname.split('/').pop() ?? '';
    try {
      last = decodeURIComponent(segment);
    } catch {
      last = segment;
    }
  }
  if (last === '' || last === '.' || last === '..' || last.includes('/') || last.includes('\0')) {
    return { ok: false, reason: 'cannot derive a file name from the URI; set destPath' };
  }
  return { ok: true, value: last };
}

/** Everything the fetcher decides about one entry before touching the network or the disk. */
export function planFetch(entry: FetchUri): Decision<FetchPlan> {
  const source = fetchSourceOf(entry.uri);
  if (!source.ok) return source;
  let target: string;
  if (entry.destPath !== undefined) {
    if (entry.destPath.endsWith('/')) return { ok: false, reason: `destPath '${entry.destPath}' names a directory; it must name a file` };
    const relative = sandboxRelative(entry.destPath, 'destPath');
    if (!relative.ok) return relative;
    if (relative.value === '.') return { ok: false, reason: `destPath '${entry.destPath}' is the sandbox itself; it must name a file` };
    target = relative.value;
  } else {
    const base = baseNameOf(source.value);
    if (!base.ok) return base;
    target = base.value;
  }
  // COMPAT(mesos): an executable is chmodded and never extracted, whatever `extract` says.
  let unpack: ArchiveKind | null = null;
  if (!entry.executable && entry.extract) {
    const kind = archiveKindOf(path.posix.basename(target));
    if (!kind.ok) return kind;
    unpack = kind.value;
  }
  return { ok: true, value: { source: source.value, target, unpack, executable: entry.executable } };
}

/** The kinds of archive entry the fetcher unpacks; devices, FIFOs and the like are refused. */
export type ArchiveEntryType = 'file' | 'directory' | 'symlink' | 'hardlink';

/**
 * Null when an archive entry unpacks inside the extraction root, otherwise why not. A symlink's
 * target is resolved from the link's own directory, a hard link's from the root (as tar does).
 * The check is lexical; the fetcher additionally never writes through an existing symlink.
 */
export function archiveEntryProblem(entryPath: string, type: ArchiveEntryType, linkTarget?: string): string | null {
  const name = entryPath.replace(/\\/g, '/');
  if (name.includes('\0')) return `archive entry '${entryPath}' contains a NUL byte`;
  if (path.posix.isAbsolute(name) || /^[a-zA-Z]:\//.test(name)) return `archive entry '${entryPath}' has an absolute path`;
  if (name.split('/').includes('..')) return `archive entry '${entryPath}' climbs out of the sandbox with '..'`;
  if (type === 'symlink' || type === 'hardlink') {
    if (linkTarget === undefined || linkTarget === '') return `archive ${type} '${entryPath}' has no target`;
    const target = linkTarget.replace(/\\/g, '/');
    if (path.posix.isAbsolute(target) || /^[a-zA-Z]:\//.test(target)) return `archive ${type} '${entryPath}' points to the absolute path '${linkTarget}'`;
    const from = type === 'symlink' ? path.posix.dirname(name) : '.';
    const resolved = path.posix.normalize(path.posix.join(from, target));
    if (resolved === '..' || resolved.startsWith('../')) return `archive ${type} '${entryPath}' points outside the sandbox ('${linkTarget}')`;
  }
  return null;
}
