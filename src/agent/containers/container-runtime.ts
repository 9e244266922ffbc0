import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { promisify } from 'node:util';
import type { TaskLaunch } from '../../shared/agent-protocol.ts';
import { AgentError } from '../errors.ts';
import { containerProcess, resolveContainerUser, type ContainerUser } from './core/image-config.ts';
import { capabilitiesOf, CONTAINER_SANDBOX, containerIdOf, ociRuntimeSpec, runtimeArgv, taskIdOfContainer, type RuntimeCommand } from './core/oci-spec.ts';
import { hostVolumeMounts, type HostMount } from './core/host-volumes.ts';
import { storeNameOf } from './core/image-ref.ts';
import type { GcPlan } from './core/image-gc.ts';
import { parseRegistryMirrors } from './core/registry-mirrors.ts';
import { parseRegistryAuth } from './core/registry-auth.ts';
import { ImageStore } from './image-store.ts';
import type { ContainerNetworks } from './container-networks.ts';
import { findImageArchive } from './image-archives.ts';
import { mountOverlay, mountsUnder, probeOverlay, unmountUnder, type MountTools } from './rootfs-mounts.ts';

const run = promisify(execFile);

/** Where Debian puts the tools; never looked up through a PATH a task could set. */
function findTool(name: string): string | undefined {
  return ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'].map((dir) => join(dir, name)).find((path) => existsSync(path));
}

export interface ContainerRuntimeOptions {
  workDir: string;
  insecureRegistries: readonly string[];
  /** `--registry-mirror` values (checked here: a bad one means no image runtime, with the reason). */
  registryMirrors: readonly string[];
  /** `--registry-auth-file`: registry credentials (Docker config.json form), checked here and read by skopeo at each pull. */
  registryAuthFile?: string | undefined;
  /** `--host-volume-paths`: the only host directories apps may mount (none: no host volumes). */
  hostVolumePaths: readonly string[];
  /** `--allow-privileged-containers`: tasks may ask for `privileged`. */
  allowPrivileged: boolean;
  /** The agent's uid (containers need root). */
  uid: number;
  /** The agent's clean environment, for the tools. */
  env: Readonly<Record<string, string>>;
  /** `--image-gc-max-size` / `--image-gc-min-age`, and where to say what was collected. */
  imageGc?: { maxBytes: number; minAgeMs: number; onCollected: (plan: GcPlan) => void; onFailed: (error: Error) => void };
  /** Where cgroups are mounted (default /sys/fs/cgroup): a hybrid host's cgroup2 mount is hidden from crun. */
  cgroupsRoot?: string;
  /** Bridge and container networks (absent: containers get the host network only). */
  networks?: ContainerNetworks;
}

/** How task root filesystems are made: an overlay on the image unpacked once, else a copy unpacked per task (and why). */
export type RootfsMode = { kind: 'overlay'; mounts: MountTools } | { kind: 'copy'; reason: string };

export type DetectedRuntime = { ok: true; runtime: ContainerRuntime } | { ok: false; reason: string };

/** What a task's container needs from the store before it runs. */
export interface PreparedContainer {
  /** The command the trampoline runs: `crun run` in the foreground, passing the exit code through. */
  argv: string[];
  /** The user the container's process runs as: the sandbox is given to it. */
  user: ContainerUser;
  /** The image's manifest digest, for the log and the status message. */
  digest: string | undefined;
  /** The task's addresses on its bridge or container network (absent on the host network). */
  ipAddresses?: string[];
}

/**
 * Runs tasks' images without a daemon, as Mesos' unified containerizer: images from ImageStore,
 * a bundle per task (`<work-dir>/containers/<id>/`: rootfs + config.json from ociRuntimeSpec), and
 * crun in the foreground under the task's trampoline, so the isolator's cgroup, the exit file,
 * adoption after an agent crash and stdout/stderr in the sandbox are a process task's. crun's
 * state of this agent lives in `<work-dir>/crun`: its containers are found there after a crash.
 */
export class ContainerRuntime {
  readonly #command: RuntimeCommand;
  readonly #bundles: string;
  readonly #hostVolumePaths: readonly string[];
  readonly #allowPrivileged: boolean;
  readonly #agentCapabilities: readonly string[];
  readonly images: ImageStore;
  readonly networks: ContainerNetworks | undefined;
  readonly rootfs: RootfsMode;
  /** util-linux' umount, when there: bundles are unmounted before removal whatever made them. */
  readonly #umount: string | undefined;

