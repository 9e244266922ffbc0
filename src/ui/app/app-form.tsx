import { useState } from 'preact/hooks';
import { definitionOf, formOf, FORM_PATHS, type AppForm } from '../core/app-form.ts';
import type { ErrorDetail } from '../core/marathon.ts';
import { detailsByField, lineOfPath } from '../core/validation.ts';
import { ApiError, errorText } from './api.ts';

type Json = Record<string, unknown>;
/** The most specific first: `/healthChecks/0/path` is the path field's, `/healthChecks/1` the protocol's. */
const FIELD_PATHS = Object.values(FORM_PATHS).sort((a, b) => b.length - a.length);
interface Problem { message: string; byField: Map<string, string[]>; other: Array<ErrorDetail & { line?: number }>; locked: boolean }

/**
 * An app definition as a form for the common fields or as JSON (Create, and the App page's Edit):
 * a 422's details beside the field they name (in JSON, listed with their path and line), a 409
 * (a deployment holds the app) with "Force it". `send` makes the call (`force`: past the lock).
 */
export function AppDefinitionEditor({ base, initial, submitLabel, jsonLabel, fixedId, send }: {
  base: Json;
  initial: AppForm;
  submitLabel: string;
  jsonLabel: string;
  /** Editing: the id is the app's, not a field. */
  fixedId?: boolean;
  send: (body: Json, force: boolean) => Promise<void>;
}) {
  const [form, setForm] = useState<AppForm>(initial);
  const [json, setJson] = useState<string | undefined>();
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const set = (key: keyof AppForm) => (e: Event): void => setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  const body = (): Json => (json === undefined ? definitionOf(form, base) : (JSON.parse(json) as Json));

  const submit = async (force: boolean): Promise<void> => {
    setProblem(undefined);
    let definition: Json;
    try {
      definition = body();
    } catch (err) {
      setProblem({ message: `Not JSON: ${(err as Error).message}`, byField: new Map(), other: [], locked: false });
      return;
    }
    setBusy(true);
    try {
      await send(definition, force);
    } catch (err) {
      const problemOf = err instanceof ApiError ? err.problem : undefined;
      // In the JSON editor every detail is listed with its path and line; in the form, beside its field.
      const split = detailsByField(problemOf?.details ?? [], json === undefined ? FIELD_PATHS : []);
      const text = json ?? JSON.stringify(definition, null, 2);
      setProblem({ message: errorText(err), byField: split.byField, other: split.other.map((d) => ({ ...d, line: json === undefined ? undefined : lineOfPath(text, d.path) })), locked: !force && problemOf?.status === 409 });
    } finally {
      setBusy(false);
    }
  };
  const toForm = (): void => {
    try {
      setForm(formOf(body()));
      setJson(undefined);
      setProblem(undefined);
    } catch (err) {
      setProblem({ message: `Not JSON: ${(err as Error).message}`, byField: new Map(), other: [], locked: false });
    }
  };

  const errorsOf = (key: keyof AppForm): string[] => problem?.byField.get(FORM_PATHS[key]) ?? [];
  const field = (key: keyof AppForm, label: string, input: (props: Json) => preact.JSX.Element, hint?: string) => {
    const errors = errorsOf(key);
    const id = `field-${key}`;
    return (
      <div class={`field${errors.length > 0 ? ' invalid' : ''}`}>
        <label for={id}>{label}</label>
        {input({ id, 'aria-invalid': errors.length > 0, 'aria-describedby': `${id}-note` })}
        <span id={`${id}-note`} class={errors.length > 0 ? 'field-error' : 'hint'} data-path={FORM_PATHS[key]}>
          {errors.length > 0 ? errors.join('; ') : hint}
        </span>
      </div>
    );
  };
  const area = (key: keyof AppForm, label: string, placeholder: string, hint: string) =>
    field(key, label, (p) => <textarea {...p} rows={3} spellcheck={false} value={form[key]} onInput={set(key)} placeholder={placeholder} />, hint);

  return (
    <form class="app-form" onSubmit={(e) => { e.preventDefault(); void submit(false); }} noValidate>
      <div class="mode" role="group" aria-label="Edit as">
        <button type="button" aria-pressed={json === undefined} onClick={toForm}>Form</button>
        <button type="button" aria-pressed={json !== undefined} onClick={() => { setJson(JSON.stringify(body(), null, 2)); setProblem(undefined); }}>JSON</button>
      </div>
      {json === undefined ? (
        <>
          {fixedId !== true && field('id', 'ID', (p) => <input {...p} value={form.id} onInput={set('id')} placeholder="/team/web" required />, 'A path: /group/name, lower-case letters, digits, dashes.')}
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
      ) : (
        <div class="field">
          <label for="app-json">{jsonLabel}</label>
          <textarea id="app-json" rows={24} spellcheck={false} value={json} onInput={(e) => setJson(e.currentTarget.value)} />
        </div>
      )}
      {problem !== undefined && (
        <div class="problems" role="alert">
          <p class="error">
            {problem.message}
            {problem.locked && <> <button type="button" onClick={() => void submit(true)}>Force it (cancels the running deployment)</button></>}
          </p>
          {problem.other.map((d) => (
            <p key={d.path} class="field-error" data-path={d.path}><code>{d.path}</code>{d.line !== undefined ? ` (line ${d.line})` : ''}: {d.errors.join('; ')}</p>
          ))}
        </div>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>{submitLabel}</button>
      </div>
    </form>
  );
}
