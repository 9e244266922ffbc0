/**
 * The agent protocol: the agent opens every connection (it may sit behind NAT).
 *   POST /corral/v1/agents/register          RegisterRequest → RegisterResponse
 *   GET  /corral/v1/agents/{id}/commands     NDJSON stream of AgentCommand, one per line
 *   POST /corral/v1/agents/{id}/status       TaskStatusUpdate or {updates: [...]} → 200 once applied (idempotent)
 *   POST /corral/v1/agents/{id}/heartbeat    every heartbeatIntervalMs, now and then with a HeartbeatReport; 404 = register again
 *   POST /corral/v1/agents/{id}/volumes/destroyed  VolumesDestroyed → 200 once applied (the answer to a destroy-volumes command)
 *   DELETE /corral/v1/agents/{id}/credential  revokes the agent's credential (operator)
 * With admission on, every call carries `Authorization: Bearer <credential>` (the join token on the first registration).
 */
import type { TaskState } from './task-states.ts';

export const AGENT_API = '/corral/v1/agents';

export interface PortRange {
  begin: number;
  end: number;
}

/** Mesos resources as advertised: scalars, port ranges, sets; role `*` is unreserved. */
export interface Resource {
  name: string;
  role: string;
  scalar?: number;
  ranges?: PortRange[];
  set?: string[];
}

export type AttributeValue = string | number;

export interface RegisterRequest {
  /** Absent on the very first registration of a work dir; the scheduler assigns one. */
  agentId?: string;
  hostname: string;
  ip: string;
  /** The agent's own HTTP endpoint (sandbox files, metrics). */
  endpoint: string;
  resources: Resource[];
  attributes: Record<string, AttributeValue>;
  /** Tasks this agent still runs, and those that ended while it was down (terminal, with how), for reconciliation. */
  tasks: Array<{ taskId: string; state: TaskState; message?: string }>;
  /** What the agent can run beyond plain commands (IMAGES_CAPABILITY); absent from older agents: none. */
  capabilities?: string[];
}

/** The agent found an OCI runtime and image tools at start: it runs tasks with `container`. */
export const IMAGES_CAPABILITY = 'images';

/** The agent runs `privileged` containers (`--allow-privileged-containers`). */
export const PRIVILEGED_CAPABILITY = 'privileged-containers';

/** The agent keeps local persistent volumes (TaskLaunch.persistentVolumes) and destroys them when told (destroy-volumes). */
export const PERSISTENT_VOLUMES_CAPABILITY = 'persistent-volumes';
/** The agent puts tasks on its own bridge (CNI plugins found): apps with `container/bridge` networks. */
export const BRIDGE_NETWORK_CAPABILITY = 'network:bridge';

/** The agent has the named container network (`--container-networks name=subnet`). */
export function containerNetworkCapability(name: string): string {
  return `container-network:${name}`;
}

/** The tasks an agent runs, sent with a heartbeat now and then: those the scheduler does not want are killed. */
export interface HeartbeatReport {
  tasks: Array<{ taskId: string; state: TaskState }>;
}

export interface RegisterResponse {
  agentId: string;
  heartbeatIntervalMs: number;
  /** With admission on (--join-token-file), on the join that issued it: the agent's credential, shown this once. */
  credential?: string;
}

/** Marathon's health check, defaults applied; `MESOS_` protocols run the same way (agent-side). */
export interface HealthCheck {
  protocol: 'HTTP' | 'HTTPS' | 'TCP' | 'COMMAND' | 'MESOS_HTTP' | 'MESOS_HTTPS' | 'MESOS_TCP';
  path: string;
  /** Index into the task's host ports; absent when `port` is given or for COMMAND. */
  portIndex?: number;
  port?: number;
  command?: { value: string };
  gracePeriodSeconds: number;
  intervalSeconds: number;
  timeoutSeconds: number;
  maxConsecutiveFailures: number;
  delaySeconds: number;
  ignoreHttp1xx: boolean;
}

/** The latest result of one health check of a task (Marathon's healthCheckResults entry). */
export interface HealthResult {
  alive: boolean;
  consecutiveFailures: number;
  firstSuccess: string | null;
  lastSuccess: string | null;
  lastFailure: string | null;
  lastFailureCause: string | null;
}

