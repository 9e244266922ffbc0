import type { PortDefinition } from '../../events/types.ts';
import type { ValidationDetail } from '../errors.ts';
import type { AppDefinition, ReadinessCheck } from '../types.ts';
import { normalizeAppId, resolveId } from './app-id.ts';
import { checkLaunchStrings, checkNulBytes, LIMITS } from './app-limits.ts';
import { checkAppJson } from './app-schema.ts';
import { checkContainer } from './app-container.ts';
import { checkNetworking } from './app-networks.ts';
import { checkConstraints } from './constraints.ts';
import { assignServicePorts } from './service-ports.ts';

/**
 * COMPAT(marathon): what only GET writes (counts, tasks, deployments, failures, stats, readiness
 * results). Marathon's readers skip them on a write, so an app can be PUT back as read.
 */
const READ_ONLY_FIELDS = [
  'tasksStaged', 'tasksRunning', 'tasksHealthy', 'tasksUnhealthy', 'deployments', 'tasks', 'lastTaskFailure', 'taskStats', 'readinessCheckResults',
] as const;

export type AppResult = { ok: true; app: AppDefinition } | { ok: false; details: ValidationDetail[] };

export interface AppContext {
  /** ISO time of this change; becomes the app's version. */
  now: string;
  apps: ReadonlyMap<string, AppDefinition>;
}

/**
 * Turns a posted Marathon app into a stored AppDefinition: schema and defaults, id rules,
 * legacy `ports`, service ports. `idFromPath` is the id in the URL of a PUT, which wins.
 */
