import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mountPointsUnder, overlayMountOptions, type OverlayDirs } from './core/rootfs.ts';

const run = promisify(execFile);

/** util-linux' mount and umount (absolute paths: never found through a PATH). */
export interface MountTools {
  mount: string;
  umount: string;
}

function stderrOf(error: unknown): string {
  return ((error as { stderr?: string }).stderr ?? '').trim() || (error as Error).message;
}

/** Mounts an overlay of `dirs` at `target` (which must exist). */
export async function mountOverlay(tools: MountTools, target: string, dirs: OverlayDirs): Promise<void> {
  const options = overlayMountOptions(dirs);
  if (!options.ok) throw new Error(options.reason);
  await mkdir(dirs.upper, { recursive: true });
  await mkdir(dirs.work, { recursive: true });
  try {
    await run(tools.mount, ['-t', 'overlay', 'overlay', '-o', options.options, target]);
  } catch (error) {
    throw new Error(`cannot mount an overlay at ${target}: ${stderrOf(error)}`, { cause: error });
  }
}

/**
 * Unmounts every mount under `dir` (deepest first), lazily when one is busy: after this nothing
 * of `dir` is mounted in the agent's namespace, and removing `dir` cannot reach into an image.
 */
export async function unmountUnder(umount: string, dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) {
    await run(umount, [point]).catch(() => run(umount, ['-l', point]));
  }
}

/** The mount points under `dir` in the agent's mount namespace. */
export async function mountsUnder(dir: string): Promise<string[]> {
  return mountPointsUnder(await readFile('/proc/self/mountinfo', 'utf8'), dir);
}

/**
 * Whether overlays can be mounted in `dir` (the file system the bundles and the unpacked images
 * share), tried once with a throw-away overlay; otherwise why not.
 */
export async function probeOverlay(tools: MountTools, dir: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  const probe = join(dir, '.overlay-probe');
  const merged = join(probe, 'merged');
  try {
    // One left by an agent killed while probing goes first.
    await unmountUnder(tools.umount, probe);
    await rm(probe, { recursive: true, force: true });
    await mkdir(join(probe, 'lower'), { recursive: true });
    await writeFile(join(probe, 'lower', 'probe'), 'lower\n');
    await mkdir(merged);
    await mountOverlay(tools, merged, { lower: join(probe, 'lower'), upper: join(probe, 'upper'), work: join(probe, 'work') });
    const seen = await readFile(join(merged, 'probe'), 'utf8');
    if (seen !== 'lower\n') return { ok: false, reason: `an overlay at ${merged} did not show its lower directory` };
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  } finally {
    await unmountUnder(tools.umount, probe).catch(() => undefined);
    if ((await mountsUnder(probe).catch(() => [])).length === 0) await rm(probe, { recursive: true, force: true });
  }
}
