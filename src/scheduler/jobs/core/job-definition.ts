import type { ValidationDetail } from '../../errors.ts';
import { checkNulBytes, LIMITS } from '../../core/app-limits.ts';
import { checkContainer } from '../../core/app-container.ts';
import type { CatchUpPolicy, ConcurrencyPolicy, ConstraintOperator, Job, JobArtifact, JobConstraint, JobDocker, JobRunSpec, JobSchedule, RestartPolicy } from '../types.ts';
import { parseCron, timeZoneKnown } from './slots.ts';

/**
 * A job or schedule as a POST or PUT body describes it, checked and with Metronome's defaults
 * filled in, or Metronome's 422 details (`{path, errors}` with JSON pointers into the body).
 */
export type Checked<T> = { ok: true; value: T } | { ok: false; details: ValidationDetail[] };

/** Bounds that no real job meets, so what is stored stays small and launchable (docs/jobs.md lists them). */
export const JOB_LIMITS = {
  /** A job id becomes a path and a task id prefix, as an app id does. */
  idLength: LIMITS.idLength,
  scheduleIdLength: 64,
  descriptionLength: 4096,
  entries: 1000,
  labelKeyLength: 256,
  labelValueLength: 4096,
  artifacts: 100,
  constraints: 100,
  schedules: 20,
  dependencies: 100,
  /** Seconds: as long as any timer the scheduler keeps (app-limits.ts). */
  seconds: LIMITS.timerSeconds,
} as const;

/** COMPAT(metronome): dot-separated names of lowercase letters, digits and inner dashes (`team.nightly-report`). */
const JOB_ID = /^[a-z0-9]+(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)*$/;
/** COMPAT(metronome): one such name. */
const SCHEDULE_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;

const OPERATORS: readonly ConstraintOperator[] = ['EQ', 'LIKE', 'UNLIKE', 'IS', 'IN', 'GROUP_BY', 'MAX_PER', 'UNIQUE', 'CLUSTER'];
const RESTART_POLICIES: readonly RestartPolicy[] = ['NEVER', 'ON_FAILURE'];
const CONCURRENCY_POLICIES: readonly ConcurrencyPolicy[] = ['ALLOW', 'FORBID', 'REPLACE'];
const CATCH_UP_POLICIES: readonly CatchUpPolicy[] = ['NONE', 'ONE', 'ALL'];

const JOB_FIELDS = new Set(['id', 'description', 'labels', 'run', 'schedules', 'dependencies']);
const RUN_FIELDS = new Set(['cmd', 'args', 'cpus', 'mem', 'disk', 'gpus', 'env', 'artifacts', 'placement', 'maxLaunchDelay', 'restart', 'user', 'docker']);
const DOCKER_FIELDS = new Set(['image', 'forcePullImage', 'privileged', 'parameters']);
const SCHEDULE_FIELDS = new Set(['id', 'cron', 'timeZone', 'startingDeadlineSeconds', 'concurrencyPolicy', 'enabled', 'catchUp']);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function jobIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return 'must be a string';
  if (id.length > JOB_LIMITS.idLength) return `must be at most ${JOB_LIMITS.idLength} characters`;
  if (!JOB_ID.test(id)) return 'must be names of lowercase letters, digits and dashes (not first or last), separated by dots';
  return undefined;
}

/** Collects the details of one body while its fields are read. */
class Reader {
  readonly details: ValidationDetail[] = [];

  fail(path: string, error: string): undefined {
    const existing = this.details.find((d) => d.path === path);
    if (existing === undefined) this.details.push({ path, errors: [error] });
    else existing.errors.push(error);
    return undefined;
  }

  unknownFields(body: Record<string, unknown>, known: ReadonlySet<string>, pointer: string): void {
    for (const key of Object.keys(body)) if (!known.has(key)) this.fail(`${pointer}/${key}`, 'is not a known field');
  }

  string(value: unknown, path: string, max: number, optional = true): string | undefined {
    if (value === undefined) return optional ? undefined : this.fail(path, 'is required');
    if (typeof value !== 'string') return this.fail(path, 'must be a string');
    if (value.length > max) return this.fail(path, `must be at most ${max} characters`);
    return value;
  }

