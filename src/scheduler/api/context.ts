import type { HostAllowList } from '../../auth/core/browser.ts';
import type { Logger } from '../../shared/log.ts';
import type { AgentLinks } from '../agent-links.ts';
import type { AgentAdmission } from './agent-admission.ts';
import type { CompletedTaskHistory } from '../completed-task-history.ts';
import type { EventBus } from '../event-bus.ts';
import type { Orchestrator } from '../orchestrator.ts';
import type { SchedulerMetrics } from '../scheduler-metrics.ts';
import type { SchedulerState } from '../state.ts';
import type { StoreRecovery } from '../store/state-store.ts';

/** What the API routes need of the scheduler. */
export interface ApiContext {
  state: SchedulerState;
  bus: EventBus;
  links: AgentLinks;
  orchestrator: Orchestrator;
  logger: Logger;
  /** `host:port` this scheduler serves on (it is its own leader until HA lands). */
  advertised: string;
  startedAt: string;
  metrics: SchedulerMetrics;
  /** Versions kept per app (`--max-versions`). */
  maxVersions: number;
  /** What the store found wrong at start-up (`/v2/info`). */
  storeRecovery: StoreRecovery;
  /** `--store`: named in `/v2/info`. */
  storeType: 'file' | 'etcd';
  /** `--auth`: authenticate and authorize every request (api/auth-hook.ts). */
  auth?: boolean;
  /** `--allowed-origins`: pages of these origins may call the API (api/browser-safety.ts). */
  allowedOrigins?: readonly string[];
  /** The names the API answers to (api/browser-safety.ts, DNS rebinding); any when unset. */
  allowedHosts?: HostAllowList;
  /** Set with --join-token-file: agents must join with the token, then use their credential. */
  admission?: AgentAdmission;
  /** Tasks that ended lately (Mesos' `completed_tasks`), in memory. */
  completedTasks?: CompletedTaskHistory;
  /** The settings `/flags` shows (core/mesos-master.ts mesosFlags). */
  flags?: Readonly<Record<string, string>>;
  /** `--dns-api`, `--lb-api`: the DNS and LB HTTP APIs (origins) the reach route reads (api/reach.ts). */
  reach?: { dnsApi?: string; lbApi?: string };
  /** Set when this scheduler leads over etcd: `DELETE /v2/leader` gives the lead up and serves as a standby. */
  abdicate?: () => void;
}
