import type { ValidationDetail } from '../errors.ts';
import type { TaskContainer } from '../../shared/agent-protocol.ts';
import type { AppContainer, HostVolume } from '../types.ts';

export type ContainerResult = { ok: true; container: AppContainer | undefined } | { ok: false; details: ValidationDetail[] };

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
 * by name, at its path, rather than accepted and ignored: port mappings, bridge and container
 * networks, persistent volumes, docker parameters other than env, hostname and label. COMPAT(marathon): null, or a MESOS container
 * with no image and empty lists, means "no container" (UIs and exports write it); a container
 * without a type is DOCKER, Marathon's default.
 */
export function checkContainer(raw: Record<string, unknown> | null | undefined): ContainerResult {
  if (raw === null || raw === undefined) return { ok: true, container: undefined };
  const details: ValidationDetail[] = [];
  const refuse = (path: string, error: string): void => void details.push({ path, errors: [error] });
  const type = raw.type ?? 'DOCKER';
  if (type !== 'DOCKER' && type !== 'MESOS') refuse('/container/type', `must be DOCKER or MESOS (got ${JSON.stringify(type)})`);
  for (const key of Object.keys(raw)) {
    if (!['type', 'docker', 'volumes', 'portMappings'].includes(key)) refuse(`/container/${key}`, `unknown container field ${key}`);
  }
  if (!isEmptyList(raw.portMappings)) refuse('/container/portMappings', `port mappings ${NOT_YET}: containers use the agent's host network; give ports in portDefinitions`);
  const docker = raw.docker;
  if (docker === undefined && type === 'MESOS') {
    if (!isEmptyList(raw.volumes)) refuse('/container/volumes', `volumes without an image ${NOT_YET}`);
    return details.length > 0 ? { ok: false, details } : { ok: true, container: undefined };
  }
  const volumes = checkVolumes(raw.volumes, refuse);
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
  if (docker.network !== undefined && docker.network !== 'HOST') {
    refuse('/container/docker/network', `${String(docker.network)} networking ${NOT_YET}: containers use the agent's host network (HOST)`);
  }
  if (!isEmptyList(docker.portMappings)) refuse('/container/docker/portMappings', `port mappings ${NOT_YET}: containers use the agent's host network; give ports in portDefinitions`);
  if (details.length > 0) return { ok: false, details };
  return {
    ok: true,
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

/** Host-path volumes; persistent, external and secret volumes, and paths in the sandbox, are refused for now. */
function checkVolumes(raw: unknown, refuse: (path: string, error: string) => void): HostVolume[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    refuse('/container/volumes', 'must be an array');
    return [];
  }
  const volumes: HostVolume[] = [];
  raw.forEach((volume: unknown, index) => {
    const path = `/container/volumes/${index}`;
    if (!isObject(volume)) return refuse(path, 'must be an object');
    for (const kind of ['persistent', 'external', 'secret']) {
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
  return volumes;
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
