/**
 * The agent protocol: the agent opens every connection (it may sit behind NAT).
 *   POST /corral/v1/agents/register          RegisterRequest → RegisterResponse
 *   GET  /corral/v1/agents/{id}/commands     NDJSON stream of AgentCommand, one per line
 *   POST /corral/v1/agents/{id}/status       TaskStatusUpdate → 200 once applied (idempotent)
 */
import type { TaskState } from '../events/types.ts';

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
  /** Tasks this agent still runs, for reconciliation. */
  tasks: Array<{ taskId: string; state: TaskState }>;
}

export interface RegisterResponse {
  agentId: string;
  heartbeatIntervalMs: number;
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
}

export type AgentCommand =
  | { type: 'launch'; task: TaskLaunch }
  | { type: 'kill'; taskId: string; killGracePeriodMs?: number }
  | { type: 'heartbeat' };

export interface TaskStatusUpdate {
  /** Unique per update, so a retried update is applied once. */
  uuid: string;
  taskId: string;
  state: TaskState;
  message: string;
  timestamp: string;
  exitStatus?: number;
  reason?: string;
}