  number(value: unknown, path: string, fallback: number, min: number, max: number, integer = false): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value)) return this.fail(path, 'must be a number') ?? fallback;
    if (integer && !Number.isInteger(value)) return this.fail(path, 'must be an integer') ?? fallback;
    if (value < min) return this.fail(path, `must be at least ${min}`) ?? fallback;
    if (value > max) return this.fail(path, `must be at most ${max}`) ?? fallback;
    return value;
  }

  boolean(value: unknown, path: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    return typeof value === 'boolean' ? value : (this.fail(path, 'must be a boolean') ?? fallback);
  }

  oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], fallback: T): T {
    if (value === undefined) return fallback;
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    return this.fail(path, `must be one of ${allowed.join(', ')}`) ?? fallback;
  }

  array(value: unknown, path: string, max: number): unknown[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) return this.fail(path, 'must be an array') ?? [];
    if (value.length > max) return this.fail(path, `must have at most ${max} items`) ?? [];
    return value;
  }

  /** A map of strings (env, labels). */
  strings(value: unknown, path: string, valueMax: number): Record<string, string> {
    if (value === undefined) return {};
    if (!isRecord(value)) return this.fail(path, 'must be an object of strings') ?? {};
    const entries = Object.entries(value);
    if (entries.length > JOB_LIMITS.entries) return this.fail(path, `must have at most ${JOB_LIMITS.entries} entries`) ?? {};
    const out: Record<string, string> = {};
    for (const [key, item] of entries) {
      const at = `${path}/${key}`;
      if (key === '' || key.length > JOB_LIMITS.labelKeyLength) this.fail(at, `a name must have 1 to ${JOB_LIMITS.labelKeyLength} characters`);
      // Metronome's env may name a secret ({secret}); Corral has no secret store yet.
      else if (typeof item !== 'string') this.fail(at, 'must be a string');
      else if (item.length > valueMax) this.fail(at, `must be at most ${valueMax} characters`);
      else out[key] = item;
    }
    return out;
  }
}

/** For filters: an item that failed (and was reported) is dropped. */
const refused = (_reported: undefined): false => false;

function readArtifact(r: Reader, value: unknown, path: string): JobArtifact | undefined {
  if (!isRecord(value)) return r.fail(path, 'must be an object');
  const uri = r.string(value.uri, `${path}/uri`, LIMITS.execStringBytes, false);
  if (uri === undefined) return undefined;
  const artifact: JobArtifact = { uri };
  for (const flag of ['executable', 'extract', 'cache'] as const) {
    if (value[flag] !== undefined) artifact[flag] = r.boolean(value[flag], `${path}/${flag}`, false);
  }
  return artifact;
}

function readConstraint(r: Reader, value: unknown, path: string): JobConstraint | undefined {
  if (!isRecord(value)) return r.fail(path, 'must be an object');
  const attribute = r.string(value.attribute, `${path}/attribute`, JOB_LIMITS.labelKeyLength, false);
  const operator = value.operator === undefined ? r.fail(`${path}/operator`, 'is required') : r.oneOf(value.operator, `${path}/operator`, OPERATORS, 'EQ');
  const constraintValue = r.string(value.value, `${path}/value`, JOB_LIMITS.labelValueLength);
  if (attribute === undefined || operator === undefined) return undefined;
  return { attribute, operator, ...(constraintValue !== undefined ? { value: constraintValue } : {}) };
}

/** Metronome's `run.docker`, checked as an app's `container.docker` is (image reference, parameters), at `/run/docker/…`. */
function readDocker(r: Reader, value: unknown): JobDocker | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value)) return r.fail('/run/docker', 'must be an object');
  r.unknownFields(value, DOCKER_FIELDS, '/run/docker');
  if (value.image === undefined) return r.fail('/run/docker/image', 'is required');
  const checked = checkContainer({ type: 'DOCKER', docker: Object.fromEntries(Object.entries(value).filter(([key]) => DOCKER_FIELDS.has(key))) });
  if (!checked.ok) {
    for (const detail of checked.details) for (const error of detail.errors) r.fail(detail.path.replace(/^\/container\/docker/, '/run/docker'), error);
    return undefined;
  }
  return checked.container?.docker;
}

