import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { readJoinToken, writeSecretFile } from '../auth/secret-files.ts';
import { hashSecret } from '../auth/core/tokens.ts';
import { registerHostCheck, serverHostAllowList } from '../auth/host-check.ts';
import { formatHostPort } from '../shared/address.ts';
import type { TaskState } from '../events/types.ts';
import { createLogger } from '../shared/log.ts';
import type { Service } from '../shared/service.ts';
import type { Settings } from '../shared/settings.ts';
import { clientDispatcher, withTls, schemeOf, serverTls } from '../shared/tls.ts';
import { parseAgentConfig } from './config.ts';
import { fetchArtifacts } from './fetcher.ts';
import { TaskHealth } from './health/task-health.ts';
import { agentApiGuard, sendRefusal } from './http/api-tokens.ts';
import { registerFilesRoutes } from './http/files.ts';
import { detectIsolator } from './isolation/index.ts';
import { ContainerNetworks } from './containers/container-networks.ts';
import { ContainerRuntime } from './containers/container-runtime.ts';
import { IMAGES_CAPABILITY, PERSISTENT_VOLUMES_CAPABILITY, PRIVILEGED_CAPABILITY } from '../shared/agent-protocol.ts';
import { LogRotator } from './log-rotation.ts';
import { AgentMetrics, registerMetricsRoute } from './metrics.ts';
import { startSandboxGc } from './sandbox-gc.ts';
import { SchedulerLink } from './scheduler-link.ts';
import { StatusOutbox } from './status-outbox.ts';
import { TaskRunner } from './task-runner.ts';
import { VolumeStore } from './volume-store.ts';
import { DISK_LIMITATION } from './core/persistent-volumes.ts';
import { agentAccount, findSetpriv, lookupAccount, unreachableBy } from './task-user.ts';

/** Variables a task inherits from the agent: enough to find programs, no more. */
const INHERITED_ENV = ['PATH', 'LANG', 'TZ'] as const;