export function buildApp(body: unknown, context: AppContext, idFromPath?: string): AppResult {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    if (idFromPath !== undefined) (body as Record<string, unknown>).id ??= idFromPath;
    for (const field of READ_ONLY_FIELDS) delete (body as Record<string, unknown>)[field];
  }
  // Asked before the schema fills in defaults: a resident app gets Marathon's own defaults for them.
  const given = typeof body === 'object' && body !== null ? body as Record<string, unknown> : {};
  const strategies = { unreachable: given.unreachableStrategy !== undefined, upgrade: given.upgradeStrategy !== undefined };
  const details = checkAppJson(body);
  if (details.length > 0) return { ok: false, details };
  const nulBytes = checkNulBytes(body);
  if (nulBytes.length > 0) return { ok: false, details: nulBytes };
  const raw = body as Record<string, unknown> & Omit<AppDefinition, 'portDefinitions' | 'version' | 'versionInfo'> & {
    portDefinitions?: PortDefinition[];
    ports?: number[];
    uris?: string[];
    constraints: string[][];
    container?: Record<string, unknown> | null;
    networks?: Array<{ mode: string; name?: string }>;
    ipAddress?: Record<string, unknown> | null;
  };
  const { id, error } = normalizeAppId(idFromPath ?? raw.id);
  if (error !== undefined) return { ok: false, details: [{ path: '/id', errors: [error] }] };
  const container = checkContainer(raw.container);
  // COMPAT(marathon): an image brings its own command (entrypoint and cmd); cmd and args are then optional.
  const hasImage = typeof (raw.container?.docker as Record<string, unknown> | undefined)?.image === 'string';
  if (raw.cmd === undefined && raw.args === undefined && !hasImage) {
    return { ok: false, details: [{ path: '/', errors: ["AppDefinition must either contain one of 'cmd' or 'args'"] }] };
  }
  if (raw.cmd !== undefined && raw.args !== undefined) {
    return { ok: false, details: [{ path: '/', errors: ["AppDefinition must not contain both 'cmd' and 'args'"] }] };
  }
  // COMPAT(marathon): GET shows both; Marathon takes them together when they list the same ports
  // (or either is empty), and then reads portDefinitions.
  if (raw.ports !== undefined && raw.portDefinitions !== undefined) {
    if (raw.ports.length > 0 && raw.portDefinitions.length > 0 && raw.ports.join() !== raw.portDefinitions.map((p) => p.port).join()) {
      return { ok: false, details: [{ path: '/ports', errors: ["'ports' and 'portDefinitions' cannot both be given unless they list the same ports"] }] };
    }
    delete raw.ports;
  }
  const networking = checkNetworking(raw);
  if (!networking.ok) return { ok: false, details: [...networking.details, ...(container.ok ? [] : container.details)] };
  const mappings = networking.networking.portMappings;
  // COMPAT(marathon): an app without port definitions gets one random port, as in Marathon (on the host network).
  const requested: PortDefinition[] = mappings !== undefined
    ? mappings.map((m) => ({ port: m.servicePort, protocol: m.protocol }))
    : raw.portDefinitions ?? (raw.ports ?? [0]).map((port) => ({ port, protocol: 'tcp' as const }));
  const previous = context.apps.get(id);
  const ports = assignServicePorts(id, requested, previous, context.apps, mappings !== undefined ? (index) => `${networking.networking.portMappingsPath ?? '/container/portMappings'}/${index}/servicePort` : undefined);
  if (!ports.ok) return { ok: false, details: [{ path: ports.path, errors: [ports.error] }] };
  const portMappings = mappings?.map((m, index) => ({ ...m, servicePort: ports.ports[index]?.port ?? m.servicePort }));
  // Port names as health and readiness checks see them: the mappings' off the host network.
  const namedPorts: ReadonlyArray<{ name?: string }> = portMappings ?? ports.ports;
  if (raw.requirePorts && ports.ports.some((p) => p.port === 0)) {
    return { ok: false, details: [{ path: '/requirePorts', errors: ['requirePorts needs fixed ports'] }] };
  }
  const constraints = checkConstraints(raw.constraints);
  const dependencies = resolveDependencies(raw.dependencies ?? [], id);
  const problems = [
    ...(portMappings === undefined ? checkPortNames(ports.ports) : []),
    ...(container.ok ? [] : container.details),
    ...checkLaunchStrings(raw),
    ...constraints.details,
    ...dependencies.details,
    ...checkReadinessChecks(raw.readinessChecks ?? [], namedPorts),
    ...checkHealthChecks(raw.healthChecks, namedPorts.length),
    ...checkFetch(raw.fetch, raw.uris),
    ...checkUnreachableStrategy(raw.unreachableStrategy),
  ];
  const persistent = container.ok ? container.persistent : [];
  const resident = persistent.length > 0 ? residentStrategies(raw, strategies) : undefined;
  if (resident !== undefined) problems.push(...resident.details);
  if (previous !== undefined && JSON.stringify(previous.persistentVolumes ?? []) !== JSON.stringify(persistent)) {
    problems.push({ path: '/container/volumes', errors: ['persistent volumes cannot be changed (nor added or removed) on an existing app: create a new app'] });
  }
  if (problems.length > 0) return { ok: false, details: problems };
  const app: AppDefinition = {
    id,
    ...(raw.cmd !== undefined ? { cmd: raw.cmd } : {}),
    ...(raw.args !== undefined ? { args: raw.args } : {}),
    instances: raw.instances,
    cpus: raw.cpus,
    mem: raw.mem,
    disk: raw.disk,
    gpus: raw.gpus,
    portDefinitions: portMappings === undefined ? ports.ports : [],
    requirePorts: raw.requirePorts,
    labels: raw.labels,
    env: raw.env,
    healthChecks: raw.healthChecks.map((check) => ({
      ...check,
      ...(check.protocol !== 'COMMAND' && check.port === undefined && check.portIndex === undefined ? { portIndex: 0 } : {}),
    })),
    constraints: constraints.constraints,
    dependencies: dependencies.ids,
    readinessChecks: raw.readinessChecks ?? [],
    // COMPAT(marathon): legacy `uris` are fetched like `fetch` entries with Marathon's defaults.
    fetch: raw.uris !== undefined ? raw.uris.map((uri) => ({ uri, extract: true, executable: false, cache: false })) : raw.fetch,
    unreachableStrategy: resident?.unreachableStrategy ?? raw.unreachableStrategy,
    ...(raw.acceptedResourceRoles !== undefined ? { acceptedResourceRoles: raw.acceptedResourceRoles } : {}),
    backoffSeconds: raw.backoffSeconds,
    backoffFactor: raw.backoffFactor,
    maxLaunchDelaySeconds: raw.maxLaunchDelaySeconds,
    ...(raw.taskKillGracePeriodSeconds !== undefined ? { taskKillGracePeriodSeconds: raw.taskKillGracePeriodSeconds } : {}),
    killSelection: raw.killSelection,
    upgradeStrategy: resident?.upgradeStrategy ?? raw.upgradeStrategy,
    ...(raw.user !== undefined ? { user: raw.user } : {}),
    ...(container.ok && container.container !== undefined ? { container: { ...container.container, ...(portMappings !== undefined ? { portMappings } : {}) } } : {}),
    ...(persistent.length > 0 ? { persistentVolumes: persistent } : {}),
    ...(networking.networking.networks !== undefined ? { networks: networking.networking.networks } : {}),
    ...(raw.deploymentTimeoutSeconds !== undefined ? { deploymentTimeoutSeconds: raw.deploymentTimeoutSeconds } : {}),
    ...(raw.rollbackOnDeploymentFailure !== undefined ? { rollbackOnDeploymentFailure: raw.rollbackOnDeploymentFailure } : {}),
    version: context.now,
    versionInfo: { lastScalingAt: context.now, lastConfigChangeAt: context.now },
  };
  // COMPAT(marathon): a change of `instances` alone is a scale, not a new configuration; running
  // instances are kept rather than restarted.
  if (previous !== undefined && taskShape(previous) === taskShape(app)) {
    app.versionInfo.lastConfigChangeAt = previous.versionInfo.lastConfigChangeAt;
  }
  return { ok: true, app };
}

