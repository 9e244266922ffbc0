import type { ValidationDetail } from '../errors.ts';
import type { TaskContainer } from '../../shared/agent-protocol.ts';
import type { AppContainer, HostVolume, PersistentVolume } from '../types.ts';

/** `persistent`: the local persistent volumes, with or without an image (a process task has them in its sandbox). */
export type ContainerResult = { ok: true; container: AppContainer | undefined; persistent: PersistentVolume[] } | { ok: false; details: ValidationDetail[] };

const NOT_YET = 'is not supported yet';
const isEmptyList = (value: unknown): boolean => value === undefined || (Array.isArray(value) && value.length === 0);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An image reference as Docker writes it: `[registry[:port]/]name[:tag][@sha256:<64 hex>]`
 * (lower-case path components, at least one tag or digest optional). The agent parses it again
 * to pull it; this only keeps obvious typos out of the store.
 */
const IMAGE = /^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/**
 * Marathon's `container` (DOCKER, or MESOS with `docker.image`: both run the image on the agent's
 * own runtime, as Mesos' unified containerizer does). What this slice cannot run yet is refused
 * by name, at its path, rather than accepted and ignored: docker parameters other than env, hostname and label. COMPAT(marathon): null, or a MESOS container
 * with no image and empty lists, means "no container" (UIs and exports write it); a container
 * without a type is DOCKER, Marathon's default. A MESOS container without an image may hold
 * persistent volumes only (as Mesos allowed: the task runs on the host, the volume in its sandbox).
 */
export function checkContainer(raw: Record<string, unknown> | null | undefined): ContainerResult {
  if (raw === null || raw === undefined) return { ok: true, container: undefined, persistent: [] };
  const details: ValidationDetail[] = [];
  const refuse = (path: string, error: string): void => void details.push({ path, errors: [error] });
  const type = raw.type ?? 'DOCKER';
  if (type !== 'DOCKER' && type !== 'MESOS') refuse('/container/type', `must be DOCKER or MESOS (got ${JSON.stringify(type)})`);
  for (const key of Object.keys(raw)) {
    if (!['type', 'docker', 'volumes', 'portMappings'].includes(key)) refuse(`/container/${key}`, `unknown container field ${key}`);
  }
  const docker = raw.docker;
  const { host: volumes, persistent } = checkVolumes(raw.volumes, refuse);
  if (docker === undefined && type === 'MESOS') {
    if (volumes.length > 0) refuse('/container/volumes', `host-path volumes without an image ${NOT_YET} (persistent volumes are)`);
    return details.length > 0 ? { ok: false, details } : { ok: true, container: undefined, persistent };
  }
  if (!isObject(docker)) {
    refuse('/container/docker', 'a container needs docker.image (the image to run)');
    return { ok: false, details };
  }
  for (const key of Object.keys(docker)) {
    if (!['image', 'forcePullImage', 'privileged', 'parameters', 'network', 'portMappings', ...REGISTRY_CREDENTIALS].includes(key)) refuse(`/container/docker/${key}`, `unknown docker field ${key}`);
  }
  for (const key of REGISTRY_CREDENTIALS) {
    if (docker[key] !== undefined) refuse(`/container/docker/${key}`, 'per-app registry credentials are not supported (Corral has no secret store: give the agents --registry-auth-file, Docker config.json form)');
  }
  const image = docker.image;
  if (typeof image !== 'string' || image === '') refuse('/container/docker/image', 'must be an image name (name:tag or name@sha256:digest)');
  else if (!IMAGE.test(image)) refuse('/container/docker/image', `${JSON.stringify(image)} is not an image reference (name:tag or name@sha256:digest)`);
  if (docker.forcePullImage !== undefined && typeof docker.forcePullImage !== 'boolean') refuse('/container/docker/forcePullImage', 'must be a boolean');
  if (docker.privileged !== undefined && typeof docker.privileged !== 'boolean') refuse('/container/docker/privileged', 'must be a boolean');
  const parameters = checkParameters(docker.parameters, refuse);
  // network and portMappings (either place) are core/app-networks.ts's.
  if (details.length > 0) return { ok: false, details };
  return {
    ok: true,
    persistent,
    container: {
      type: type as AppContainer['type'],
      docker: { image: image as string, forcePullImage: docker.forcePullImage === true, privileged: docker.privileged === true, parameters },
      volumes,
    },
  };
}

