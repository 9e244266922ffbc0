import { CodedError } from '../../shared/coded-error.ts';

/** Coded errors of task isolation: I/O failures on cgroup files and broken invariants (a bad task id or limit). */
export class IsolationError extends CodedError {}

/** A task id or parent path that cannot name a cgroup directory. */
export const ERR_ISOLATION_BAD_NAME = 'ERR_ISOLATION_BAD_NAME';
/** Limits that are not finite non-negative numbers: the scheduler should never send them. */
export const ERR_ISOLATION_BAD_LIMITS = 'ERR_ISOLATION_BAD_LIMITS';
/** The task's cgroup could not be made or its limits could not be written. */
export const ERR_ISOLATION_PREPARE_FAILED = 'ERR_ISOLATION_PREPARE_FAILED';
/** The task's cgroup still held processes (or could not be removed) after the retries. */
export const ERR_ISOLATION_DESTROY_FAILED = 'ERR_ISOLATION_DESTROY_FAILED';
