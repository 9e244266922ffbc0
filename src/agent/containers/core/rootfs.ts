import { sep } from 'node:path';

/** The directories of one task's overlay root filesystem. */
export interface OverlayDirs {
  /** The image unpacked once (read-only, shared by every task of that image). */
  lower: string;
  /** The task's own changes, in its bundle. */
  upper: string;
  /** overlayfs' scratch directory, on the upper's file system. */
  work: string;
}

/**
 * The `-o` of an overlay mount, or why these paths cannot be given to it: the kernel splits the
 * options at `,` and lowerdir at `:`, and takes `\` as an escape.
 */
export function overlayMountOptions(dirs: OverlayDirs): { ok: true; options: string } | { ok: false; reason: string } {
  for (const path of [dirs.lower, dirs.upper, dirs.work]) {
    if (!path.startsWith('/')) return { ok: false, reason: `overlay needs absolute paths, not ${path}` };
    if (/[,:\\\n]/.test(path)) return { ok: false, reason: `overlay options cannot hold the path ${path} (it has , : \\ or a newline)` };
  }
  return { ok: true, options: `lowerdir=${dirs.lower},upperdir=${dirs.upper},workdir=${dirs.work}` };
}

/** A mount point as /proc/self/mountinfo writes it: space, tab, newline and backslash as octal escapes. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * The mount points strictly under `dir` in a /proc/<pid>/mountinfo text, deepest first (the
 * order they can be unmounted in): what a crashed agent may have left mounted in its bundles.
 */
export function mountPointsUnder(mountinfo: string, dir: string): string[] {
  const prefix = dir.endsWith(sep) ? dir : dir + sep;
  const points = mountinfo.split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field) => field !== undefined)
    .map(unescapeMountPath)
    .filter((point) => point.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

/** The manifest digest umoci unpacked, from the `umoci.json` it leaves in the bundle. */
export function unpackedManifestDigest(umociJson: unknown): string | undefined {
  const walk = (umociJson as { from_descriptor_path?: { descriptor_walk?: unknown } } | undefined)?.from_descriptor_path?.descriptor_walk;
  const digest = Array.isArray(walk) ? (walk[0] as { digest?: unknown } | undefined)?.digest : undefined;
  return typeof digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined;
}
