import { jobDefinitionOf, jobFormOf, JOB_FORM_PATHS, type JobForm } from '../core/job-form.ts';
import { DefinitionEditor, type FieldKit, type FormModel } from './definition-editor.tsx';

const JOB_MODEL: FormModel<JobForm> = { toDefinition: jobDefinitionOf, toForm: jobFormOf, paths: JOB_FORM_PATHS };

function jobFields({ form, field, area, set }: FieldKit<JobForm>, withId: boolean) {
  return (
    <>
      {withId && field('id', 'Job ID', (p) => <input {...p} value={form.id} onInput={set('id')} placeholder="team-a.nightly-report" required />, 'Names of lower-case letters, digits and dashes, separated by dots.')}
      {field('description', 'Description', (p) => <input {...p} value={form.description} onInput={set('description')} />)}
      {field('cmd', 'Command', (p) => <input {...p} value={form.cmd} onInput={set('cmd')} placeholder="./report.sh" />, 'Run by sh -c on an agent; the run succeeds when it exits 0.')}
      <div class="row">
        {field('cpus', 'CPUs', (p) => <input {...p} inputMode="decimal" value={form.cpus} onInput={set('cpus')} />)}
        {field('mem', 'Memory (MiB)', (p) => <input {...p} inputMode="decimal" value={form.mem} onInput={set('mem')} />)}
        {field('disk', 'Disk (MiB)', (p) => <input {...p} inputMode="decimal" value={form.disk} onInput={set('disk')} placeholder="0" />)}
      </div>
      {area('env', 'Environment', 'DAY=monday', 'One KEY=value a line.')}
      {area('labels', 'Labels', 'team=blue', 'One key=value a line.')}
      <fieldset class="row">
        <legend>Schedule</legend>
        {field('cron', 'Cron', (p) => <input {...p} value={form.cron} onInput={set('cron')} placeholder="0 2 * * *" />, 'Five fields (six with seconds first); empty: runs only when asked.')}
        {field('timeZone', 'Time zone', (p) => <input {...p} value={form.timeZone} onInput={set('timeZone')} placeholder="Europe/Berlin" />)}
        {field('concurrencyPolicy', 'When a run is still active', (p) => (
          <select {...p} value={form.concurrencyPolicy} onChange={set('concurrencyPolicy')}>
            <option value="ALLOW">Start another (ALLOW)</option><option value="FORBID">Skip the slot (FORBID)</option><option value="REPLACE">Stop it, then start (REPLACE)</option>
          </select>
        ))}
      </fieldset>
    </>
  );
}

/** A job definition as the form or JSON (Create job, and a job's Edit). */
export function JobDefinitionEditor({ base, submitLabel, fixedId, send }: {
  base: Record<string, unknown>;
  submitLabel: string;
  fixedId?: boolean;
  send: (body: Record<string, unknown>) => Promise<void>;
}) {
  return (
    <DefinitionEditor model={JOB_MODEL} base={base} initial={jobFormOf(base)} submitLabel={submitLabel} jsonLabel="Job definition (JSON, as POST /v1/jobs takes it)"
      send={(body) => send(body)} fields={(kit) => jobFields(kit, fixedId !== true)} />
  );
}
