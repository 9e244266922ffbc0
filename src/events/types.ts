/**
 * The event stream contract between the scheduler and everything that follows the cluster
 * (Corral's DNS and LB, marathon-lb, dashboards, scripts). Shapes follow Marathon 1.x event
 * names and field names; `id` (the SSE `id:` line) is Corral's addition.
 *
 * This file is the single source of these shapes: the scheduler emits them, consumers fold them.
 * Task states live in src/shared/task-states.ts, since the agent protocol speaks them too.
 */

import type { TaskState } from '../shared/task-states.ts';

export { TASK_STATES, TERMINAL_TASK_STATES, type TaskState } from '../shared/task-states.ts';

export type PortProtocol = 'tcp' | 'udp' | 'udp,tcp';

export interface PortDefinition {
  /** The service port (assigned by the scheduler from 10000–20000 when posted as 0). */
  port: number;
  protocol: PortProtocol;
  name?: string;
  labels?: Record<string, string>;
}

/**
 * Marathon's `container.portMappings[]` (bridge and container networks, #18). `hostPort` absent:
 * no port on the agent (container networks only); 0 when posted means "any offered port".
 */
export interface PortMapping {
  containerPort: number;
  hostPort?: number;
  /** The service port (assigned from 10000–20000 when posted as 0), as portDefinitions[].port. */
  servicePort: number;
  protocol: PortProtocol;
  name?: string;
  labels?: Record<string, string>;
}

/** Marathon's `networks[]`: `host` (the default), `container/bridge`, or the named `container` network. */
export interface AppNetwork {
  mode: 'host' | 'container/bridge' | 'container';
  name?: string;
}

export interface IpAddress {
  ipAddress: string;
  protocol: 'IPv4' | 'IPv6';
}

/** What discovery consumers need of an app: Marathon's app JSON, reduced. */
export interface DiscoveryApp {
  id: string;
  version: string;
  labels: Record<string, string>;
  portDefinitions: PortDefinition[];
  /** Health check definitions as posted; an app without any is healthy when running. */
  healthChecks: unknown[];
  /** Absent or `[{mode:'host'}]`: host networking, and `portDefinitions` name the ports. */
  networks?: AppNetwork[];
  /**
   * With a `container/bridge` or `container` network, `portDefinitions` is empty and
   * `portMappings` name the ports (Marathon 1.5's app JSON, which marathon-lb reads).
   */
  container?: { portMappings?: PortMapping[] } | null;
}

/** What discovery consumers need of a task (one running instance of an app). */
export interface DiscoveryTask {
  id: string;
  appId: string;
  /** Mesos' name for the agent id. */
  slaveId: string;
  /** The agent's advertised address (IP or hostname). */
  host: string;
  /**
   * The task's own addresses on its container network (bridge or named; Mesos' NetworkInfo),
   * else the agent's address.
   */
  ipAddresses: IpAddress[];
  /**
   * Host ports: index-aligned with the app's portDefinitions on host networking; with
   * portMappings, the host ports of the mappings that have a `hostPort`, in their order (Marathon's).
   */
  ports: number[];
  state: TaskState;
  /** Undefined while no health result exists (or no checks are defined). */
  healthy?: boolean;
  version: string;
  startedAt?: string;
}

/** An agent as discovery needs it (Mesos-DNS' `slave.<domain>` and `_slave._tcp.<domain>`). */
export interface DiscoveryAgent {
  id: string;
  hostname: string;
  ip: string;
  /** The port of the agent's HTTP endpoint (Mesos' agent port, 5051 by default). */
  port?: number;
}

/** `GET /corral/v1/discovery`: the view as of event `eventId`; apply events with a larger id. */
export interface DiscoverySnapshot {
  eventId: number;
  apps: DiscoveryApp[];
  tasks: DiscoveryTask[];
  /** `host:port` of the scheduler leading the cluster (Mesos-DNS' `leader.<domain>`). */
  leader?: string;
  /** Every scheduler, leader first (`master<n>.<domain>`); just the leader until HA lands. */
  masters?: string[];
  /** The reachable registered agents at `eventId`; later changes come as `agent_added_event` / `agent_removed_event`. */
  agents?: DiscoveryAgent[];
}

interface EventBase {
  timestamp: string;
}

export interface ApiPostEvent extends EventBase {
  eventType: 'api_post_event';
  clientIp: string;
  uri: string;
  /** The app as stored after the change (service ports assigned). */
  appDefinition: DiscoveryApp & Record<string, unknown>;
}