  private constructor(command: RuntimeCommand, bundles: string, images: ImageStore, hostVolumePaths: readonly string[], allowPrivileged: boolean, agentCapabilities: readonly string[], rootfs: RootfsMode, umount: string | undefined, networks: ContainerNetworks | undefined) {
    this.networks = networks;
    this.rootfs = rootfs;
    this.#umount = umount;
    this.#allowPrivileged = allowPrivileged;
    this.#agentCapabilities = agentCapabilities;
    this.#command = command;
    this.#bundles = bundles;
    this.images = images;
    this.#hostVolumePaths = hostVolumePaths;
  }

  /** The runtime when crun, skopeo and umoci are installed; otherwise why tasks with images cannot run here. */
  static async detect(options: ContainerRuntimeOptions): Promise<DetectedRuntime> {
    // Namespaces, mounts and the image's owners need root; rootless containers are not in this slice.
    if (options.uid !== 0) return { ok: false, reason: 'the agent is not running as root' };
    const tools = { crun: findTool('crun'), skopeo: findTool('skopeo'), umoci: findTool('umoci') };
    const missing = Object.entries(tools).filter(([, path]) => path === undefined).map(([name]) => name);
    if (missing.length > 0) return { ok: false, reason: `${missing.join(', ')} not found (apt-get install ${missing.join(' ')})` };
    const mirrors = parseRegistryMirrors(options.registryMirrors, options.insecureRegistries);
    if (!mirrors.ok) return { ok: false, reason: mirrors.reason };
    if (options.registryAuthFile !== undefined) {
      const text = await readFile(options.registryAuthFile, 'utf8').catch((error: unknown) => new Error(`--registry-auth-file ${options.registryAuthFile}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`));
      const auth = text instanceof Error ? { ok: false as const, reason: text.message } : parseRegistryAuth(text, `--registry-auth-file ${options.registryAuthFile}`);
      if (!auth.ok) return { ok: false, reason: auth.reason };
    }
    const unified = join(options.cgroupsRoot ?? '/sys/fs/cgroup', 'unified');
    const hybridControllers = (await readFile(join(unified, 'cgroup.controllers'), 'utf8').catch(() => '')).trim() !== '';
    const unshare = findTool('unshare');
    if (hybridControllers && unshare === undefined) return { ok: false, reason: `crun refuses this hybrid cgroup host (${unified} has controllers) and unshare (util-linux) is not there to hide it` };
    const command: RuntimeCommand = {
      crun: tools.crun as string,
      stateRoot: join(options.workDir, 'crun'),
      ...(hybridControllers ? { hideUnified: { unshare: unshare as string, mount: unified } } : {}),
    };
    const bundles = join(options.workDir, 'containers');
    const gc = options.imageGc === undefined ? {} : { gc: { ...options.imageGc, inUse: () => imagesInUse(bundles) } };
    const images = new ImageStore({ ...gc, dir: join(options.workDir, 'images'), unpackedDir: join(options.workDir, 'image-rootfs'), tools: { skopeo: tools.skopeo as string, umoci: tools.umoci as string }, insecureRegistries: options.insecureRegistries, registryMirrors: mirrors.hosts, env: options.env, ...(options.registryAuthFile !== undefined ? { authFile: options.registryAuthFile } : {}) });
    const status = await readFile('/proc/self/status', 'utf8').catch(() => '');
    const agentCapabilities = capabilitiesOf(/^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? '');
    // Resolved once: a link among them points where it pointed at start-up.
    const hostVolumePaths = await Promise.all(options.hostVolumePaths.map((dir) => realpath(dir).catch(() => dir)));
    const mounts = { mount: findTool('mount'), umount: findTool('umount') };
    // Bundles and unpacked images share the work dir's file system: an overlay that mounts in one mounts in the other.
    const overlay = mounts.mount === undefined || mounts.umount === undefined ? { ok: false as const, reason: 'mount/umount (util-linux) not found' } : await probeOverlay(mounts as MountTools, bundles);
    const rootfs: RootfsMode = overlay.ok ? { kind: 'overlay', mounts: mounts as MountTools } : { kind: 'copy', reason: overlay.reason };
    return { ok: true, runtime: new ContainerRuntime(command, bundles, images, hostVolumePaths, options.allowPrivileged, agentCapabilities, rootfs, mounts.umount, options.networks) };
  }

  #bundle(taskId: string): string {
    return join(this.#bundles, containerIdOf(taskId));
  }

