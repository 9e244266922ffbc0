import { useEffect, useState } from 'preact/hooks';
import { NEW_QUOTA_FORM, quotaBars, quotaFormOf, quotaLimitsOf, type QuotaForm, type QuotaRow } from '../core/quotas.ts';
import { detailsByField } from '../core/validation.ts';
import { api, ApiError, errorText } from './api.ts';
import type { State } from './store.ts';
import { Confirm, ErrorNote } from './widgets.tsx';

const LIMITS: Array<[keyof QuotaForm, string]> = [['cpus', 'CPUs'], ['mem', 'Memory (MiB)'], ['disk', 'Disk (MiB)'], ['gpus', 'GPUs'], ['instances', 'Instances']];
const groupPath = (group: string): string => `/v2/quotas/${group.split('/').filter((s) => s !== '').map(encodeURIComponent).join('/')}`;

/** Sets a group's limits (`PUT /v2/quotas/<group>`, the cluster admin's); a 422 beside the field it names. */
function QuotaEditor({ initial, done }: { initial: QuotaForm; done: (text: string) => void }) {
  const [form, setForm] = useState<QuotaForm>(initial);
  const [problem, setProblem] = useState<{ message: string; byField: Map<string, string[]> }>();
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setProblem(undefined);
    try {
      await api('PUT', groupPath(form.group), quotaLimitsOf(form));
      done(`Quota of ${form.group} set.`);
    } catch (err) {
      const { byField, other } = detailsByField(err instanceof ApiError ? err.problem.details : [], LIMITS.map(([key]) => `/${key}`));
      setProblem({ message: [errorText(err), ...other.map((d) => `${d.path}: ${d.errors.join('; ')}`)].join(' '), byField });
    }
  };
  const field = (key: keyof QuotaForm, label: string) => {
    const errors = problem?.byField.get(`/${key}`) ?? [];
    return (
      <div class={`field${errors.length > 0 ? ' invalid' : ''}`} key={key}>
        <label for={`quota-${key}`}>{label}</label>
        <input id={`quota-${key}`} inputMode="decimal" value={form[key]} aria-invalid={errors.length > 0} aria-describedby={`quota-${key}-note`}
          onInput={(e) => setForm({ ...form, [key]: e.currentTarget.value })} placeholder="no limit" />
        <span id={`quota-${key}-note`} class={errors.length > 0 ? 'field-error' : 'hint'}>{errors.join('; ')}</span>
      </div>
    );
  };
  return (
    <form class="app-form quota-form" onSubmit={(e) => void submit(e)} noValidate aria-label="Set a quota">
      <div class="field">
        <label for="quota-group">Group</label>
        <input id="quota-group" value={form.group} onInput={(e) => setForm({ ...form, group: e.currentTarget.value })} placeholder="/team-a" required />
        <span class="hint">Counts every app under it. An empty limit: not limited.</span>
      </div>
      <div class="row">{LIMITS.map(([key, label]) => field(key, label))}</div>
      {problem !== undefined && <p class="error" role="alert">{problem.message}</p>}
      <div class="actions"><button type="submit" class="primary">Set quota</button></div>
    </form>
  );
}

/**
 * Quotas per group: what the apps under it declare (used) and hold now (held: a rolling
 * upgrade's surge), against its limit. Read again when the cluster changes (an app's write,
 * an instance's start or end), as the apps' numbers are.
 */
export function QuotasPage({ state }: { state: State }) {
  const [rows, setRows] = useState<QuotaRow[]>();
  const [error, setError] = useState<string>();
  const [editing, setEditing] = useState<QuotaForm>();
  const [removing, setRemoving] = useState<string>();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string }>();
  const [asked, setAsked] = useState(0);
  useEffect(() => {
    let live = true;
    api<{ quotas: QuotaRow[] }>('GET', '/v2/quotas').then((answer) => { if (live) { setRows(answer.quotas); setError(undefined); } }, (err) => live && setError(errorText(err)));
    return () => { live = false; };
  }, [state.revision, asked]);
  const remove = async (group: string): Promise<void> => {
    setRemoving(undefined);
    try {
      await api('DELETE', groupPath(group));
      setOutcome({ ok: true, text: `Quota of ${group} removed.` });
    } catch (err) {
      setOutcome({ ok: false, text: errorText(err) });
    }
    setAsked(asked + 1);
  };
  const saved = (text: string): void => {
    setEditing(undefined);
    setOutcome({ ok: true, text });
    setAsked(asked + 1);
  };
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>Quotas</h1>
      <p class="hint">Per group: what its apps declare (instances × resources) and hold on agents now, against the limit (<code>PUT /v2/quotas/&lt;group&gt;</code>, <code>corral quota</code>).</p>
      <ErrorNote error={error} />
      <div class="toolbar">
        <button type="button" aria-expanded={editing !== undefined} onClick={() => setEditing(editing === undefined ? NEW_QUOTA_FORM : undefined)}>{editing === undefined ? 'Set a quota' : 'Close'}</button>
      </div>
      {editing !== undefined && <QuotaEditor key={editing.group} initial={editing} done={saved} />}
      {outcome !== undefined && <p class={outcome.ok ? 'note' : 'error'} role={outcome.ok ? 'status' : 'alert'}>{outcome.text}</p>}
      {rows === undefined ? (error === undefined && <p>Loading…</p>) : rows.length === 0 ? <p class="empty">No quotas are set{' '}(or none on a group this token may read).</p> : (
        <ul class="cards quotas">
          {rows.map((row) => (
            <li key={row.group} class="card" data-group={row.group}>
              <div class="page-head">
                <h2 class="mono">{row.group}</h2>
                <div class="row-actions">
                  <button type="button" aria-label={`Change the quota of ${row.group}`} onClick={() => setEditing(quotaFormOf(row))}>Change</button>
                  <button type="button" aria-label={`Remove the quota of ${row.group}`} onClick={() => setRemoving(row.group)}>Remove</button>
                </div>
              </div>
              <table class="quota">
                <caption class="visually-hidden">Quota of {row.group}</caption>
                <thead><tr><th scope="col">Resource</th><th scope="col">Declared / held / limit</th></tr></thead>
                <tbody>
                  {quotaBars(row).map((bar) => (
                    <tr key={bar.resource} class={`quota-${bar.state}`} data-resource={bar.resource}>
                      <th scope="row">{bar.resource}</th>
                      <td data-label="Declared / held / limit">
                        {/* Not limited: no bar to fill, the numbers say it. */}
                        {bar.limit !== undefined && (
                          <div class="quota-bar" role="meter" aria-label={`${row.group} ${bar.resource}`} aria-valuemin={0} aria-valuemax={bar.limit} aria-valuenow={bar.held} aria-valuetext={bar.words} title={bar.words}>
                            <span class="used" style={{ width: `${bar.usedFraction * 100}%` }} />
                            <span class="held" style={{ width: `${bar.heldFraction * 100}%` }} />
                          </div>
                        )}
                        <span class="usage-text">{bar.words.replace(/^\w+: /, '')}{bar.state === 'over' ? ' — over the limit' : bar.state === 'near' ? (bar.held >= (bar.limit ?? Infinity) ? ' — at the limit' : ' — near the limit') : ''}</span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </li>
          ))}
        </ul>
      )}
      <Confirm open={removing !== undefined} danger title={`Remove the quota of ${removing ?? ''}?`} confirmLabel="Remove" onCancel={() => setRemoving(undefined)}
        onConfirm={() => removing !== undefined && void remove(removing)}>
        <p>Its apps are no longer limited by it (quotas above it still apply).</p>
      </Confirm>
    </section>
  );
}
