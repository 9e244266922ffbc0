import type { AppNetwork, PortDefinition, PortMapping, TaskState } from '../events/types.ts';
import type { AttributeValue, FetchUri, HealthCheck, HealthResult, Resource } from '../shared/agent-protocol.ts';
import type { DeploymentPlan } from '../events/types.ts';
import type { Grant, Identity, QuotaLimits, TokenRecord } from '../auth/types.ts';
import type { JobHistory, JobRun, JobTick, StoredJob } from './jobs/types.ts';

/** A Marathon app definition after validation, defaults applied and service ports assigned. */
export interface AppDefinition {
  id: string;
  cmd?: string;
  args?: string[];
  instances: number;
  cpus: number;
  mem: number;
  disk: number;
  gpus: number;
  portDefinitions: PortDefinition[];
  requirePorts: boolean;
  labels: Record<string, string>;
  env: Record<string, string>;
  healthChecks: HealthCheck[];
  /** Marathon's placement constraints `[field, operator, value?]`, operator upper-case (see core/constraints.ts). */
  constraints: Array<[field: string, operator: string, value?: string]>;
  /** Marathon's readinessChecks: a new instance counts as ready for deployments once each passes; absent in apps stored before. */
  readinessChecks?: ReadinessCheck[];
  /** Apps or groups (absolute ids) that this app starts after when they deploy together; absent in apps stored before. */
  dependencies?: string[];
  fetch: FetchUri[];
  /** When an unreachable instance is replaced (inactive) and forgotten (expunged). */
  unreachableStrategy: { inactiveAfterSeconds: number; expungeAfterSeconds: number } | 'disabled';
  acceptedResourceRoles?: string[];
  backoffSeconds: number;
  backoffFactor: number;
  maxLaunchDelaySeconds: number;
  taskKillGracePeriodSeconds?: number;
  killSelection: 'YOUNGEST_FIRST' | 'OLDEST_FIRST';
  upgradeStrategy: { minimumHealthCapacity: number; maximumOverCapacity: number };
  user?: string;
  /** Marathon's `container` with an image (absent: the command runs on the agent's host). */
  container?: AppContainer;
  /**
   * Marathon's local persistent volumes (`container.volumes` entries with `persistent`): the app is
   * resident, each instance keeps its agent and its volumes (core/resident.ts). Absent: none.
   */
  persistentVolumes?: PersistentVolume[];
  /** Marathon's `networks`, one entry: `container/bridge` or a named `container` network (absent: the agent's host network). */
  networks?: AppNetwork[];
  /** Corral: roll back a deployment of this app that fails (e.g. times out). Off by default. */
  rollbackOnDeploymentFailure?: boolean;
  /** Corral: this app's deployments fail after this long; default the scheduler's --deployment-timeout. */
  deploymentTimeoutSeconds?: number;
  version: string;
  versionInfo: { lastScalingAt: string; lastConfigChangeAt: string };
}

/** Marathon's `container`, as far as Corral runs it: an image on the agent's own runtime, host network. */
export interface AppContainer {
  type: 'DOCKER' | 'MESOS';
  /** `parameters` are Docker CLI options; those that map here: `env` (NAME=value), `hostname`, `label` (kept, no effect on the run). */
  docker: { image: string; forcePullImage: boolean; privileged: boolean; parameters: Array<{ key: string; value: string }> };
  volumes: HostVolume[];
  /** With a `container/bridge` or `container` network (#18): the ports, in Marathon 1.5's place. */
  portMappings?: PortMapping[];
}

/** A host directory or file bind-mounted into the container (Marathon's `{containerPath, hostPath, mode}`). */
export interface HostVolume {
  /** Absolute, inside the container. */
  containerPath: string;
  /** Absolute, on the agent; the agent mounts only paths under its --host-volume-paths. */
  hostPath: string;
  mode: 'RO' | 'RW';
}

/** A local persistent volume: a directory on the instance's agent, kept across its tasks (Marathon's `persistent: {size, type: "root"}`). */
export interface PersistentVolume {
  /** Relative: in the sandbox (a process task) or under /mnt/mesos/sandbox (a container). */
  containerPath: string;
  mode: 'RW';
  /** MiB, reserved from the agent's disk and enforced by the agent. */
  size: number;
}

