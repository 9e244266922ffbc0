import type { PersistentVolumeMount } from '../../shared/agent-protocol.ts';

/** Mesos' reason for a task killed by the disk/du isolator's enforcement. */
export const DISK_LIMITATION = 'REASON_CONTAINER_LIMITATION_DISK';

/**
 * A persistence id is a directory name under `<work-dir>/volumes`: one path component, never
 * `.` or `..`, so a launch cannot name a directory outside it.
 */
export function isVolumeName(persistenceId: string): boolean {
  return persistenceId !== '' && persistenceId !== '.' && persistenceId !== '..' && !/[/\0]/.test(persistenceId) && persistenceId.length <= 255;
}

/** The same check for a volume's place in the sandbox (the scheduler checked it; the agent does not trust that). */
export function isSandboxName(containerPath: string): boolean {
  return isVolumeName(containerPath);
}

/**
 * Why a task must be killed for its volume's disk usage (`du`, in KiB), or undefined while it
 * fits: usage above the volume's size, as Mesos' disk/du isolator with enforcement says it.
 */
export function volumeOverLimit(usageKiB: number, volume: PersistentVolumeMount): string | undefined {
  if (usageKiB <= volume.size * 1024) return undefined;
  return `Disk usage (${(usageKiB / 1024).toFixed(1)} MiB) exceeds persistent volume ${volume.containerPath} (${volume.persistenceId}) size (${volume.size} MiB)`;
}