/** One artifact to put in the sandbox before the task starts (Marathon's `fetch`). */
export interface FetchUri {
  uri: string;
  extract: boolean;
  executable: boolean;
  cache: boolean;
  /** Relative to the sandbox; defaults to the URI's base name. */
  destPath?: string;
}

export interface TaskLaunch {
  taskId: string;
  appId: string;
  version: string;
  cmd?: string;
  args?: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  ports: number[];
  /** Index-aligned with ports; null for unnamed ports (JSON has no undefined). */
  portNames: Array<string | null>;
  cpus: number;
  mem: number;
  disk: number;
  killGracePeriodMs: number;
  fetch: FetchUri[];
  healthChecks: HealthCheck[];
  /** Marathon's app `user`: the OS user the task runs as; absent = the agent's --default-user. */
  user?: string;
  /** Run in a container from this image (Marathon's `container.docker`); absent = a process on the agent's host. */
  container?: TaskContainer;
  /**
   * Local persistent volumes: `<work-dir>/volumes/<persistenceId>` on the agent, created on first
   * use, kept across tasks, mounted at `<sandbox>/<containerPath>` (size in MiB, enforced). Absent from older schedulers.
   */
  persistentVolumes?: PersistentVolumeMount[];
}

export interface PersistentVolumeMount {
  /** Relative, one path component. */
  containerPath: string;
  /** The volume's directory name on the agent. */
  persistenceId: string;
  /** MiB. */
  size: number;
}

/** The agent removed these volumes' data (destroy-volumes): the scheduler forgets the reservation. */
export interface VolumesDestroyed {
  taskId: string;
  persistenceIds: string[];
}

/** The image a task runs from: pulled by the agent, unless it has it already and `forcePull` is false. */
export interface TaskContainer {
  /** `[registry/]name[:tag][@sha256:…]`, as Docker writes it. */
  image: string;
  forcePull: boolean;
  /** Host paths bind-mounted into the container; the agent mounts only those under its --host-volume-paths. Absent from older schedulers. */
  volumes?: Array<{ containerPath: string; hostPath: string; mode: 'RO' | 'RW' }>;
  /** Docker `privileged`: every capability, no masked paths; only agents started with --allow-privileged-containers take it. */
  privileged?: boolean;
  /** Docker `hostname` parameter: the container's host name (default: from the task id). */
  hostname?: string;
  /** Docker `env` parameters: over the image's and the app's environment, as `docker run -e` after them. */
  env?: Record<string, string>;
  /** A network namespace of its own on the agent's bridge or a named container network (#18); absent = the host network. Absent from older schedulers. */
  network?: TaskNetwork;
}

/** Where a container's network namespace is joined, and which of its ports the agent forwards from host ports. */
export interface TaskNetwork {
  mode: 'container/bridge' | 'container';
  /** The container network's name (mode `container`). */
  name?: string;
  /**
   * The app's port mappings in order (health checks' portIndex indexes them): hostPort as placed
   * (forwarded to containerPort; absent: none), containerPort 0 already made the host port's number.
   */
  portMappings: Array<{ containerPort: number; hostPort?: number; protocol: 'tcp' | 'udp' | 'udp,tcp' }>;
}

export type AgentCommand =
  | { type: 'launch'; task: TaskLaunch }
  | { type: 'kill'; taskId: string; killGracePeriodMs?: number }
  /** Remove the volumes' data of a released reservation (only to agents with PERSISTENT_VOLUMES_CAPABILITY); answered by POST …/volumes/destroyed. */
  | { type: 'destroy-volumes'; taskId: string; persistenceIds: string[] }
  | { type: 'heartbeat' };

export interface TaskStatusUpdate {
  /** Unique per update, so a retried update is applied once. */
  uuid: string;
  taskId: string;
  state: TaskState;
  message: string;
  timestamp: string;
  exitStatus?: number;
  /** Mesos' reason code, e.g. REASON_CONTAINER_LIMITATION_MEMORY. */
  reason?: string;
  /** Index-aligned with the launch's healthChecks; sent when a result changes. */
  health?: HealthResult[];
  /** The task's own addresses on its bridge or container network (sent with TASK_RUNNING); absent on the host network and from older agents. */
  ipAddresses?: string[];
}
