import { CodedError } from '../shared/coded-error.ts';

/**
 * Coded errors of `corral agent` that callers and operators tell apart: bad start-up settings,
 * a task that cannot be launched, and a scheduler that refuses the agent. (Isolation has its own,
 * in isolation/errors.ts.)
 */
export class AgentError extends CodedError<AgentErrorCode> {}

export type AgentErrorCode =
  /** `--resources` that do not parse (Mesos syntax). */
  | 'ERR_AGENT_BAD_RESOURCE'
  /** `--attributes` that do not parse. */
  | 'ERR_AGENT_BAD_ATTRIBUTE'
  /** A launch with neither `cmd` nor `args`: the scheduler should never send one. */
  | 'ERR_AGENT_NO_COMMAND'
  /** A URI of the task could not be fetched into its sandbox (see fetcher.ts). */
  | 'ERR_AGENT_FETCH'
  /** The task's user does not exist, may not be used (root), or the agent cannot switch to it (see core/task-user.ts). */
  | 'ERR_AGENT_TASK_USER'
  /** A kill came in while the task was being prepared: it never started. */
  | 'ERR_AGENT_KILLED_BEFORE_START'
  /** A task's image could not be pulled, unpacked or run (see containers/): its message says which and why. */
  | 'ERR_AGENT_IMAGE'
  /** A task's persistent volume could not be made or put in its sandbox. */
  | 'ERR_AGENT_VOLUME'
  /** The scheduler answered the registration with an error status. */
  | 'ERR_AGENT_REGISTRATION_REFUSED'
  /** The scheduler refused the command stream (e.g. it no longer knows the agent). */
  | 'ERR_AGENT_STREAM_REFUSED'
  /** The scheduler failed (5xx) on a batch of status updates; the batch is sent again. */
  | 'ERR_AGENT_STATUS_REFUSED';