/** Each readiness check names a port of the app (Marathon: `portName`). */
function checkReadinessChecks(checks: readonly ReadinessCheck[], ports: ReadonlyArray<{ name?: string }>): ValidationDetail[] {
  return checks.flatMap((check, index) => ports.some((p) => p.name === check.portName)
    ? []
    : [{ path: `/readinessChecks/${index}/portName`, errors: [`no port definition is named ${check.portName}`] }]);
}

/** Dependencies are written relative to the app's group (Marathon's PathId rules). */
function resolveDependencies(raw: readonly string[], appId: string): { ids: string[]; details: ValidationDetail[] } {
  const ids: string[] = [];
  const details: ValidationDetail[] = [];
  const group = appId.slice(0, appId.lastIndexOf('/')) || '/';
  raw.forEach((dependency, index) => {
    const id = resolveId(dependency, group);
    if (id === undefined) details.push({ path: `/dependencies/${index}`, errors: [`${dependency} climbs above the root group`] });
    else if (id === appId) details.push({ path: `/dependencies/${index}`, errors: ['an app cannot depend on itself'] });
    else if (!ids.includes(id)) ids.push(id);
  });
  return { ids, details };
}

/** Everything that shapes a launched task: a difference means instances must be replaced. */
function taskShape(app: AppDefinition): string {
  const { cmd, args, cpus, mem, disk, env, labels, portDefinitions, user, acceptedResourceRoles, requirePorts, fetch, healthChecks, constraints, container, networks } = app;
  // COMPAT(marathon): new constraints are a new configuration: instances are replaced under them.
  return JSON.stringify([cmd, args, cpus, mem, disk, env, labels, portDefinitions, user, acceptedResourceRoles, requirePorts, fetch, healthChecks, constraints, container ?? null, ...(networks !== undefined ? [networks] : [])]);
}

function checkHealthChecks(checks: AppDefinition['healthChecks'], portCount: number): ValidationDetail[] {
  const details: ValidationDetail[] = [];
  checks.forEach((check, index) => {
    const path = `/healthChecks/${index}`;
    if (check.protocol === 'COMMAND' && check.command === undefined) details.push({ path: `${path}/command`, errors: ['COMMAND health checks need a command'] });
    if (check.protocol !== 'COMMAND' && check.command !== undefined) details.push({ path: `${path}/command`, errors: [`a ${check.protocol} health check takes no command`] });
    if (check.command !== undefined && Buffer.byteLength(check.command.value) > LIMITS.execStringBytes) {
      details.push({ path: `${path}/command/value`, errors: [`must be at most ${LIMITS.execStringBytes} bytes`] });
    }
    if (check.port !== undefined && check.portIndex !== undefined) details.push({ path, errors: ['give port or portIndex, not both'] });
    const portIndex = check.portIndex ?? (check.port === undefined && check.protocol !== 'COMMAND' ? 0 : undefined);
    if (portIndex !== undefined && portIndex >= portCount) {
      details.push({ path: `${path}/portIndex`, errors: [`the app has ${portCount} port(s); portIndex ${portIndex} does not exist`] });
    }
  });
  return details;
}