function readRun(r: Reader, value: unknown): JobRunSpec {
  const run = isRecord(value) ? value : {};
  if (value === undefined) r.fail('/run', 'is required');
  else if (!isRecord(value)) r.fail('/run', 'must be an object');
  else r.unknownFields(run, RUN_FIELDS, '/run');
  const cmd = r.string(run.cmd, '/run/cmd', LIMITS.execStringBytes);
  const args = r.array(run.args, '/run/args', JOB_LIMITS.entries).filter((arg, i): arg is string => typeof arg === 'string' || refused(r.fail(`/run/args/${i}`, 'must be a string')));
  const docker = readDocker(r, run.docker);
  // COMPAT(metronome): either cmd or args, not both; an image brings its own command.
  if (cmd === undefined && run.args === undefined && run.docker === undefined && isRecord(value)) r.fail('/run', 'must have cmd, args or docker.image');
  if (cmd !== undefined && run.args !== undefined) r.fail('/run', 'must not have both cmd and args');
  if (cmd === '') r.fail('/run/cmd', 'must not be empty');
  const placement = run.placement === undefined ? {} : isRecord(run.placement) ? run.placement : (r.fail('/run/placement', 'must be an object') ?? {});
  const restart = run.restart === undefined ? { policy: 'NEVER' } : isRecord(run.restart) ? run.restart : (r.fail('/run/restart', 'must be an object') ?? {});
  if (run.restart !== undefined && isRecord(run.restart) && run.restart.policy === undefined) r.fail('/run/restart/policy', 'is required');
  const activeDeadlineSeconds = restart.activeDeadlineSeconds === undefined ? undefined : r.number(restart.activeDeadlineSeconds, '/run/restart/activeDeadlineSeconds', 0, 1, JOB_LIMITS.seconds, true);
  const user = r.string(run.user, '/run/user', 256);
  const gpus = run.gpus === undefined ? undefined : r.number(run.gpus, '/run/gpus', 0, 0, 1000, true);
  return {
    ...(cmd !== undefined ? { cmd } : {}),
    ...(run.args !== undefined ? { args } : {}),
    // COMPAT(metronome): its minimums (0.01 cpus, 32 MiB) and defaults (1 cpu, 128 MiB, no disk, 3600 s to launch).
    cpus: r.number(run.cpus, '/run/cpus', 1, 0.01, LIMITS.cpus),
    mem: r.number(run.mem, '/run/mem', 128, 32, LIMITS.mem),
    disk: r.number(run.disk, '/run/disk', 0, 0, LIMITS.disk),
    ...(gpus !== undefined ? { gpus } : {}),
    env: r.strings(run.env, '/run/env', LIMITS.execStringBytes),
    artifacts: r.array(run.artifacts, '/run/artifacts', JOB_LIMITS.artifacts).flatMap((a, i) => readArtifact(r, a, `/run/artifacts/${i}`) ?? []),
    placement: {
      constraints: r.array(placement.constraints, '/run/placement/constraints', JOB_LIMITS.constraints).flatMap((c, i) => readConstraint(r, c, `/run/placement/constraints/${i}`) ?? []),
    },
    maxLaunchDelay: r.number(run.maxLaunchDelay, '/run/maxLaunchDelay', 3600, 1, JOB_LIMITS.seconds, true),
    restart: {
      policy: r.oneOf(restart.policy, '/run/restart/policy', RESTART_POLICIES, 'NEVER'),
      ...(activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds } : {}),
    },
    ...(user !== undefined ? { user } : {}),
    ...(docker !== undefined ? { docker } : {}),
  };
}

function readSchedule(r: Reader, body: unknown, pointer: string): JobSchedule | undefined {
  if (!isRecord(body)) return r.fail(pointer || '/', 'must be an object');
  r.unknownFields(body, SCHEDULE_FIELDS, pointer);
  const id = r.string(body.id, `${pointer}/id`, JOB_LIMITS.scheduleIdLength, false);
  if (id !== undefined && !SCHEDULE_ID.test(id)) r.fail(`${pointer}/id`, 'must be lowercase letters, digits and dashes (not first or last)');
  const cron = r.string(body.cron, `${pointer}/cron`, 256, false);
  const zone = typeof body.timeZone === 'string' && timeZoneKnown(body.timeZone) ? body.timeZone : 'UTC';
  // Checked in the schedule's own zone (a pattern may never fire); a bad zone is the zone's error, not the cron's.
  const parsed = cron === undefined ? undefined : parseCron(cron, zone);
  if (parsed?.ok === false) r.fail(`${pointer}/cron`, parsed.message);
  const timeZone = r.string(body.timeZone, `${pointer}/timeZone`, 64) ?? 'UTC';
  if (!timeZoneKnown(timeZone)) r.fail(`${pointer}/timeZone`, `unknown time zone '${timeZone}' (an IANA name such as Europe/Berlin)`);
  const schedule: JobSchedule = {
    id: id ?? '',
    cron: cron?.trim() ?? '',
    timeZone,
    startingDeadlineSeconds: r.number(body.startingDeadlineSeconds, `${pointer}/startingDeadlineSeconds`, 900, 1, JOB_LIMITS.seconds, true),
    concurrencyPolicy: r.oneOf(body.concurrencyPolicy, `${pointer}/concurrencyPolicy`, CONCURRENCY_POLICIES, 'ALLOW'),
    enabled: r.boolean(body.enabled, `${pointer}/enabled`, true),
    catchUp: r.oneOf(body.catchUp, `${pointer}/catchUp`, CATCH_UP_POLICIES, 'ONE'),
  };
  return schedule;
}