/**
 * What a resident instance holds on its agent beyond its task (Marathon's reservation): its
 * volumes, and with them its cpus, mem, disk and ports, while the task is not running too.
 */
export interface Reservation {
  volumes: Array<{ containerPath: string; persistenceId: string; size: number }>;
  /** The task is being killed to be relaunched on this reservation with the app's current configuration (an upgrade, a kill without wipe). */
  relaunch?: true;
  /** Released: the agent is told to destroy the volumes; the instance is forgotten once it says they are gone. */
  destroy?: true;
}

/**
 * What the scheduler wants of an instance. `running`: keep it up (replace it when it ends);
 * `stopped`: kill it and forget it once it is terminal.
 */
export type InstanceGoal = 'running' | 'stopped';

/** One launched copy of an app; Marathon's task (one task per instance here). */
export interface Instance {
  taskId: string;
  appId: string;
  agentId: string;
  host: string;
  /** Host ports: the port definitions', or those of the port mappings with a hostPort, in their order. */
  ports: number[];
  /** The task's own addresses on its bridge or container network, as its agent reported them (absent: the agent's address). */
  ipAddresses?: string[];
  /** The app version the task was launched from (Marathon's task `version`). */
  version: string;
  /** The app's lastConfigChangeAt at launch: instances of an older configuration get replaced. */
  configVersion: string;
  goal: InstanceGoal;
  /** Resources held on the agent while the task is not terminal. */
  cpus: number;
  mem: number;
  disk: number;
  /** The same, by role (what placement charged); absent for instances stored before roles were tracked. */
  allocation?: Array<{ name: string; role: string; amount: number }>;
  state: TaskState;
  message: string;
  stagedAt: string;
  startedAt?: string;
  /** The last status update applied, so retried updates are idempotent. */
  lastUpdate?: string;
  /** Index-aligned with the app's healthChecks; absent until the agent reports. */
  healthResults?: HealthResult[];
  /** ISO time the instance became unreachable. */
  unreachableSince?: string;
  /** Index-aligned with the app's readinessChecks; a check passes once and stays passed. */
  readinessResults?: ReadinessResult[];
  /**
   * A job run's task (its `appId` is then the job's path). Such an instance is kept when it ends,
   * until the run has taken note of how (jobs/core/runs.ts), and is no app's instance.
   */
  run?: { jobId: string; runId: string };
  /**
   * A resident instance's reservation (apps with persistentVolumes): the instance is kept when its
   * task ends, and relaunched on the same agent with the same volumes (core/resident.ts).
   */
  reservation?: Reservation;
}

export interface ReadinessCheck {
  name: string;
  protocol: 'HTTP' | 'HTTPS';
  path: string;
  portName: string;
  intervalSeconds: number;
  timeoutSeconds: number;
  httpStatusCodesForReady: number[];
  preserveLastResponse: boolean;
}

/** Marathon's readinessCheckResult, without the task id (the instance holds it). */
export interface ReadinessResult {
  name: string;
  ready: boolean;
  lastResponse?: { status: number; contentType: string; body: string };
}

export interface AgentRecord {
  id: string;
  hostname: string;
  ip: string;
  endpoint: string;
  resources: Resource[];
  attributes: Record<string, AttributeValue>;
  /** What it said it can run beyond commands when it last registered (IMAGES_CAPABILITY). */
  capabilities?: string[];
  registeredAt: string;
  /** In maintenance: no new tasks; its tasks are moved elsewhere. */
  draining?: boolean;
  /** ISO time the agent timed out; cleared when it registers again. Removed after --registry-max-agent-age. */
  unreachableSince?: string;
  /** Issued on its first join when the scheduler admits agents (--join-token-file); the agent's every later call carries it. */
  credential?: AgentCredential;
}

/** An agent's credential `<id>.<secret>`: only the secret's hash is kept. */
export interface AgentCredential {
  id: string;
  /** sha256 hex of the secret; empty for an agent revoked before it ever had a credential. */
  hash: string;
  issuedAt: string;
  /** Once revoked, the agent's id is refused for good (its join token does not bring it back). */
  revokedAt?: string;
}

