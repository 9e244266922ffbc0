import type { HostMount } from './host-volumes.ts';
import type { ContainerProcess, ContainerUser } from './image-config.ts';

/** Where the task's sandbox appears in its container, as in Mesos (`MESOS_SANDBOX`). */
export const CONTAINER_SANDBOX = '/mnt/mesos/sandbox';

export interface OciSpecInput {
  process: ContainerProcess;
  user: ContainerUser;
  /** The unpacked image, relative to the bundle (umoci writes `rootfs`). */
  rootfs: string;
  /** The task's sandbox on the host, bind-mounted read-write at CONTAINER_SANDBOX. */
  sandbox: string;
  hostname: string;
  /** The capabilities the agent itself holds (its bounding set): a container never gets more. */
  agentCapabilities: readonly string[];
  /** Docker's privileged: every capability (of the agent's), /sys writable, nothing masked, privileges may be gained (not the host's devices). */
  privileged?: boolean;
  /** Host-path volumes, checked against the agent's allow-list (hostVolumeMounts). */
  volumes?: readonly HostMount[];
  /** The task's network namespace (bridge or container network, #18); absent: the host's network. */
  netns?: string;
}

/** Docker's default capabilities: what a container's root may do without `privileged`. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

/**
 * The OCI runtime spec (config.json) of a task's container: its own pid, mount, uts and ipc
 * namespaces; the host's network namespace (this slice has no bridge: the task listens on its
 * host ports as a process task does); the sandbox bind-mounted at /mnt/mesos/sandbox; Docker's
 * default capabilities, masked and read-only /proc paths; rlimits are the agent's (inherited), as
 * for a process task. No `linux.resources` or `cgroupsPath`:
 * the runtime runs with its cgroup manager off inside the task's cgroup, which the trampoline
 * joined and the isolator limits, exactly as for a process task.
 */
export function ociRuntimeSpec(input: OciSpecInput): Record<string, unknown> {
  const privileged = input.privileged === true;
  // As Docker: privileged is every capability the runtime's caller has, not more (capset would fail).
  const caps = (privileged ? ALL_CAPABILITIES : DEFAULT_CAPABILITIES).filter((cap) => input.agentCapabilities.includes(cap));
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: input.user.uid, gid: input.user.gid },
      args: input.process.args,
      env: input.process.env,
      cwd: input.process.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      noNewPrivileges: !privileged,
    },
    root: { path: input.rootfs, readonly: false },
    hostname: input.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] },
      // The host's resolver: the container shares the host's network.
      { destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind', 'ro'] },
      { destination: CONTAINER_SANDBOX, type: 'bind', source: input.sandbox, options: ['rbind', 'rw'] },
      ...(input.volumes ?? []).map((v) => ({ destination: v.destination, type: 'bind', source: v.source, options: ['rbind', v.readonly ? 'ro' : 'rw', 'nosuid', 'nodev'] })),
    ],
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }, ...(input.netns !== undefined ? [{ type: 'network', path: input.netns }] : [])],
      ...(privileged ? {} : {
        maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
        readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
      }),
    },
  };
}

/** Every capability of Linux 5.9+, by bit number (CAP_CHECKPOINT_RESTORE is 40): a privileged container's. */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

/** The capability names of a mask as /proc/<pid>/status shows it (`CapBnd: 000001ffffffffff`). */
export function capabilitiesOf(hexMask: string): string[] {
  const mask = /^[0-9a-f]{1,16}$/i.test(hexMask) ? BigInt(`0x${hexMask}`) : 0n;
  return ALL_CAPABILITIES.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/**
 * A container id crun accepts (letters, digits, `_ + - .`), the same for the same task id:
 * so a restarted agent finds its containers by task id.
 */
export function containerIdOf(taskId: string): string {
  const id = taskId.replace(/[^A-Za-z0-9_.-]/g, (c) => `+${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  // `.` and `..` would name the bundles' directory or the work dir itself (removed with the bundle).
  return /^\.{1,2}$/.test(id) ? id.replace(/\./g, '+2e') : id;
}

/** The task id a container of this agent holds, or undefined for one it did not make. */
export function taskIdOfContainer(id: string): string | undefined {
  if (!/^[A-Za-z0-9_.+-]+$/.test(id)) return undefined;
  return id.replace(/\+([0-9a-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export interface RuntimeCommand {
  /** Absolute path of crun. */
  crun: string;
  /** crun's state directory of this agent (`--root`): its containers and no one else's. */
  stateRoot: string;
  /**
   * crun refuses a hybrid cgroup host whose cgroup2 mount has controllers ("cgroups in hybrid
   * mode not supported"). It manages no cgroups here, so it runs in a private mount namespace
   * with that mount lifted (`unshare -m`); the container gets its own mount namespace anyway.
   */
  hideUnified?: { unshare: string; mount: string };
}

/** argv of one crun call (`run`, `kill`, `delete`, `list`), as this agent makes them. */
export function runtimeArgv(command: RuntimeCommand, args: readonly string[]): string[] {
  const crun = [command.crun, '--root', command.stateRoot, '--cgroup-manager=disabled', ...args];
  if (command.hideUnified === undefined) return crun;
  return [command.hideUnified.unshare, '--mount', '--propagation', 'private', '/bin/sh', '-c', `umount -l '${command.hideUnified.mount}' && exec "$@"`, 'corral-crun', ...crun];
}