export interface StatusUpdateEvent extends EventBase {
  eventType: 'status_update_event';
  slaveId: string;
  taskId: string;
  taskStatus: TaskState;
  message: string;
  appId: string;
  host: string;
  ipAddresses: IpAddress[];
  ports: number[];
  version: string;
}

export interface AppTerminatedEvent extends EventBase {
  eventType: 'app_terminated_event';
  appId: string;
}

export type DeploymentActionType = 'StartApplication' | 'StopApplication' | 'ScaleApplication' | 'RestartApplication';

export interface DeploymentAction {
  action: DeploymentActionType;
  app: string;
}

export interface DeploymentStep {
  actions: DeploymentAction[];
}

/** Marathon's plan in `plan-format=light`: no original/target groups. */
export interface DeploymentPlan {
  id: string;
  version: string;
  steps: DeploymentStep[];
}

export interface DeploymentInfoEvent extends EventBase {
  eventType: 'deployment_info';
  plan: DeploymentPlan;
  currentStep: DeploymentStep;
}

export interface DeploymentStepSuccessEvent extends EventBase {
  eventType: 'deployment_step_success';
  plan: DeploymentPlan;
  currentStep: DeploymentStep;
}

export interface DeploymentSuccessEvent extends EventBase {
  eventType: 'deployment_success';
  /** The deployment id (Marathon's field name). */
  id: string;
  plan: DeploymentPlan;
}

export interface DeploymentFailedEvent extends EventBase {
  eventType: 'deployment_failed';
  id: string;
  plan: DeploymentPlan;
  reason: string;
}

export interface HealthStatusChangedEvent extends EventBase {
  eventType: 'health_status_changed_event';
  appId: string;
  taskId: string;
  instanceId: string;
  version: string;
  alive: boolean;
}

/** The instance's overall health: every check alive. What DNS and LB follow. */
export interface InstanceHealthChangedEvent extends EventBase {
  eventType: 'instance_health_changed_event';
  instanceId: string;
  runSpecId: string;
  runSpecVersion: string;
  healthy: boolean;
}

export interface FailedHealthCheckEvent extends EventBase {
  eventType: 'failed_health_check_event';
  appId: string;
  taskId: string;
  instanceId: string;
  /** The app version the task runs. */
  version: string;
  healthCheck: unknown;
}

export interface UnhealthyInstanceKillEvent extends EventBase {
  eventType: 'unhealthy_instance_kill_event';
  appId: string;
  taskId: string;
  instanceId: string;
  version: string;
  reason: string;
  host: string;
  slaveId: string;
}

/** Marathon's instance condition names. */
export type InstanceCondition =
  | 'Staging' | 'Starting' | 'Running' | 'Finished' | 'Failed' | 'Killing' | 'Killed' | 'Unreachable' | 'Gone' | 'Unknown' | 'Error' | 'Dropped';

export interface InstanceChangedEvent extends EventBase {
  eventType: 'instance_changed_event';
  /** The instance id (one task per instance in Corral: the task id). */
  id: string;
  condition: InstanceCondition;
  runSpecId: string;
  agentId: string;
  host: string;
  runSpecVersion: string;
  goal: 'Running' | 'Stopped' | 'Decommissioned';
}

export interface DeploymentStepFailureEvent extends EventBase {
  eventType: 'deployment_step_failure';
  plan: DeploymentPlan;
  currentStep: DeploymentStep;
}

export interface GroupChangeSuccessEvent extends EventBase {
  eventType: 'group_change_success';
  groupId: string;
  version: string;
}

export interface GroupChangeFailedEvent extends EventBase {
  eventType: 'group_change_failed';
  groupId: string;
  version: string;
  reason: string;
}

export interface AddHealthCheckEvent extends EventBase {
  eventType: 'add_health_check_event';
  appId: string;
  version: string;
  healthCheck: unknown;
}

export interface RemoveHealthCheckEvent extends EventBase {
  eventType: 'remove_health_check_event';
  appId: string;
  version: string;
  healthCheck: unknown;
}

/**
 * Corral: an agent registered, or registered again (after a restart, a partition, or with a new
 * address): Mesos' `AGENT_ADDED` of its v1 event stream, which it also sends on re-registration.
 * Marathon's stream has no agent events.
 */
export interface AgentAddedEvent extends EventBase {
  eventType: 'agent_added_event';
  agent: DiscoveryAgent;
  /** The agent was registered already (Mesos' re-registration). */
  reregistered: boolean;
}

/**
 * Corral: an agent left the cluster (Mesos' `AGENT_REMOVED`, which Mesos also sends when it marks
 * an agent unreachable): removed from the registry, or unreachable until it registers again.
 */
