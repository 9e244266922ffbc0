import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { ErrorDetail } from '../core/marathon.ts';
import { detailsByField, lineOfPath } from '../core/validation.ts';
import { ApiError, errorText } from './api.ts';

type Json = Record<string, unknown>;
interface Problem { message: string; byField: Map<string, string[]>; other: Array<ErrorDetail & { line?: number }>; locked: boolean }

/** What a form's fields are drawn with: `field` for one input beside its label, hint and 422 note; `area` for a text area. */
export interface FieldKit<F> {
  form: F;
  field: (key: keyof F & string, label: string, input: (props: Json) => JSX.Element, hint?: string) => JSX.Element;
  area: (key: keyof F & string, label: string, placeholder: string, hint: string) => JSX.Element;
  set: (key: keyof F & string) => (e: Event) => void;
}

/** A form type: every value is text (as typed), the API says what is wrong with it. */
export interface FormModel<F> {
  toDefinition: (form: F, base: Json) => Json;
  toForm: (definition: Json) => F;
  /** The API path a 422 names each field with (`/cpus`, `/run/mem`). */
  paths: Readonly<Record<keyof F & string, string>>;
}

/**
 * A definition (an app's, a job's) as a form for the common fields or as JSON, for Create and
 * Edit alike: a 422's details beside the field they name (in JSON, listed with their path and
 * line), a 409 (a deployment holds the app) with "Force it". `send` makes the call (`force`:
 * past the lock); what it throws is shown.
 */
export function DefinitionEditor<F extends Record<string, string>>({ model, base, initial, submitLabel, jsonLabel, send, fields }: {
  model: FormModel<F>;
  base: Json;
  initial: F;
  submitLabel: string;
  jsonLabel: string;
  send: (body: Json, force: boolean) => Promise<void>;
  fields: (kit: FieldKit<F>) => JSX.Element;
}) {
  const [form, setForm] = useState<F>(initial);
  const [json, setJson] = useState<string | undefined>();
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  // The most specific first: `/healthChecks/0/path` is the path field's, `/healthChecks/1` the protocol's.
  const fieldPaths = Object.values<string>(model.paths).sort((a, b) => b.length - a.length);
  const set = (key: keyof F & string) => (e: Event): void => setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  const body = (): Json => (json === undefined ? model.toDefinition(form, base) : (JSON.parse(json) as Json));
  const notJson = (err: unknown): void => setProblem({ message: `Not JSON: ${(err as Error).message}`, byField: new Map(), other: [], locked: false });

  const submit = async (force: boolean): Promise<void> => {
    setProblem(undefined);
    let definition: Json;
    try {
      definition = body();
    } catch (err) {
      notJson(err);
      return;
    }
    setBusy(true);
    try {
      await send(definition, force);
    } catch (err) {
      const problemOf = err instanceof ApiError ? err.problem : undefined;
      // In the JSON editor every detail is listed with its path and line; in the form, beside its field.
      const split = detailsByField(problemOf?.details ?? [], json === undefined ? fieldPaths : []);
      const other = split.other.map((d) => ({ ...d, ...(json === undefined ? {} : { line: lineOfPath(json, d.path) }) }));
      setProblem({ message: errorText(err), byField: split.byField, other, locked: !force && problemOf?.status === 409 });
    } finally {
      setBusy(false);
    }
  };
  const toForm = (): void => {
    try {
      setForm(model.toForm(body()));
      setJson(undefined);
      setProblem(undefined);
    } catch (err) {
      notJson(err);
    }
  };

  const field: FieldKit<F>['field'] = (key, label, input, hint) => {
    const errors = problem?.byField.get(model.paths[key]) ?? [];
    const id = `field-${key}`;
    return (
      <div class={`field${errors.length > 0 ? ' invalid' : ''}`}>
        <label for={id}>{label}</label>
        {input({ id, 'aria-invalid': errors.length > 0, 'aria-describedby': `${id}-note` })}
        <span id={`${id}-note`} class={errors.length > 0 ? 'field-error' : 'hint'} data-path={model.paths[key]}>
          {errors.length > 0 ? errors.join('; ') : hint}
        </span>
      </div>
    );
  };
  const area: FieldKit<F>['area'] = (key, label, placeholder, hint) =>
    field(key, label, (p) => <textarea {...p} rows={3} spellcheck={false} value={form[key]} onInput={set(key)} placeholder={placeholder} />, hint);

  return (
    <form class="app-form" onSubmit={(e) => { e.preventDefault(); void submit(false); }} noValidate>
      <div class="mode" role="group" aria-label="Edit as">
        <button type="button" aria-pressed={json === undefined} onClick={toForm}>Form</button>
        <button type="button" aria-pressed={json !== undefined} onClick={() => { setJson(JSON.stringify(body(), null, 2)); setProblem(undefined); }}>JSON</button>
      </div>
      {json === undefined ? fields({ form, field, area, set }) : (
        <div class="field">
          <label for="definition-json">{jsonLabel}</label>
          <textarea id="definition-json" rows={24} spellcheck={false} value={json} onInput={(e) => setJson(e.currentTarget.value)} />
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