function checkFetch(fetch: AppDefinition['fetch'], uris: string[] | undefined): ValidationDetail[] {
  if (uris !== undefined && fetch.length > 0) return [{ path: '/uris', errors: ["'uris' and 'fetch' cannot both be given"] }];
  const details: ValidationDetail[] = [];
  fetch.forEach((entry, index) => {
    // The artifact must land inside the sandbox.
    if (entry.destPath !== undefined && (entry.destPath.startsWith('/') || entry.destPath.split('/').includes('..'))) {
      details.push({ path: `/fetch/${index}/destPath`, errors: ['must be a relative path inside the sandbox'] });
    }
  });
  for (const [index, uri] of (uris ?? fetch.map((f) => f.uri)).entries()) {
    if (!/^(https?|file):\/\//.test(uri) && !uri.startsWith('/')) {
      details.push({ path: uris !== undefined ? `/uris/${index}` : `/fetch/${index}/uri`, errors: ['only http://, https://, file:// URIs and absolute paths can be fetched'] });
    }
  }
  return details;
}

/**
 * Marathon's rules for resident apps (persistent volumes): an unreachable instance is never
 * replaced elsewhere (`unreachableStrategy: "disabled"`), and an upgrade never starts a new
 * instance beside the old one (`maximumOverCapacity: 0`, `minimumHealthCapacity` at most 0.5),
 * since the new task runs on the old one's reservation. When not given, these are the defaults
 * (as Marathon's: disabled, and {0.5, 0}).
 */
function residentStrategies(raw: Pick<AppDefinition, 'unreachableStrategy' | 'upgradeStrategy'>, given: { unreachable: boolean; upgrade: boolean }) {
  const details: ValidationDetail[] = [];
  if (given.unreachable && raw.unreachableStrategy !== 'disabled') {
    details.push({ path: '/unreachableStrategy', errors: ['must be "disabled" for an app with persistent volumes (its instances wait for their agent)'] });
  }
  const upgrade = given.upgrade ? raw.upgradeStrategy : { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 };
  if (upgrade.minimumHealthCapacity > 0.5) {
    details.push({ path: '/upgradeStrategy/minimumHealthCapacity', errors: [`got ${upgrade.minimumHealthCapacity}, expected 0.5 or less for an app with persistent volumes`] });
  }
  if (upgrade.maximumOverCapacity !== 0) {
    details.push({ path: '/upgradeStrategy/maximumOverCapacity', errors: [`got ${upgrade.maximumOverCapacity}, expected 0 for an app with persistent volumes (a new task takes the old one's reservation)`] });
  }
  return { details, unreachableStrategy: 'disabled' as const, upgradeStrategy: upgrade };
}

function checkUnreachableStrategy(strategy: AppDefinition['unreachableStrategy']): ValidationDetail[] {
  if (strategy === 'disabled' || strategy.expungeAfterSeconds >= strategy.inactiveAfterSeconds) return [];
  return [{ path: '/unreachableStrategy/expungeAfterSeconds', errors: ['must be greater than or equal to inactiveAfterSeconds'] }];
}

/** COMPAT(marathon): port names are unique within an app (its message, word for word). */
function checkPortNames(ports: readonly PortDefinition[]): ValidationDetail[] {
  const seen = new Set<string>();
  return ports.flatMap((port, index) => {
    if (port.name === undefined) return [];
    if (!seen.has(port.name)) {
      seen.add(port.name);
      return [];
    }
    return [{ path: `/portDefinitions/${index}/name`, errors: ['Port names must be unique.'] }];
  });
}