  /**
   * Pulls the task's image (when missing, or always with forcePull), unpacks it into the task's
   * bundle and writes its config.json. `progress` hears what is being done (the STARTING message).
   * Throws ERR_AGENT_IMAGE with the reason.
   */
  async prepare(task: TaskLaunch, sandbox: string, env: Readonly<Record<string, string>>, progress: (message: string) => void, persistent: readonly HostMount[] = [], signal?: AbortSignal): Promise<PreparedContainer> {
    const image = task.container?.image;
    if (image === undefined) throw new AgentError('ERR_AGENT_IMAGE', 'the task has no image');
    // Checked before anything is pulled: what this agent refuses fails the launch at once.
    const privileged = task.container?.privileged === true;
    if (privileged && !this.#allowPrivileged) throw new AgentError('ERR_AGENT_IMAGE', 'privileged containers are not allowed on this agent (--allow-privileged-containers)');
    const requests = await Promise.all((task.container?.volumes ?? []).map(async (v) => ({ ...v, realHostPath: await realpath(v.hostPath).catch(() => undefined) })));
    const volumes = hostVolumeMounts(requests, this.#hostVolumePaths);
    if (!volumes.ok) throw new AgentError('ERR_AGENT_IMAGE', volumes.reason);
    // Held from the pull until the bundle's marker says which image it runs: never collected in between.
    const release = this.images.hold(image);
    try {
      return await this.#prepareHeld(task, image, sandbox, env, progress, { privileged, volumes: [...volumes.mounts, ...persistent] }, signal);
    } finally {
      release();
    }
  }

  async #prepareHeld(task: TaskLaunch, image: string, sandbox: string, env: Readonly<Record<string, string>>, progress: (message: string) => void, checked: { privileged: boolean; volumes: HostMount[] }, signal?: AbortSignal): Promise<PreparedContainer> {
    const { privileged } = checked;
    const archive = await findImageArchive(task.fetch, sandbox, image);
    const cached = archive === undefined && !task.container?.forcePull && (await this.images.digest(image)) !== undefined;
    if (archive !== undefined) {
      progress(`Loading image ${image} from ${archive.name}`);
      await untilAborted(this.images.load(image, archive.source, archive.name), signal);
    } else {
      if (!cached) progress(`Pulling image ${image}`);
      await untilAborted(this.images.pull(image, task.container?.forcePull ?? false), signal);
    }
    if (signal?.aborted === true) throw new AgentError('ERR_AGENT_KILLED_BEFORE_START', 'killed before it started');
    const digest = await this.images.digest(image);
    progress(`${cached ? 'Image' : archive !== undefined ? `Loaded image from ${archive.name}:` : 'Pulled image'} ${image}${digest !== undefined ? ` (${digest})` : ''}; unpacking`);
    const config = await this.images.config(image);
    await this.images.touch(image);
    const bundle = this.#bundle(task.taskId);
    await this.#removeBundle(bundle);
    await mkdir(bundle, { recursive: true });
    await writeFile(join(bundle, IMAGE_MARKER), JSON.stringify({ name: storeNameOf(image), manifest: digest }));
    const rootfs = join(bundle, 'rootfs');
    if (this.rootfs.kind === 'overlay') {
      const lower = await this.images.unpacked(image);
      await mkdir(rootfs, { recursive: true });
      await mountOverlay(this.rootfs.mounts, rootfs, { lower, upper: join(bundle, 'upper'), work: join(bundle, 'work') }).catch((error: unknown) => {
        throw new AgentError('ERR_AGENT_IMAGE', (error as Error).message, { cause: error });
      });
    } else {
      await this.images.unpack(image, bundle);
    }
    const user = resolveContainerUser(task.user ?? config.user, await readInside(rootfs, 'etc/passwd'), await readInside(rootfs, 'etc/group'));
    if (!user.ok) throw new AgentError('ERR_AGENT_IMAGE', user.reason);
    const processSpec = containerProcess(config, task, { ...env, ...task.container?.env }, CONTAINER_SANDBOX);
    if (!processSpec.ok) throw new AgentError('ERR_AGENT_IMAGE', processSpec.reason);
    const network = task.container?.network;
    if (network !== undefined && this.networks === undefined) throw new AgentError('ERR_AGENT_IMAGE', 'this agent has no bridge or container networks (CNI plugins not found)');
    // Last, once the image is there: a failed pull leaves no namespace to undo.
    const attached = network === undefined ? undefined : await this.networks?.attach(task.taskId, network);
    const spec = ociRuntimeSpec({ process: processSpec.process, user: user.user, rootfs: 'rootfs', sandbox, hostname: task.container?.hostname ?? containerIdOf(task.taskId).slice(0, 63), volumes: checked.volumes, privileged, agentCapabilities: this.#agentCapabilities, ...(attached !== undefined ? { netns: attached.netns } : {}) });
    await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
    return { argv: runtimeArgv(this.#command, ['run', '--bundle', bundle, containerIdOf(task.taskId)]), user: user.user, digest, ...(attached !== undefined ? { ipAddresses: attached.ipAddresses } : {}) };
  }

  /** Signals the task's container (its pid 1); a container already gone is not an error. */
  async kill(taskId: string, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    await this.#crun(['kill', containerIdOf(taskId), signal.replace(/^SIG/, '')]).catch(() => undefined);
  }

  /** Kills what is left of the task's container, forgets it (`crun delete --force`), removes its bundle and its network. */
  async remove(taskId: string): Promise<void> {
    await this.#crun(['delete', '--force', containerIdOf(taskId)]).catch(() => undefined);
    await this.#removeBundle(this.#bundle(taskId));
    await this.networks?.detach(taskId);
  }

  /** Unmounts the bundle's root filesystem, then removes it: never removed through a mount (that would reach into the image). */
  async #removeBundle(bundle: string): Promise<void> {
    if (this.#umount !== undefined) await unmountUnder(this.#umount, bundle);
    const left = await mountsUnder(bundle);
    if (left.length > 0) throw new AgentError('ERR_AGENT_IMAGE', `cannot unmount ${left.join(', ')}: the bundle is kept`);
    await rm(bundle, { recursive: true, force: true });
  }

  /**
   * The task ids of this agent's containers: those crun knows (running or stopped), those with
   * a bundle left (an agent killed between mounting a root filesystem and starting crun), and
   * those with a network left.
   */
  async list(): Promise<string[]> {
    const { stdout } = await this.#crun(['list', '--quiet']).catch(() => ({ stdout: '' }));
    const bundles = (await readdir(this.#bundles).catch(() => [])).filter((name) => !name.startsWith('.'));
    const ids = [...stdout.split('\n').map((line) => line.trim()).filter((id) => id !== ''), ...bundles];
    return [...new Set([...ids.map(taskIdOfContainer).filter((id) => id !== undefined), ...((await this.networks?.list()) ?? [])])];
  }

  /** A task's addresses on its network (an adopted task's, for its health checks). */
  async addresses(taskId: string): Promise<string[]> {
    return (await this.networks?.addresses(taskId)) ?? [];
  }

  #crun(args: readonly string[]): Promise<{ stdout: string }> {
    const [program = '', ...rest] = runtimeArgv(this.#command, args);
    return run(program, rest, { maxBuffer: 4 * 2 ** 20 });
  }
}

/**
 * `work`, or a rejection as soon as `signal` aborts: a killed task stops waiting for a pull (which
 * goes on, shared with other launches of the image, and may never end on a registry that does not answer).
 */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new AgentError('ERR_AGENT_KILLED_BEFORE_START', 'killed before it started'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // The pull's own failure after the kill is nobody's to hear.
  work.catch(() => undefined);
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** In each bundle: the image (store name and manifest digest) its task runs. */
const IMAGE_MARKER = 'corral-image.json';

/** The images and unpacked digests the bundles run (their markers): what garbage collection keeps. */
async function imagesInUse(bundles: string): Promise<{ names: string[]; manifests: string[] }> {
  const names: string[] = [];
  const manifests: string[] = [];
  for (const entry of await readdir(bundles).catch(() => [])) {
    const marker = await readFile(join(bundles, entry, IMAGE_MARKER), 'utf8').then((text) => JSON.parse(text) as { name?: unknown; manifest?: unknown }, () => undefined);
    if (typeof marker?.name === 'string') names.push(marker.name);
    if (typeof marker?.manifest === 'string') manifests.push(marker.manifest);
  }
  return { names, manifests };
}

/** A file of the unpacked image, unless it leads outside it (an absolute link would read the host's). */
async function readInside(rootfs: string, path: string): Promise<string | undefined> {
  try {
    const real = await realpath(join(rootfs, path));
    const root = await realpath(rootfs);
    if (!real.startsWith(root + sep)) return undefined;
    return await readFile(real, 'utf8');
  } catch {
    return undefined;
  }
}
