import { useEffect, useState } from 'preact/hooks';
import { quotaBars, type QuotaRow } from '../core/quotas.ts';
import { api, errorText } from './api.ts';
import type { State } from './store.ts';
import { ErrorNote } from './widgets.tsx';

/**
 * Quotas per group: what the apps under it declare (used) and hold now (held: a rolling
 * upgrade's surge), against its limit. Read again when the cluster changes (an app's write,
 * an instance's start or end), as the apps' numbers are.
 */
export function QuotasPage({ state }: { state: State }) {
  const [rows, setRows] = useState<QuotaRow[]>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    let live = true;
    api<{ quotas: QuotaRow[] }>('GET', '/v2/quotas').then((answer) => { if (live) { setRows(answer.quotas); setError(undefined); } }, (err) => live && setError(errorText(err)));
    return () => { live = false; };
  }, [state.revision]);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>Quotas</h1>
      <p class="hint">Per group: what its apps declare (instances × resources) and hold on agents now, against the limit (<code>PUT /v2/quotas/&lt;group&gt;</code>, <code>corral quota</code>).</p>
      <ErrorNote error={error} />
      {rows === undefined ? (error === undefined && <p>Loading…</p>) : rows.length === 0 ? <p class="empty">No quotas are set{' '}(or none on a group this token may read).</p> : (
        <ul class="cards quotas">
          {rows.map((row) => (
            <li key={row.group} class="card" data-group={row.group}>
              <h2 class="mono">{row.group}</h2>
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
    </section>
  );
}