const checked = <T>(r: Reader, value: T): Checked<T> => (r.details.length === 0 ? { ok: true, value } : { ok: false, details: r.details });

/** A schedule from `POST /v1/jobs/{id}/schedules` or a PUT of one (`id` as the path says, when given). */
export function scheduleFromBody(body: unknown, id?: string): Checked<JobSchedule> {
  const r = new Reader();
  const withId = id !== undefined && isRecord(body) ? { ...body, id: body.id ?? id } : body;
  if (id !== undefined && isRecord(body) && body.id !== undefined && body.id !== id) r.fail('/id', `must be '${id}', as in the path`);
  const schedule = readSchedule(r, withId, '');
  r.details.push(...checkNulBytes(body));
  return schedule === undefined ? { ok: false, details: r.details } : checked(r, schedule);
}

/**
 * A job from `POST /v1/jobs` or `PUT /v1/jobs/{id}` (`id` as the path says). Its schedules are
 * read only where Metronome reads them (a POST may carry them inline); a PUT keeps the stored ones.
 */
export function jobFromBody(body: unknown, id?: string): Checked<{ job: Job; schedules: JobSchedule[] | undefined }> {
  const r = new Reader();
  if (!isRecord(body)) return { ok: false, details: [{ path: '/', errors: ['must be a JSON object'] }] };
  r.unknownFields(body, JOB_FIELDS, '');
  const jobId = id ?? body.id;
  if (id !== undefined && body.id !== undefined && body.id !== id) r.fail('/id', `must be '${id}', as in the path`);
  const idError = jobId === undefined ? 'is required' : jobIdProblem(jobId);
  if (idError !== undefined) r.fail('/id', idError);
  const description = r.string(body.description, '/description', JOB_LIMITS.descriptionLength);
  const labels = r.strings(body.labels, '/labels', JOB_LIMITS.labelValueLength);
  const run = readRun(r, body.run);
  const dependencies = body.dependencies === undefined ? undefined : r.array(body.dependencies, '/dependencies', JOB_LIMITS.dependencies).filter((dep, i): dep is string => {
    const problem = jobIdProblem(dep);
    return problem === undefined || refused(r.fail(`/dependencies/${i}`, problem));
  });
  const schedules = body.schedules === undefined ? undefined : r.array(body.schedules, '/schedules', JOB_LIMITS.schedules).flatMap((s, i) => readSchedule(r, s, `/schedules/${i}`) ?? []);
  const ids = (schedules ?? []).map((s) => s.id);
  ids.forEach((sid, i) => { if (ids.indexOf(sid) !== i) r.fail(`/schedules/${i}/id`, `schedule '${sid}' is given twice`); });
  r.details.push(...checkNulBytes(body));
  const job: Job = {
    id: typeof jobId === 'string' ? jobId : '',
    ...(description !== undefined ? { description } : {}),
    labels,
    run,
    ...(dependencies !== undefined ? { dependencies } : {}),
  };
  return checked(r, { job, schedules });
}

/** Corral: the body of `POST /v1/jobs/{id}/runs` (Metronome takes none): `env` overriding the job's for this run. */
export function runParamsFromBody(body: unknown): Checked<{ env: Record<string, string> }> {
  if (body === undefined || body === null || body === '') return { ok: true, value: { env: {} } };
  const r = new Reader();
  if (!isRecord(body)) return { ok: false, details: [{ path: '/', errors: ['must be a JSON object'] }] };
  r.unknownFields(body, new Set(['env']), '');
  const env = r.strings(body.env, '/env', LIMITS.execStringBytes);
  r.details.push(...checkNulBytes(body));
  return checked(r, { env });
}