/**
 * Refused by name: Marathon's pullConfig names a secret in a store Corral does not have, and Mesos'
 * deprecated inline credential would show its secret in /v2/apps, events and deployments.
 * Registry credentials are the agents' (--registry-auth-file).
 */
const REGISTRY_CREDENTIALS = ['credential', 'pullConfig'];

const HOSTNAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const ENV_ENTRY = /^[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * Docker CLI `parameters` where they mean something without Docker: `env` (`NAME=value`),
 * `hostname` (the container's, at most 63 characters), `label` (`key=value`, metadata only).
 * Any other key is refused by name rather than dropped.
 */
function checkParameters(raw: unknown, refuse: (path: string, error: string) => void): Array<{ key: string; value: string }> {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    refuse('/container/docker/parameters', 'must be an array of {key, value}');
    return [];
  }
  const parameters: Array<{ key: string; value: string }> = [];
  raw.forEach((parameter: unknown, index) => {
    const path = `/container/docker/parameters/${index}`;
    if (!isObject(parameter) || typeof parameter.key !== 'string' || typeof parameter.value !== 'string') return refuse(path, 'must be {key, value} with string values');
    const { key, value } = parameter;
    if (key === 'env' && !ENV_ENTRY.test(value)) return refuse(`${path}/value`, 'an env parameter is NAME=value');
    if (key === 'hostname' && (value.length > 63 || !HOSTNAME.test(value))) return refuse(`${path}/value`, 'must be a host name of at most 63 characters');
    if (key === 'label' && !value.includes('=')) return refuse(`${path}/value`, 'a label parameter is key=value');
    if (!['env', 'hostname', 'label'].includes(key)) return refuse(`${path}/key`, `docker parameter ${key} ${NOT_YET} (env, hostname and label are)`);
    parameters.push({ key, value });
  });
  return parameters;
}

const ABSOLUTE = /^\/(?!.*(?:^|\/)\.\.(?:\/|$))/;

/** Host-path and local persistent volumes; external and secret volumes, and host paths in the sandbox, are refused for now. */
function checkVolumes(raw: unknown, refuse: (path: string, error: string) => void): { host: HostVolume[]; persistent: PersistentVolume[] } {
  const volumes: HostVolume[] = [];
  const persistent: PersistentVolume[] = [];
  if (raw === undefined) return { host: volumes, persistent };
  if (!Array.isArray(raw)) {
    refuse('/container/volumes', 'must be an array');
    return { host: volumes, persistent };
  }
  raw.forEach((volume: unknown, index) => {
    const path = `/container/volumes/${index}`;
    if (!isObject(volume)) return refuse(path, 'must be an object');
    if (volume.persistent !== undefined) {
      const checked = checkPersistentVolume(volume, path, refuse);
      if (checked !== undefined) {
        if (persistent.some((v) => v.containerPath === checked.containerPath)) return refuse(`${path}/containerPath`, `another persistent volume is at ${checked.containerPath}`);
        persistent.push(checked);
      }
      return undefined;
    }
    for (const kind of ['external', 'secret']) {
      if (volume[kind] !== undefined) return refuse(`${path}/${kind}`, `${kind} volumes ${NOT_YET}: only host paths ({containerPath, hostPath, mode})`);
    }
    const unknown = Object.keys(volume).find((key) => !['containerPath', 'hostPath', 'mode'].includes(key));
    if (unknown !== undefined) return refuse(`${path}/${unknown}`, `unknown volume field ${unknown}`);
    const { containerPath, hostPath, mode = 'RW' } = volume;
    if (typeof hostPath !== 'string' || !ABSOLUTE.test(hostPath)) return refuse(`${path}/hostPath`, 'must be an absolute path on the agent, without ..');
    if (typeof containerPath !== 'string' || !ABSOLUTE.test(containerPath)) return refuse(`${path}/containerPath`, `must be an absolute path in the container, without .. (paths in the sandbox ${NOT_YET})`);
    if (mode !== 'RO' && mode !== 'RW') return refuse(`${path}/mode`, 'must be RO or RW');
    volumes.push({ containerPath, hostPath, mode });
  });
  return { host: volumes, persistent };
}

/** One path component in the sandbox: the volume is mounted at `<sandbox>/<containerPath>`. */
const SANDBOX_NAME = /^(?!\.\.?$)[^/\0]+$/;

/**
 * Marathon's local persistent volume `{containerPath, mode: "RW", persistent: {size, type: "root"}}`:
 * `size` in MiB (> 0), only `root` disks (the agent's work dir), read-write only (Marathon's rule).
 */
function checkPersistentVolume(volume: Record<string, unknown>, path: string, refuse: (path: string, error: string) => void): PersistentVolume | undefined {
  const unknown = Object.keys(volume).find((key) => !['containerPath', 'mode', 'persistent'].includes(key));
  if (unknown !== undefined) return void refuse(`${path}/${unknown}`, unknown === 'hostPath' ? 'a persistent volume has no hostPath' : `unknown volume field ${unknown}`);
  const { containerPath, mode = 'RW', persistent } = volume;
  if (typeof containerPath !== 'string' || !SANDBOX_NAME.test(containerPath)) {
    return void refuse(`${path}/containerPath`, 'must be a relative path in the sandbox, one name without / (e.g. "data")');
  }
  if (mode !== 'RW') return void refuse(`${path}/mode`, 'must be RW for a persistent volume');
  if (!isObject(persistent)) return void refuse(`${path}/persistent`, 'must be {size, type}');
  const extra = Object.keys(persistent).find((key) => !['size', 'type', 'maxSize', 'constraints', 'profileName'].includes(key));
  if (extra !== undefined) return void refuse(`${path}/persistent/${extra}`, `unknown persistent field ${extra}`);
  const { size, type = 'root' } = persistent;
  if (typeof size !== 'number' || !Number.isInteger(size) || size <= 0) return void refuse(`${path}/persistent/size`, 'must be a whole number of MiB greater than 0');
  if (type !== 'root') return void refuse(`${path}/persistent/type`, `${JSON.stringify(type)} disks ${NOT_YET} (root is)`);
  for (const key of ['maxSize', 'constraints', 'profileName']) {
    // COMPAT(marathon): its GET writes `constraints: []`; an app read back is accepted as written.
    if (persistent[key] !== undefined && !(key === 'constraints' && isEmptyList(persistent[key]))) return void refuse(`${path}/persistent/${key}`, `${key} ${NOT_YET}`);
  }
  return { containerPath, mode: 'RW', size };
}

/** A persistent volume as Marathon writes it in `container.volumes`. */
export function persistentVolumeJson(volume: PersistentVolume): Record<string, unknown> {
  return { containerPath: volume.containerPath, mode: volume.mode, persistent: { type: 'root', size: volume.size, constraints: [] } };
}

/** The image part of a launch: Docker `parameters` become the container's hostname and extra env. */
export function containerLaunch(container: AppContainer): TaskContainer {
  const hostname = container.docker.parameters.filter((p) => p.key === 'hostname').at(-1)?.value;
  const env = Object.fromEntries(container.docker.parameters.filter((p) => p.key === 'env').map((p) => [p.value.slice(0, p.value.indexOf('=')), p.value.slice(p.value.indexOf('=') + 1)]));
  return {
    image: container.docker.image,
    forcePull: container.docker.forcePullImage,
    volumes: container.volumes,
    ...(container.docker.privileged ? { privileged: true } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
    ...(Object.keys(env).length > 0 ? { env } : {}),
  };
}
