/**
 * Task isolation, as Mesos' cgroups/mem and cgroups/cpu isolators: one cgroup per task.
 *
 * Every Isolator passes one conformance suite, `isolatorContract` in
 * test/support/contracts/isolator-contract.ts (prepare, find after a restart, destroy kills what
 * is inside, a reused task id made afresh, agents sharing a place apart, release): run for
 * NoIsolation in test/unit/isolator-contract.test.ts and for the cgroup isolator on this
 * machine's cgroups in test/integration/agent-isolation-contract.test.ts. A new implementation
 * (a container runtime) adds a run of it.
 */
export { detectIsolator, type DetectOptions } from './detect.ts';
export { enterCgroupScript, ENTER_CGROUP_FAILED_EXIT } from './core/names.ts';
export { IsolationError } from './errors.ts';
export type { IsolationKind, Isolator, TaskCgroup, TaskLimits } from './isolator.ts';
