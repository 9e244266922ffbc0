import { posix } from 'node:path';

/**
 * Where a `path=` query parameter of the files API points, decided on the text alone. The
 * caller still resolves symlinks on disk and checks the real path with {@link isWithinRoot}:
 * text can only rule out what is plainly outside.
 */
export type SandboxPathResolution =
  | { readonly kind: 'inside'; readonly path: string }
  | { readonly kind: 'outside'; readonly message: string }
  | { readonly kind: 'invalid'; readonly message: string };

const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;

/**
 * Resolves `requested` (already URL-decoded once, as Fastify hands it over) against the
 * sandbox root. An absolute path must lie inside the root; a relative one is taken from the
 * root. `root` must be absolute.
 */
export function resolveSandboxPath(root: string, requested: unknown): SandboxPathResolution {
  // COMPAT(mesos): the files endpoints answer 400 "Expecting 'path=value' in query." alike.
  if (typeof requested !== 'string' || requested === '') return { kind: 'invalid', message: "Expecting 'path=value' in query." };
  if (requested.includes('\0')) return { kind: 'invalid', message: 'path contains a NUL byte' };
  // Linux's PATH_MAX and NAME_MAX: longer paths cannot name anything, and answer 400 here rather
  // than a 500 from ENAMETOOLONG.
  if (Buffer.byteLength(requested) > MAX_PATH_BYTES) return { kind: 'invalid', message: `path is longer than ${MAX_PATH_BYTES} bytes` };
  if (requested.split('/').some((part) => Buffer.byteLength(part) > MAX_NAME_BYTES)) {
    return { kind: 'invalid', message: `path has a name longer than ${MAX_NAME_BYTES} bytes` };
  }
  const base = posix.resolve(root);
  const path = posix.isAbsolute(requested) ? posix.resolve(requested) : posix.resolve(base, requested);
  if (!isWithinRoot(base, path)) return { kind: 'outside', message: `'${requested}' is outside the sandbox root` };
  return { kind: 'inside', path };
}

/** True when `path` is `root` itself or lies below it (both absolute and normalised). */
export function isWithinRoot(root: string, path: string): boolean {
  if (path === root) return true;
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return path.startsWith(prefix);
}

/** Every parent of an absolute path, nearest first, ending with `/`. */
export function ancestorsOf(path: string): string[] {
  const ancestors: string[] = [];
  let current = posix.resolve(path);
  while (current !== '/') {
    current = posix.dirname(current);
    ancestors.push(current);
  }
  return ancestors;
}

/** The `offset` and `length` of a `/files/read` query; -1 means "not given". */
export type ReadQuery =
  | { readonly kind: 'query'; readonly offset: number; readonly length: number }
  | { readonly kind: 'invalid'; readonly message: string };

/** Parses `offset` and `length` before the file is touched, as Mesos does: a bad number is a 400 even for a missing file. */
export function parseReadQuery(query: { offset?: unknown; length?: unknown }): ReadQuery {
  const offset = parseInteger(query.offset, 'offset');
  if (typeof offset === 'string') return { kind: 'invalid', message: offset };
  const length = parseInteger(query.length, 'length');
  if (typeof length === 'string') return { kind: 'invalid', message: length };
  if (offset < -1) return { kind: 'invalid', message: `Failed to parse offset: ${offset} is negative` };
  if (length < -1) return { kind: 'invalid', message: `Failed to parse length: ${length} is negative` };
  return { kind: 'query', offset, length };
}

/**
 * Mesos' `/files/read` arithmetic: offset -1 means "the end", so a client learns the size and
 * can tail from there; length -1 means "to the end"; the length is capped at `maxLength`;
 * reading at or past the end answers no data at offset `size` (which also tells a client
 * whose file was truncated under it where the end now is).
 */
export function planReadWindow(query: { offset: number; length: number }, size: number, maxLength: number): { offset: number; length: number } {
  const start = query.offset === -1 ? size : query.offset;
  if (start >= size) return { offset: size, length: 0 };
  const wanted = query.length === -1 ? size - start : query.length;
  return { offset: start, length: Math.min(wanted, maxLength, size - start) };
}

/** An integer query parameter; absent means -1 (Mesos' "not given"). Returns an error text. */
function parseInteger(value: unknown, name: string): number | string {
  if (value === undefined) return -1;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value.trim())) return `Failed to parse ${name}: '${String(value)}' is not an integer`;
  const parsed = Number(value.trim());
  if (!Number.isSafeInteger(parsed)) return `Failed to parse ${name}: '${value}' is out of range`;
  return parsed;
}

const S_IFMT = 0o170000;
const FILE_TYPES: ReadonlyArray<readonly [number, string]> = [
  [0o100000, '-'],
  [0o040000, 'd'],
  [0o120000, 'l'],
  [0o020000, 'c'],
  [0o060000, 'b'],
  [0o010000, 'p'],
  [0o140000, 's'],
];

/** `ls -l` style mode text as Mesos' browse answers it: file type, then rwx for user, group, other. */
export function formatFileMode(mode: number): string {
  const type = FILE_TYPES.find(([bits]) => (mode & S_IFMT) === bits)?.[1] ?? '-';
  let text = type;
  for (const shift of [6, 3, 0]) {
    const bits = (mode >> shift) & 0o7;
    text += (bits & 4 ? 'r' : '-') + (bits & 2 ? 'w' : '-') + (bits & 1 ? 'x' : '-');
  }
  return text;
}

/** Numeric id → name from the text of /etc/passwd or /etc/group (name:x:id:...); the first name wins. */
export function parseIdNames(text: string): ReadonlyMap<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const fields = line.split(':');
    const name = fields[0];
    const id = Number(fields[2]);
    if (name === undefined || name === '' || fields[2] === undefined || fields[2] === '' || !Number.isInteger(id)) continue;
    if (!names.has(id)) names.set(id, name);
  }
  return names;
}
