export interface HostVolumeRequest {
  containerPath: string;
  hostPath: string;
  mode: 'RO' | 'RW';
  /** The host path with every link resolved, or undefined when it does not exist. */
  realHostPath: string | undefined;
}

export interface HostMount {
  source: string;
  destination: string;
  readonly: boolean;
}

const inside = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/**
 * The bind mounts of a task's host-path volumes, or why it may not have them: each host path
 * must exist and, links resolved, lie under one of the agent's --host-volume-paths (resolved
 * too), so an app cannot mount the agent's own state or the host's /etc. None allowed without
 * the flag.
 */
export function hostVolumeMounts(volumes: readonly HostVolumeRequest[], allowed: readonly string[]): { ok: true; mounts: HostMount[] } | { ok: false; reason: string } {
  const mounts: HostMount[] = [];
  for (const volume of volumes) {
    if (allowed.length === 0) return { ok: false, reason: `host path ${volume.hostPath} may not be mounted: this agent allows no host volumes (--host-volume-paths)` };
    if (volume.realHostPath === undefined) return { ok: false, reason: `host path ${volume.hostPath} does not exist on this agent` };
    if (!allowed.some((dir) => inside(volume.realHostPath as string, dir))) {
      return { ok: false, reason: `host path ${volume.hostPath}${volume.realHostPath !== volume.hostPath ? ` (${volume.realHostPath})` : ''} is not under this agent's --host-volume-paths (${allowed.join(', ')})` };
    }
    mounts.push({ source: volume.realHostPath, destination: volume.containerPath, readonly: volume.mode === 'RO' });
  }
  return { ok: true, mounts };
}