export interface AgentRemovedEvent extends EventBase {
  eventType: 'agent_removed_event';
  agentId: string;
  reason: 'unreachable' | 'removed';
}

/** Marathon's: a callback URL was registered through `POST /v2/eventSubscriptions`. */
export interface SubscribeEvent extends EventBase {
  eventType: 'subscribe_event';
  clientIp: string;
  callbackUrl: string;
}

/**
 * Marathon's: a callback URL was removed, by `DELETE /v2/eventSubscriptions` or (Corral) by the
 * scheduler after it kept failing; `reason` (Corral) says which.
 */
export interface UnsubscribeEvent extends EventBase {
  eventType: 'unsubscribe_event';
  clientIp: string;
  callbackUrl: string;
  reason?: string;
}

/** A job as job events carry it: Metronome's job JSON with its schedules (src/scheduler/jobs/types.ts StoredJob). */
export type EventJob = { id: string; schedules: unknown[] } & Record<string, unknown>;

/** Metronome's: a job was created through `/v1/jobs` (with the schedules it came with). */
export interface JobCreatedEvent extends EventBase {
  eventType: 'job_created';
  job: EventJob;
}

/** Metronome's: a job or one of its schedules was changed; `job` as it is now. */
export interface JobUpdatedEvent extends EventBase {
  eventType: 'job_updated';
  job: EventJob;
}

/** Metronome's: a job was deleted, with its schedules; `job` as it was. */
export interface JobDeletedEvent extends EventBase {
  eventType: 'job_deleted';
  job: EventJob;
}

/** A job run as run events carry it: Metronome's run JSON (src/scheduler/jobs/types.ts JobRun). */
export type EventJobRun = { id: string; jobId: string; status: string } & Record<string, unknown>;

/** Metronome's: a run was created (by a schedule's slot, by hand, or by its parents' success). */
export interface JobRunStartedEvent extends EventBase {
  eventType: 'job_run_started';
  jobRun: EventJobRun;
}

/** Metronome's: a run's task finished with exit status 0. */
export interface JobRunFinishedEvent extends EventBase {
  eventType: 'job_run_finished';
  jobRun: EventJobRun;
}

/** Metronome's: a run failed for good (its task failed with no retry left, it was stopped, overran or could not be placed). */
export interface JobRunFailedEvent extends EventBase {
  eventType: 'job_run_failed';
  jobRun: EventJobRun;
}

/** Broadcast when a subscriber comes or goes; not persisted, so they carry no id. */
export interface EventStreamAttachedEvent extends EventBase {
  eventType: 'event_stream_attached';
  remoteAddress: string;
}

export interface EventStreamDetachedEvent extends EventBase {
  eventType: 'event_stream_detached';
  remoteAddress: string;
}

/** Corral: the history no longer reaches back to the client's Last-Event-ID; re-read the snapshot. */
export interface ResyncRequiredEvent extends EventBase {
  eventType: 'resync_required';
  lastEventId: number;
  oldestEventId: number;
}

export type ClusterEvent =
  | ApiPostEvent
  | StatusUpdateEvent
  | AppTerminatedEvent
  | DeploymentInfoEvent
  | DeploymentStepSuccessEvent
  | DeploymentSuccessEvent
  | DeploymentFailedEvent
  | HealthStatusChangedEvent
  | InstanceHealthChangedEvent
  | FailedHealthCheckEvent
  | UnhealthyInstanceKillEvent
  | InstanceChangedEvent
  | DeploymentStepFailureEvent
  | GroupChangeSuccessEvent
  | GroupChangeFailedEvent
  | AddHealthCheckEvent
  | RemoveHealthCheckEvent
  | AgentAddedEvent
  | AgentRemovedEvent
  | SubscribeEvent
  | UnsubscribeEvent
  | JobCreatedEvent
  | JobUpdatedEvent
  | JobDeletedEvent
  | JobRunStartedEvent
  | JobRunFinishedEvent
  | JobRunFailedEvent;

/**
 * A committed event with its position in the stream: the SSE `id:` line. Ids increase
 * monotonically and survive scheduler restarts (they are persisted with the change).
 */
export interface EventRecord {
  eventId: number;
  event: ClusterEvent;
}

export type StreamEvent = ClusterEvent | EventStreamAttachedEvent | EventStreamDetachedEvent | ResyncRequiredEvent;

export type EventType = StreamEvent['eventType'];

/** The events that change the discovery view; followers subscribe to these only. */
export const DISCOVERY_EVENT_TYPES = ['api_post_event', 'status_update_event', 'app_terminated_event', 'instance_health_changed_event', 'agent_added_event', 'agent_removed_event'] as const satisfies readonly EventType[];