/** A deployment: a plan plus where it has got to; finished deployments are deleted. */
export interface Deployment {
  id: string;
  plan: DeploymentPlan;
  affectedApps: string[];
  /** Index of the step in progress. */
  currentStep: number;
  /** Instances each affected app must have running (0 for stopped apps). */
  targets: Record<string, number>;
  /** The affected apps as they were before (null: did not exist), to roll the change back. */
  original: Record<string, AppDefinition | null>;
  startedAt: string;
}

/** Marathon's lastTaskFailure: the latest task of an app that ended while it was wanted running. */
export interface TaskFailure {
  appId: string;
  taskId: string;
  host: string;
  slaveId: string;
  state: string;
  message: string;
  timestamp: string;
  version: string;
}

/** A group as one write through /v2/groups left it: every app under it, for rollback. */
export interface GroupVersion {
  id: string;
  version: string;
  apps: AppDefinition[];
}

/** The durable state of the scheduler, as plain collections keyed by id. */
export interface ClusterState {
  apps: ReadonlyMap<string, AppDefinition>;
  /** Every stored version of every app, keyed `<app id> <version>` (for /versions and rollback). */
  appVersions: ReadonlyMap<string, AppDefinition>;
  /** The latest versions of each group written through /v2/groups, keyed `<group id> <version>`. */
  groupVersions: ReadonlyMap<string, GroupVersion>;
  /** By app id. */
  taskFailures: ReadonlyMap<string, TaskFailure>;
  instances: ReadonlyMap<string, Instance>;
  agents: ReadonlyMap<string, AgentRecord>;
  deployments: ReadonlyMap<string, Deployment>;
  /** Counters that must survive restarts (e.g. the next agent number). */
  meta: ReadonlyMap<string, unknown>;
  /** Auth (`--auth`): who may authenticate, by identity id. */
  identities: ReadonlyMap<string, StoredIdentity>;
  /** Auth: what each identity or identity group may do where, by grant id. */
  grants: ReadonlyMap<string, Grant>;
  /** Auth: issued tokens by token id; only the secret's hash is kept. */
  tokens: ReadonlyMap<string, TokenRecord>;
  /** Quotas by group path (`/`, `/team-a`): limits on what everything under the group may declare (with or without --auth). */
  quotas: ReadonlyMap<string, QuotaLimits>;
  /** Marathon's HTTP callback subscribers (`/v2/eventSubscriptions`), by callback URL. */
  eventSubscriptions: ReadonlyMap<string, EventSubscription>;
  /** Metronome's jobs (`/v1/jobs`), by job id (`team.nightly`), each with its schedules. */
  jobs: ReadonlyMap<string, StoredJob>;
  /** Runs not ended yet, keyed `<job id> <run id>`. */
  jobRuns: ReadonlyMap<string, JobRun>;
  /** Finished runs and skipped slots per job (bounded), by job id. */
  jobHistory: ReadonlyMap<string, JobHistory>;
  /** How far each schedule's slots were decided, keyed `<job id> <schedule id>`. */
  jobTicks: ReadonlyMap<string, JobTick>;
}

/** A URL that receives every committed event as a JSON POST (event-callbacks.ts). */
export interface EventSubscription {
  callbackUrl: string;
  /** Who registered it (Marathon's `clientIp`). */
  clientIp: string;
  subscribedAt: string;
}

/** An identity as stored: Basic authentication checks `passwordHash` (bcrypt) when present. */
export interface StoredIdentity extends Identity {
  passwordHash?: string;
}

export type Collection = keyof ClusterState;

export type ValueOf<C extends Collection> = ClusterState[C] extends ReadonlyMap<string, infer V> ? V : never;

/** One durable change to state; a transaction is a list of these plus the events it emits. */
export type StateOp =
  | { [C in Collection]: { op: 'put'; coll: C; key: string; value: ValueOf<C> } | { op: 'del'; coll: C; key: string } }[Collection]
  /** Changes some fields of a stored instance: a status update logs its few changed fields, not the whole instance. */
  | { op: 'patch'; coll: 'instances'; key: string; value: Partial<Instance> };
