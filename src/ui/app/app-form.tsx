import { definitionOf, formOf, FORM_PATHS, type AppForm } from '../core/app-form.ts';
import { DefinitionEditor, type FieldKit, type FormModel } from './definition-editor.tsx';

const APP_MODEL: FormModel<AppForm> = { toDefinition: definitionOf, toForm: formOf, paths: FORM_PATHS };

/** The app form's fields (Create shows the id too; Edit's is the app's). */
function appFields({ form, field, area, set }: FieldKit<AppForm>, withId: boolean) {
  return (
    <>
      {withId && field('id', 'ID', (p) => <input {...p} value={form.id} onInput={set('id')} placeholder="/team/web" required />, 'A path: /group/name, lower-case letters, digits, dashes.')}
      {field('cmd', 'Command', (p) => <input {...p} value={form.cmd} onInput={set('cmd')} placeholder="python3 -m http.server $PORT0" />, 'Run by sh -c on the agent; $PORT0 is its first port.')}
      {area('args', 'Arguments', 'nginx\n-g\ndaemon off;', 'Instead of a command: run directly, one argument a line (the first is the program).')}
      <div class="row">
        {field('instances', 'Instances', (p) => <input {...p} inputMode="numeric" value={form.instances} onInput={set('instances')} />)}
        {field('cpus', 'CPUs', (p) => <input {...p} inputMode="decimal" value={form.cpus} onInput={set('cpus')} />)}
        {field('mem', 'Memory (MiB)', (p) => <input {...p} inputMode="decimal" value={form.mem} onInput={set('mem')} />)}
        {field('disk', 'Disk (MiB)', (p) => <input {...p} inputMode="decimal" value={form.disk} onInput={set('disk')} placeholder="0" />)}
      </div>
      {field('image', 'Container image', (p) => <input {...p} value={form.image} onInput={set('image')} placeholder="nginx:1.27" />, 'Empty: no container (the command runs on the agent).')}
      {area('ports', 'Ports', '0 http', 'One a line: port (0: one is picked), name (- for none), protocol (tcp, udp or udp,tcp). $PORT0 is the first.')}
      <fieldset class="row">
        <legend>Health check</legend>
        {field('healthProtocol', 'Health check protocol', (p) => (
          <select {...p} value={form.healthProtocol} onChange={set('healthProtocol')}>
            <option value="HTTP">HTTP</option><option value="TCP">TCP</option><option value="none">None</option>
          </select>
        ), 'On the first port.')}
        {field('healthPath', 'HTTP health check path', (p) => <input {...p} value={form.healthPath} onInput={set('healthPath')} placeholder="/" disabled={form.healthProtocol !== 'HTTP'} />, 'Empty: no health check.')}
        {field('healthInterval', 'Every (s)', (p) => <input {...p} inputMode="decimal" value={form.healthInterval} onInput={set('healthInterval')} />)}
        {field('healthGrace', 'Grace period (s)', (p) => <input {...p} inputMode="decimal" value={form.healthGrace} onInput={set('healthGrace')} />)}
      </fieldset>
      {area('env', 'Environment', 'LOG_LEVEL=info', 'One KEY=value a line.')}
      {area('labels', 'Labels', 'team=blue', 'One key=value a line.')}
      {area('constraints', 'Constraints', 'hostname:UNIQUE', 'One a line: field:OPERATOR[:value] (UNIQUE, CLUSTER, GROUP_BY, LIKE, UNLIKE, MAX_PER, IS).')}
    </>
  );
}

/** An app definition as the form or JSON (Create, and the App page's Edit). */
export function AppDefinitionEditor({ base, initial, submitLabel, jsonLabel, fixedId, send }: {
  base: Record<string, unknown>;
  initial: AppForm;
  submitLabel: string;
  jsonLabel: string;
  /** Editing: the id is the app's, not a field. */
  fixedId?: boolean;
  send: (body: Record<string, unknown>, force: boolean) => Promise<void>;
}) {
  return <DefinitionEditor model={APP_MODEL} base={base} initial={initial} submitLabel={submitLabel} jsonLabel={jsonLabel} send={send} fields={(kit) => appFields(kit, fixedId !== true)} />;
}
