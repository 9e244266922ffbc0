import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { readJoinToken } from '../auth/secret-files.ts';
import { formatHostPort } from '../shared/address.ts';
import { createLogger, type Logger } from '../shared/log.ts';
import type { Service } from '../shared/service.ts';
import type { Settings } from '../shared/settings.ts';
import { schemeOf, serverTls } from '../shared/tls.ts';
import { AgentLinks } from './agent-links.ts';
import { AgentAdmission } from './api/agent-admission.ts';
import { parseSchedulerConfig, startupWarnings, type SchedulerConfig } from './config.ts';
import { buildServer } from './api/server.ts';
import { CompletedTaskHistory } from './completed-task-history.ts';
import { MAX_COMPLETED_TASKS } from './core/completed-tasks.ts';
import { mesosFlags } from './core/mesos-master.ts';
import { ADMIN_TOKEN_FILE, bootstrapAuth } from './auth/bootstrap.ts';
import { EventBus } from './event-bus.ts';
import { EventCallbacks } from './event-callbacks.ts';
import { callbackPolicy } from './core/callback-queue.ts';
import { Orchestrator } from './orchestrator.ts';
import { JobTicker } from './jobs/job-ticker.ts';
import { ReadinessProber } from './readiness-prober.ts';
import { SchedulerState } from './state.ts';
import { SchedulerMetrics } from './scheduler-metrics.ts';
import { sampleScheduler } from './api/metrics.ts';
import { FileStore } from './store/file-store.ts';
import { EtcdStore } from './store/etcd-store.ts';
import type { LoadedState, StateStore } from './store/state-store.ts';
import { leadOrStandBy } from './leadership/campaign.ts';
import { schedulerHostAllowList } from './api/browser-safety.ts';

/** Agents heartbeat often enough that a few missed ones fit in the agent timeout. */
const heartbeatMs = (agentTimeoutMs: number): number => Math.max(100, Math.min(5000, Math.floor(agentTimeoutMs / 4)));

const LISTEN_BACKLOG = 4096;

export async function startScheduler(settings: Settings): Promise<Service> {
  const config = parseSchedulerConfig(settings);
  const logger = createLogger('scheduler', config.logLevel);
  for (const warning of startupWarnings(config)) logger.warn({ listen: formatHostPort(config.listen) }, warning);
  const admission = config.joinTokenFile === undefined ? undefined : new AgentAdmission(readJoinToken(config.joinTokenFile), logger);
  if (config.store === 'etcd') {
    // The lock's holder JSON names where this scheduler serves: standbys proxy there.
    const newStore = (lockWaitMs: number): EtcdStore => new EtcdStore({ endpoints: config.etcd, prefix: config.etcdPrefix, logger, holder: { listen: formatHostPort(config.listen), scheme: schemeOf(serverTls(config)) }, lockTtlSeconds: config.leaderLeaseMs / 1000, lockWaitMs });
    return leadOrStandBy({ logger, endpoints: config.etcd, prefix: config.etcdPrefix, listen: config.listen, tls: serverTls(config), allowedHosts: schedulerHostAllowList(config.listen.host, config.allowedHosts), allowedOrigins: config.allowedOrigins, leaseMs: config.leaderLeaseMs, newStore, lead: (store, loaded, listen, abdicate) => lead({ ...config, listen }, logger, admission, store, loaded, abdicate) });
  }
  const store = new FileStore({ dir: config.dataDir, logger, repair: config.repair, holder: { listen: formatHostPort(config.listen) } });
  return lead(config, logger, admission, store, await store.load());
}

/** The full scheduler (the leader) over a store that is loaded and held. */
async function lead(config: SchedulerConfig, logger: Logger, admission: AgentAdmission | undefined, store: StateStore, loaded: LoadedState, abdicate?: () => void): Promise<Service> {
  const bus = new EventBus(loaded.history, loaded.lastEventId);
  const state = new SchedulerState(store, bus, loaded.state, loaded.revision);
  if (!state.current.meta.has('clusterId')) {
    await state.transact(() => ({ ops: [{ op: 'put', coll: 'meta', key: 'clusterId', value: randomUUID() }], events: [], result: undefined }));
  }
  if (config.auth) await bootstrapAuth(state, config.adminTokenFile ?? join(config.dataDir, ADMIN_TOKEN_FILE), logger);
  const links = new AgentLinks(logger, heartbeatMs(config.agentTimeoutMs), () => orchestrator.agentsChanged());
  const orchestrator = new Orchestrator(state, links, logger, { metrics: () => metrics, agentTimeoutMs: config.agentTimeoutMs, agentReregisterTimeoutMs: config.agentReregisterTimeoutMs, registryMaxAgentAgeMs: config.registryMaxAgentAgeMs, deploymentTimeoutMs: config.deploymentTimeoutMs, heartbeatIntervalMs: heartbeatMs(config.agentTimeoutMs) });
  const readiness = new ReadinessProber(state, logger);
  const jobTicker = new JobTicker(state, logger.child({ component: 'jobs' }));
  const startedAt = new Date().toISOString();
  const metrics: SchedulerMetrics = new SchedulerMetrics({ collect: () => sampleScheduler(context) });
  metrics.storeLoaded(loaded.recovery);
  bus.onPublish((records) => metrics.eventsPublished(records));
  state.onWritten((seconds) => metrics.transactionCommitted(seconds));
  const completedTasks = new CompletedTaskHistory(MAX_COMPLETED_TASKS);
  state.onEnded((ended) => completedTasks.record(ended));
  const callbacks = new EventCallbacks({ state, bus, logger, metrics, policy: callbackPolicy(config.eventCallbackDropAfterMs), timeoutMs: config.eventCallbackTimeoutMs, selfHost: config.listen.host });
  const flags = mesosFlags({ ...config, listen: formatHostPort(config.listen), maxCompletedTasks: MAX_COMPLETED_TASKS });
  const context = { state, bus, links, orchestrator, logger, advertised: formatHostPort(config.listen), startedAt, metrics, storeRecovery: loaded.recovery, storeType: config.store, maxVersions: config.maxVersions, auth: config.auth, allowedOrigins: config.allowedOrigins, allowedHosts: schedulerHostAllowList(config.listen.host, config.allowedHosts), completedTasks, flags, reach: { ...(config.dnsApi !== undefined ? { dnsApi: config.dnsApi } : {}), ...(config.lbApi !== undefined ? { lbApi: config.lbApi } : {}) }, ...(admission !== undefined ? { admission } : {}), ...(abdicate !== undefined ? { abdicate } : {}) };
  const tls = serverTls(config);
  const server = buildServer(context, tls);
  // A thousand agents open connections at once (a status burst, a reconnect after a scheduler
  // restart): with Node's backlog of 511 the kernel drops the rest, and each retries its SYN after
  // 1, 3, 7 s. The kernel caps this at net.core.somaxconn.
  await server.listen({ host: config.listen.host, port: config.listen.port, backlog: LISTEN_BACKLOG });
  const address = server.server.address();
  const bound = typeof address === 'object' && address !== null ? { host: config.listen.host, port: address.port } : config.listen;
  context.advertised = formatHostPort(bound);
  logger.info({ api: `${schemeOf(tls)}://${formatHostPort(bound)}`, dataDir: config.dataDir, agentAdmission: admission !== undefined }, 'ready');
  return {
    async close() {
      orchestrator.close();
      jobTicker.close();
      callbacks.close();
      await readiness.close();
      links.close();
      await server.close();
      await store.close();
    },
  };
}
