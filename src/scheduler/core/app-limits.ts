import type { ValidationDetail } from '../errors.ts';

/**
 * Bounds on an app definition that no real app meets, so that what is accepted can always be
 * launched: a number past them (`instances: 1e308`) or a string that `exec` refuses (E2BIG, a NUL
 * byte) would otherwise be stored and relaunched forever. docs/scheduler.md lists them.
 */
export const LIMITS = {
  instances: 100_000,
  cpus: 10_000,
  /** 64 TiB, in MiB. */
  mem: 64 * 1024 * 1024,
  /** 1 PiB, in MiB. */
  disk: 1024 ** 3,
  /** Port definitions (or legacy `ports`) of one app. */
  ports: 1000,
  /**
   * Durations that become timers (health and readiness checks, backoff, kill grace, deployment
   * timeout): ~11.6 days, under Node's timer ceiling (2^31 - 1 ms, ~24.8 days) past which a
   * timer fires at once.
   */
  timerSeconds: 1_000_000,
  /** Durations only compared with the clock (unreachableStrategy): one year. */
  ageSeconds: 365 * 24 * 3600,
  /** Counts such as maxConsecutiveFailures. */
  count: 1_000_000,
  backoffFactor: 100,
  /**
   * Task ids are `<id without the first slash, / as _>.<uuid>` and name a sandbox directory
   * and a cgroup (`task-<task id>`), each at most 255 bytes (NAME_MAX).
   */
  idLength: 200,
  /** One argument or `NAME=value` string: half of Linux's MAX_ARG_STRLEN (128 KiB). */
  execStringBytes: 64 * 1024,
  /**
   * What the app puts on the task's command line and environment (cmd, args, env, labels as
   * MARATHON_APP_LABEL_*): half of the usual ARG_MAX (2 MiB), leaving the rest to the agent's
   * own variables.
   */
  execTotalBytes: 1024 * 1024,
} as const;

const NUL = '\u0000';

/** Every string and object key in `value` that holds a NUL byte, which no exec can pass on. */
export function checkNulBytes(value: unknown, pointer = ''): ValidationDetail[] {
  if (typeof value === 'string') return value.includes(NUL) ? [{ path: pointer || '/', errors: ['must not contain a NUL byte'] }] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => checkNulBytes(item, `${pointer}/${index}`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) => checkNulBytes(key, `${pointer}/${key}`).concat(checkNulBytes(item, `${pointer}/${key}`)));
}

/** What the agent puts on a task's command line and environment from the app definition. */
export interface LaunchStrings {
  cmd?: string | undefined;
  args?: readonly string[] | undefined;
  env: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
}

/**
 * Environment names that `exec` cannot pass (empty, or with `=`, which ends the name), and
 * strings that would make it fail with E2BIG: one longer than {@link LIMITS.execStringBytes},
 * or all of them together beyond {@link LIMITS.execTotalBytes}.
 */
export function checkLaunchStrings(launch: LaunchStrings): ValidationDetail[] {
  const details: ValidationDetail[] = [];
  let total = 0;
  const count = (path: string, text: string): void => {
    const bytes = Buffer.byteLength(text);
    // The kernel copies each string with its NUL and keeps a pointer to it.
    total += bytes + 1 + 8;
    if (bytes > LIMITS.execStringBytes) {
      details.push({ path, errors: [`takes ${bytes} bytes on the task's command line or environment; the limit is ${LIMITS.execStringBytes} bytes`] });
    }
  };
  if (launch.cmd !== undefined) count('/cmd', launch.cmd);
  launch.args?.forEach((arg, index) => count(`/args/${index}`, arg));
  for (const [name, value] of Object.entries(launch.env)) {
    if (name === '' || name.includes('=')) details.push({ path: `/env/${name}`, errors: ["an environment variable name must be non-empty and must not contain '='"] });
    count(`/env/${name}`, `${name}=${value}`);
  }
  // The agent passes each label as MARATHON_APP_LABEL_<NAME>=value and all names in MARATHON_APP_LABELS.
  const names = Object.keys(launch.labels);
  for (const name of names) count(`/labels/${name}`, `MARATHON_APP_LABEL_${name}=${launch.labels[name] ?? ''}`);
  count('/labels', `MARATHON_APP_LABELS=${names.join(' ')}`);
  if (total > LIMITS.execTotalBytes) {
    details.push({ path: '/', errors: [`cmd, args, env and labels take ${total} bytes on the task's command line and environment; the limit is ${LIMITS.execTotalBytes} bytes`] });
  }
  return details;
}
