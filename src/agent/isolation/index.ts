/** Task isolation, as Mesos' cgroups/mem and cgroups/cpu isolators: one cgroup per task. */
export { detectIsolator, type DetectOptions } from './detect.ts';
export { enterCgroupScript, ENTER_CGROUP_FAILED_EXIT } from './core/names.ts';
export { IsolationError } from './errors.ts';
export type { IsolationKind, Isolator, TaskCgroup, TaskLimits } from './isolator.ts';
