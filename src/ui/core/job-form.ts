import { numberOr, parsePairs } from './app-form.ts';

/**
 * The job form (Create job, and a job's Edit): Metronome's common fields as text, and back over
 * the job's definition (what the form does not show stays). Creating may carry one schedule
 * inline; editing changes the first schedule through its own route (a job's PUT ignores
 * `schedules`, as Metronome's does).
 */
export interface JobForm {
  id: string;
  description: string;
  cmd: string;
  cpus: string;
  mem: string;
  disk: string;
  env: string;
  labels: string;
  /** The first schedule; an empty cron: none. */
  cron: string;
  timeZone: string;
  concurrencyPolicy: string;
}

export const NEW_JOB_FORM: JobForm = { id: '', description: '', cmd: '', cpus: '0.1', mem: '64', disk: '', env: '', labels: '', cron: '', timeZone: 'UTC', concurrencyPolicy: 'ALLOW' };

export const JOB_FORM_PATHS: Readonly<Record<keyof JobForm, string>> = {
  id: '/id', description: '/description', cmd: '/run/cmd', cpus: '/run/cpus', mem: '/run/mem', disk: '/run/disk', env: '/run/env', labels: '/labels',
  cron: '/schedules/0/cron', timeZone: '/schedules/0/timeZone', concurrencyPolicy: '/schedules/0/concurrencyPolicy',
};

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));
const pairsText = (value: unknown): string => (isObject(value) ? Object.entries(value).map(([k, v]) => `${k}=${text(v)}`).join('\n') : '');

export function jobFormOf(definition: Json): JobForm {
  const run = isObject(definition.run) ? definition.run : {};
  const schedule = Array.isArray(definition.schedules) && isObject(definition.schedules[0]) ? definition.schedules[0] : {};
  return {
    id: text(definition.id),
    description: text(definition.description),
    cmd: text(run.cmd),
    cpus: text(run.cpus ?? ''),
    mem: text(run.mem ?? ''),
    disk: run.disk === undefined || run.disk === 0 ? '' : text(run.disk),
    env: pairsText(run.env),
    labels: pairsText(definition.labels),
    cron: text(schedule.cron),
    timeZone: text(schedule.timeZone ?? 'UTC'),
    concurrencyPolicy: text(schedule.concurrencyPolicy ?? 'ALLOW'),
  };
}

function put(target: Json, key: string, value: unknown): void {
  if (value === undefined) delete target[key];
  else target[key] = value;
}

/** The job the form stands for, over `base`; `schedules` holds the first schedule (its id kept, `default` for a new one). */
export function jobDefinitionOf(form: JobForm, base: Json = {}): Json {
  const baseRun = isObject(base.run) ? base.run : {};
  const run: Json = { ...baseRun };
  put(run, 'cmd', form.cmd.trim() === '' ? undefined : form.cmd);
  if (form.cmd.trim() !== '') delete run.args;
  run.cpus = numberOr(form.cpus);
  run.mem = numberOr(form.mem);
  put(run, 'disk', form.disk.trim() === '' ? undefined : numberOr(form.disk));
  const env = parsePairs(form.env);
  put(run, 'env', Object.keys(env).length === 0 && baseRun.env === undefined ? undefined : env);
  const out: Json = { ...base, id: form.id.trim(), run };
  put(out, 'description', form.description.trim() === '' ? undefined : form.description);
  const labels = parsePairs(form.labels);
  put(out, 'labels', Object.keys(labels).length === 0 && base.labels === undefined ? undefined : labels);
  const schedules = Array.isArray(base.schedules) ? base.schedules.filter(isObject) : [];
  if (form.cron.trim() === '') put(out, 'schedules', schedules.length === 0 ? undefined : schedules.slice(1));
  else {
    const first = schedules[0] ?? { id: 'default' };
    out.schedules = [{ ...first, cron: form.cron.trim(), timeZone: form.timeZone.trim() === '' ? 'UTC' : form.timeZone.trim(), concurrencyPolicy: form.concurrencyPolicy }, ...schedules.slice(1)];
  }
  return out;
}
