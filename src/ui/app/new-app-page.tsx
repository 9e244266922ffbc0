import { useState } from 'preact/hooks';
import { routeHash } from '../core/routes.ts';
import { detailsByField } from '../core/validation.ts';
import type { ErrorDetail } from '../core/marathon.ts';
import { api, ApiError, errorText } from './api.ts';

interface Form { id: string; cmd: string; instances: string; cpus: string; mem: string; port: boolean; healthPath: string; labels: string }

const START: Form = { id: '', cmd: '', instances: '1', cpus: '0.1', mem: '64', port: true, healthPath: '', labels: '' };

/** The form's fields by the API path a 422 names them with. */
const FIELDS: Array<{ key: keyof Form; path: string }> = [
  { key: 'id', path: '/id' }, { key: 'cmd', path: '/cmd' }, { key: 'instances', path: '/instances' }, { key: 'cpus', path: '/cpus' },
  { key: 'mem', path: '/mem' }, { key: 'port', path: '/portDefinitions' }, { key: 'healthPath', path: '/healthChecks' }, { key: 'labels', path: '/labels' },
];

/** A number as typed: the API says what is wrong with it (`-1`, `abc` sent as text), not the form. */
const numberOr = (text: string): number | string => (text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text);

/** The app JSON the form stands for (POST /v2/apps). */
function definition(form: Form): Record<string, unknown> {
  const labels = Object.fromEntries(form.labels.split('\n').map((line) => line.trim()).filter((line) => line !== '')
    .map((line) => { const eq = line.indexOf('='); return eq < 0 ? [line, ''] : [line.slice(0, eq).trim(), line.slice(eq + 1).trim()]; }));
  return {
    id: form.id.trim(),
    cmd: form.cmd,
    instances: numberOr(form.instances),
    cpus: numberOr(form.cpus),
    mem: numberOr(form.mem),
    ...(form.port ? { portDefinitions: [{ port: 0, name: 'http' }] } : {}),
    ...(form.port && form.healthPath.trim() !== '' ? { healthChecks: [{ protocol: 'HTTP', path: form.healthPath.trim(), portIndex: 0, intervalSeconds: 2, gracePeriodSeconds: 30 }] } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
  };
}

export function NewAppPage() {
  const [form, setForm] = useState<Form>(START);
  const [json, setJson] = useState<string | undefined>();
  const [problem, setProblem] = useState<{ message: string; byField: Map<string, string[]>; other: ErrorDetail[] }>();
  const [busy, setBusy] = useState(false);
  const set = (key: keyof Form) => (e: Event): void => {
    const input = e.currentTarget as HTMLInputElement;
    setForm({ ...form, [key]: input.type === 'checkbox' ? input.checked : input.value });
  };
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setProblem(undefined);
    let body: unknown;
    try {
      body = json === undefined ? definition(form) : JSON.parse(json);
    } catch (err) {
      setProblem({ message: `Not JSON: ${(err as Error).message}`, byField: new Map(), other: [] });
      return;
    }
    setBusy(true);
    try {
      const app = await api<{ id: string }>('POST', '/v2/apps', body);
      location.hash = routeHash({ page: 'app', id: app.id, tab: 'instances' });
    } catch (err) {
      const details = err instanceof ApiError ? err.problem.details : [];
      // In the JSON editor every detail is listed with its path; in the form, beside its field.
      const split = detailsByField(details, json === undefined ? FIELDS.map((f) => f.path) : []);
      setProblem({ message: errorText(err), ...split });
    } finally {
      setBusy(false);
    }
  };
  const errorsOf = (key: keyof Form): string[] => problem?.byField.get(FIELDS.find((f) => f.key === key)?.path ?? '') ?? [];
  const field = (key: keyof Form, label: string, input: (props: Record<string, unknown>) => preact.JSX.Element, hint?: string) => {
    const errors = errorsOf(key);
    const id = `field-${key}`;
    return (
      <div class={`field${errors.length > 0 ? ' invalid' : ''}`}>
        <label for={id}>{label}</label>
        {input({ id, 'aria-invalid': errors.length > 0, 'aria-describedby': `${id}-note` })}
        <span id={`${id}-note`} class={errors.length > 0 ? 'field-error' : 'hint'} data-path={FIELDS.find((f) => f.key === key)?.path}>
          {errors.length > 0 ? errors.join('; ') : hint}
        </span>
      </div>
    );
  };
  return (
    <section aria-labelledby="page-title">
      <p class="crumbs"><a href="#/apps">Apps</a> / new</p>
      <h1 id="page-title" tabIndex={-1}>Create an app</h1>
      <form class="app-form" onSubmit={(e) => void submit(e)} noValidate>
        <div class="mode" role="group" aria-label="Edit as">
          <button type="button" aria-pressed={json === undefined} onClick={() => setJson(undefined)}>Form</button>
          <button type="button" aria-pressed={json !== undefined} onClick={() => setJson(JSON.stringify(definition(form), null, 2))}>JSON</button>
        </div>
        {json === undefined ? (
          <>
            {field('id', 'ID', (p) => <input {...p} value={form.id} onInput={set('id')} placeholder="/team/web" required />, 'A path: /group/name, lower-case letters, digits, dashes.')}
            {field('cmd', 'Command', (p) => <input {...p} value={form.cmd} onInput={set('cmd')} placeholder="python3 -m http.server $PORT0" />, 'Run by sh -c on the agent; $PORT0 is its first port.')}
            <div class="row">
              {field('instances', 'Instances', (p) => <input {...p} inputMode="numeric" value={form.instances} onInput={set('instances')} />)}
              {field('cpus', 'CPUs', (p) => <input {...p} inputMode="decimal" value={form.cpus} onInput={set('cpus')} />)}
              {field('mem', 'Memory (MiB)', (p) => <input {...p} inputMode="decimal" value={form.mem} onInput={set('mem')} />)}
            </div>
            {field('port', 'One port ($PORT0, named http)', (p) => <input {...p} type="checkbox" checked={form.port} onChange={set('port')} />)}
            {field('healthPath', 'HTTP health check path', (p) => <input {...p} value={form.healthPath} onInput={set('healthPath')} placeholder="/" disabled={!form.port} />, 'Empty: no health check.')}
            {field('labels', 'Labels', (p) => <textarea {...p} rows={3} value={form.labels} onInput={set('labels')} placeholder="team=blue" />, 'One key=value a line.')}
          </>
        ) : (
          <div class="field">
            <label for="new-json">App definition (JSON)</label>
            <textarea id="new-json" rows={20} spellcheck={false} value={json} onInput={(e) => setJson(e.currentTarget.value)} />
          </div>
        )}
        {problem !== undefined && (
          <div class="problems" role="alert">
            <p class="error">{problem.message}</p>
            {problem.other.map((d) => <p key={d.path} class="field-error" data-path={d.path}><code>{d.path}</code>: {d.errors.join('; ')}</p>)}
          </div>
        )}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy}>Create</button>
          <a class="button" href="#/apps">Cancel</a>
        </div>
      </form>
    </section>
  );
}
