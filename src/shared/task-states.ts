/** Mesos task states: the agent reports them, the scheduler keeps them, the event stream carries them. */
export type TaskState =
  | 'TASK_STAGING'
  | 'TASK_STARTING'
  | 'TASK_RUNNING'
  | 'TASK_FINISHED'
  | 'TASK_FAILED'
  | 'TASK_KILLING'
  | 'TASK_KILLED'
  | 'TASK_LOST'
  | 'TASK_UNREACHABLE'
  | 'TASK_GONE';

/** Every task state, e.g. so that gauges show zeros rather than dropping series. */
export const TASK_STATES = [
  'TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED', 'TASK_FAILED',
  'TASK_KILLING', 'TASK_KILLED', 'TASK_LOST', 'TASK_UNREACHABLE', 'TASK_GONE',
] as const satisfies readonly TaskState[];

export const TERMINAL_TASK_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'TASK_FINISHED',
  'TASK_FAILED',
  'TASK_KILLED',
  'TASK_LOST',
  'TASK_GONE',
]);