export async function startAgent(settings: Settings): Promise<Service> {
  const config = parseAgentConfig(settings);
  const logger = createLogger('agent', config.logLevel);
  mkdirSync(config.workDir, { recursive: true });
  const idFile = join(config.workDir, 'agent-id');
  const credentialFile = join(config.workDir, 'agent-credential');
  const joinToken = config.joinTokenFile === undefined ? undefined : readJoinToken(config.joinTokenFile);
  const sandboxRoot = join(config.workDir, 'sandboxes');
  const users = { settings: config, agent: await agentAccount(), setpriv: findSetpriv() ?? '' };
  if (config.switchUser && users.agent.uid === 0 && users.setpriv === '') throw new Error('--switch-user needs util-linux setpriv (apt-get install util-linux), found in none of /usr/bin, /bin, /usr/sbin, /sbin');
  // Task users pass through the work dir to their sandboxes, and may not list the others.
  mkdirSync(sandboxRoot, { recursive: true });
  chmodSync(config.workDir, statSync(config.workDir).mode | 0o111);
  chmodSync(sandboxRoot, 0o711);
  const defaultAccount = config.switchUser && users.agent.uid === 0 ? await lookupAccount(config.defaultUser) : undefined;
  const unreachable = defaultAccount === undefined ? undefined : await unreachableBy(sandboxRoot, defaultAccount);
  // Said once at start-up: otherwise every task of the default user fails with it.
  if (unreachable !== undefined) logger.warn({ workDir: config.workDir }, `tasks of --default-user will fail: ${unreachable}`);
  if (config.switchUser && users.agent.uid !== 0) logger.warn({ user: users.agent.name, defaultUser: config.defaultUser }, 'the agent is not root: only tasks of its own user can run (others fail); run it as root, or with --no-switch-user to run every task as this user');
  const baseEnv: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = process.env[name];
    if (value !== undefined) baseEnv[name] = value;
  }

  const knownAgentId = existsSync(idFile) ? readFileSync(idFile, 'utf8').trim() || undefined : undefined;
  const isolation = await detectIsolator({ root: config.cgroupsRoot, parent: config.cgroupsParent, enableCfs: config.cgroupsEnableCfs, logger });
  if (isolation.kind === 'none') logger.warn({ reason: isolation.reason }, 'no writable cgroups: tasks run without memory and cpu limits');
  // Before recovery: an agent finds the cgroups of its earlier run under its own id.
  if (knownAgentId !== undefined) isolation.useAgent(knownAgentId);
  if (isolation.kind !== 'none') logger.info({ kind: isolation.kind, parents: isolation.parentDirs }, 'tasks are isolated in cgroups');

  // Bridge and container networks need the image runtime too: they are containers' networks.
  const networks = await ContainerNetworks.detect({ workDir: config.workDir, pluginDir: config.cniPluginDir, bridgeSubnet: config.bridgeSubnet, containerNetworks: config.containerNetworks, uid: users.agent.uid });
  if (networks.ok) logger.info({ networks: networks.networks.networks }, 'containers: bridge and container networks (CNI)');
  else logger.warn({ reason: networks.reason }, `containers: no bridge or container networks here: ${networks.reason}`);
  const containers = await ContainerRuntime.detect({ ...(networks.ok ? { networks: networks.networks } : {}), workDir: config.workDir, insecureRegistries: config.insecureRegistries, registryMirrors: config.registryMirrors, registryAuthFile: config.registryAuthFile, imageGc: { maxBytes: config.imageGcMaxSize, minAgeMs: config.imageGcMinAgeMs, onCollected: (plan) => logger.info({ images: plan.removeImages, blobs: plan.removeBlobs.length, bytesBefore: plan.bytesBefore, bytesAfter: plan.bytesAfter }, 'containers: unused images removed'), onFailed: (err) => logger.warn({ err: err.message }, 'containers: image garbage collection failed') }, hostVolumePaths: config.hostVolumePaths, uid: users.agent.uid, allowPrivileged: config.allowPrivilegedContainers, env: baseEnv, cgroupsRoot: config.cgroupsRoot });
  if (containers.ok) logger.info({ insecureRegistries: config.insecureRegistries, registryMirrors: config.registryMirrors, rootfs: containers.runtime.rootfs.kind }, 'containers: tasks with an image run here (crun, skopeo, umoci)');
  else logger.warn({ reason: containers.reason }, `containers: tasks with an image cannot run here: ${containers.reason}`);
  if (containers.ok && containers.runtime.rootfs.kind === 'copy') logger.warn({ reason: containers.runtime.rootfs.reason }, `containers: no overlay root filesystems, each task unpacks its own copy: ${containers.runtime.rootfs.reason}`);

  const volumes = new VolumeStore(config.workDir, logger);
  const metrics = new AgentMetrics();
  const logs = new LogRotator({ maxBytes: config.logMaxBytes, keep: config.logKeep, intervalMs: 5000, logger });
  const runner: TaskRunner = new TaskRunner({
    workDir: config.workDir,
    host: config.ip,
    baseEnv,
    users,
    logger,
    isolation,
    ...(containers.ok ? { containers: containers.runtime } : { containersUnavailable: containers.reason }),
    volumes,
    report: (report) => link.report(report),
    fetch: (task, sandbox, signal) =>
      fetchArtifacts(task.fetch, sandbox, { logger, signal }).catch((err: unknown) => {
        metrics.fetchFailed();
        throw err;
      }),
    startHealth: (task, target, onChange) => {
      const health = new TaskHealth({
        checks: task.healthChecks,
        target,
        logger,
        onChange: (results) => {
          for (const result of results) metrics.healthChecked(result.alive ? 'healthy' : 'unhealthy');
          onChange(results);
        },
      });
      health.start();
      return health;
    },
    onStarted: (_taskId, sandbox) => {
      metrics.taskLaunched();
      logs.watch(sandbox);
    },
    onEnded: (_taskId, sandbox, state) => {
      metrics.taskEnded(state);
      logs.unwatch(sandbox);
    },
  });
  let endpoint = '';
  const link: SchedulerLink = new SchedulerLink({
    masters: config.masters,
    dispatcher: clientDispatcher(config.ca),
    logger,
    outbox: new StatusOutbox(join(config.workDir, 'meta', 'status')),
    initialAgentId: knownAgentId,
    ...(joinToken !== undefined ? { joinToken } : {}),
    ...(existsSync(credentialFile) ? { initialCredential: readFileSync(credentialFile, 'utf8').trim() } : {}),
    // Shown once by the scheduler: on disk (0600) before the agent id, so an agent id on disk always has its credential.
    onCredential: (credential) => writeSecretFile(credentialFile, credential),
    // The endpoint is known once the HTTP listener is up, before the link starts.
    registration: () => ({ hostname: config.hostname, ip: config.ip, endpoint, resources: [...config.resources], attributes: config.attributes, tasks: runner.list(), capabilities: [PERSISTENT_VOLUMES_CAPABILITY, ...(containers.ok ? [IMAGES_CAPABILITY, ...(config.allowPrivilegedContainers ? [PRIVILEGED_CAPABILITY] : []), ...(containers.runtime.networks?.capabilities() ?? [])] : [])] }),
    onRegistered: (agentId) => {
      writeFileSync(idFile, agentId);
      isolation.useAgent(agentId);
      runner.registered();
    },
    onCommand: (command) => {
      if (command.type === 'launch') runner.launch(command.task);
      else if (command.type === 'kill') void runner.kill(command.taskId, command.killGracePeriodMs);
      else if (command.type === 'destroy-volumes') void destroyVolumes(command.taskId, command.persistenceIds);
    },
  });
  // Sent again by the scheduler until it hears back, so one answer each time is enough.
  const destroyVolumes = async (taskId: string, persistenceIds: string[]): Promise<void> => {
    try {
      if (runner.usesVolume(persistenceIds)) throw new Error('a task still uses them');
      await volumes.destroy(persistenceIds);
      logger.info({ taskId, persistenceIds }, 'persistent volumes destroyed');
      await link.volumesDestroyed({ taskId, persistenceIds });
    } catch (err) {
      logger.warn({ taskId, persistenceIds, err: (err as Error).message }, 'persistent volumes not destroyed yet');
    }
  };
  const recovered = await runner.recover();
  if (recovered.adopted + recovered.ended > 0) logger.info(recovered, 'recovered the tasks of an earlier run');

  // Agent admission on (a join token or a credential): the API answers only tokens the scheduler issued for this agent.
  // A --metrics-token-file token also opens /metrics (Prometheus); only its hash is kept.
  const scrapeTokenHash = config.metricsTokenFile === undefined ? undefined : hashSecret(readJoinToken(config.metricsTokenFile, 'a metrics token'));
  const guard = agentApiGuard(() => (joinToken === undefined && link.credential === undefined ? undefined : { agentId: link.agentId, credential: link.credential }), Date.now, scrapeTokenHash);
  const tls = serverTls(config);
  const http = Fastify(withTls({}, tls));
  // DNS rebinding: on loopback the API (open without admission) answers only its own names.
  registerHostCheck(http, serverHostAllowList({ listenHost: config.listen.host, allowedHosts: [], names: [config.hostname] }), 'agent');
  http.get('/state', async (request, reply) => {
    const decision = guard(request.headers.authorization, { kind: 'state' });
    return decision.ok ? ({ hostname: config.hostname, ip: config.ip, resources: config.resources, attributes: config.attributes, isolation: isolation.kind, cgroupParents: isolation.parentDirs, containers: containers.ok ? 'crun' : containers.reason, ...(containers.ok ? { imageStore: await containers.runtime.images.size() } : {}), networks: containers.ok && networks.ok ? networks.networks.networks : (networks.ok ? 'no image runtime' : networks.reason), tasks: runner.list() }) : sendRefusal(reply, decision);
  });
  registerFilesRoutes(http, { sandboxRoot, guard });
  registerMetricsRoute(http, metrics, guard);
  await http.listen({ host: config.listen.host, port: config.listen.port });
  const address = http.server.address();
  endpoint = `${schemeOf(tls)}://${formatHostPort({ host: config.listen.host, port: typeof address === 'object' && address !== null ? address.port : config.listen.port })}`;
  const gc = startSandboxGc({ root: sandboxRoot, maxAgeMs: config.sandboxMaxAgeMs, isActive: (taskId) => runner.list().some((t) => t.taskId === taskId), intervalMs: 60_000, logger });

  // Gauges are sampled rather than updated on every report: cheap with thousands of tasks.
  const sample = setInterval(() => {
    const counts: Partial<Record<TaskState, number>> = {};
    for (const task of runner.list()) counts[task.state] = (counts[task.state] ?? 0) + 1;
    metrics.setTasks(counts);
    metrics.setStatusUpdatesPending(link.pending);
  }, 1000);
  sample.unref();
  const diskWatch = watchVolumes(runner, volumes, config.diskWatchIntervalMs);
  link.start();
  logger.info({ endpoint, ip: config.ip, masters: config.masters, resources: config.resources, isolation: isolation.kind }, 'ready');

  return {
    async close() {
      // A stopped agent takes its tasks with it (Mesos' agent shutdown); only a crashed one
      // leaves them for the next run to adopt. It leaves the scheduler first, so nothing more
      // is placed here while the tasks are killed.
      clearInterval(sample);
      diskWatch.stop();
      link.detach();
      await runner.shutdown();
      // With no task left, its bridges go too (a crashed agent's stay for the tasks it left running).
      if (networks.ok) await networks.networks.removeBridges().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'cannot remove the container bridges'));
      await isolation.release();
      await link.close(1000);
      gc.stop();
      await logs.close();
      await http.close();
    },
  };
}

/**
 * Mesos' disk/du isolator with enforcement, for persistent volumes: every interval, one round of
 * `du` over the running tasks' volumes (never two rounds at once); a task past a volume's size is
 * killed and fails with REASON_CONTAINER_LIMITATION_DISK.
 */
function watchVolumes(runner: TaskRunner, volumes: VolumeStore, intervalMs: number): { stop(): void } {
  const abort = new AbortController();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      for (const task of runner.withVolumes()) {
        const reason = await volumes.overLimit(task.volumes, abort.signal);
        if (reason !== undefined) runner.limit(task.taskId, reason, DISK_LIMITATION);
      }
    })().finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => { clearInterval(timer); abort.abort(); } };
}
