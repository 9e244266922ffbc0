/**
 * The shapes of the scheduler's public API the UI reads (Marathon's v2 JSON, Mesos' /master/slaves
 * and Corral's agent listing), reduced to the fields it shows. The UI is a client like any other:
 * these are written from the API, not imported from the server.
 */

export interface HealthCheckResult { alive: boolean; lastFailureCause?: string | null }

export interface Task {
  id: string;
  appId: string;
  slaveId?: string;
  host: string;
  ports: number[];
  state: string;
  version: string;
  stagedAt?: string;
  startedAt?: string;
  healthCheckResults?: HealthCheckResult[];
  /** The task's own address on a bridge or container network; the host's otherwise. */
  ipAddresses?: Array<{ ipAddress: string; protocol?: string }>;
  /** The UI's own: the instance's overall health from `instance_health_changed_event`, once one came. */
  healthy?: boolean;
}

export interface TaskFailure { taskId: string; state: string; message: string; host: string; timestamp: string; version: string }

export interface App {
  id: string;
  instances: number;
  cpus: number;
  mem: number;
  disk?: number;
  cmd?: string | null;
  version: string;
  labels?: Record<string, string>;
  healthChecks?: unknown[];
  portDefinitions?: Array<{ port: number; name?: string; protocol?: string }>;
  container?: { portMappings?: Array<{ containerPort: number; hostPort?: number; name?: string }> } | null;
  deployments?: Array<{ id: string }>;
  tasks?: Task[];
  lastTaskFailure?: TaskFailure;
  [field: string]: unknown;
}

/** Marathon's readinessCheckResult: one per instance and check probed. */
export interface ReadinessResult { name: string; taskId: string; ready: boolean; lastResponse?: { status: number; contentType?: string; body?: string } }
export interface DeploymentAction { action: string; app: string; readinessCheckResults?: ReadinessResult[] }
export interface Deployment {
  id: string;
  version: string;
  affectedApps: string[];
  steps: Array<{ actions: DeploymentAction[] }>;
  currentActions: DeploymentAction[];
  currentStep: number;
  totalSteps: number;
}

export interface QueueEntry {
  app: { id: string };
  count: number;
  delay: { timeLeftSeconds: number; overdue: boolean };
  since?: string;
  /** Corral's: why the instances wait, in words. */
  reason?: string;
  processedOffersSummary?: { processedOffersCount?: number; rejectSummaryLastOffers?: Array<{ reason: string; declined: number; processed: number }> };
  /** Corral's: agents refused at the last placement, by reason, a constraint's naming it. */
  refusals?: Array<{ reason: string; agents: number; constraint?: string[] }>;
}

/** `GET /master/slaves`: one agent with what it has and what its tasks use. */
export interface MesosAgent {
  id: string;
  hostname: string;
  attributes?: Record<string, string | number>;
  resources: Record<string, number | string>;
  used_resources: Record<string, number | string>;
  /** Per role the agent reserves resources for (`*`, unreserved, is not listed). */
  reserved_resources?: Record<string, Record<string, number | string>>;
  active?: boolean;
}

/** `GET /corral/v1/agents`: Corral's agent records (draining, connected). */
export interface CorralAgent {
  id: string;
  hostname: string;
  endpoint?: string;
  draining?: boolean;
  connected?: boolean;
  attributes?: Record<string, string | number>;
}

/** A 422's `details` (Marathon's shape). */
export interface ErrorDetail { path: string; errors: string[] }

/** Task states after which a task is gone (Mesos'). */
export const TERMINAL_STATES: ReadonlySet<string> = new Set([
  'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR', 'TASK_UNKNOWN',
]);
