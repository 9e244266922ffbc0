import { useMemo, useState } from 'preact/hooks';
import { appRows, byGroup, NO_FILTER, type AppFilter } from '../core/app-list.ts';
import { formatNumber } from '../core/format.ts';
import { routeHash } from '../core/routes.ts';
import { APP_STATUSES, HEALTHS } from '../core/status.ts';
import type { State } from './store.ts';
import { ErrorNote, HealthBar, StatusBadge } from './widgets.tsx';

/** Rows drawn at first: a thousand apps filter instantly, drawing them all waits for a click. */
const FIRST_ROWS = 300;

export function AppsPage({ state, search }: { state: State; search: string }) {
  const [filter, setFilter] = useState<AppFilter>({ ...NO_FILTER, search });
  const [all, setAll] = useState(false);
  const rows = useMemo(() => appRows(state.view.apps.values(), state.view.queue, filter), [state.view, filter]);
  const shown = all ? rows : rows.slice(0, FIRST_ROWS);
  const setSearch = (text: string): void => {
    setFilter({ ...filter, search: text });
    // The search is part of the address, so a reload or a shared link keeps it.
    history.replaceState(null, '', routeHash({ page: 'apps', search: text }));
  };
  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>Apps</h1>
        <a class="button primary" href="#/new">Create app</a>
      </div>
      <div class="toolbar" role="search">
        <label>Search <input type="search" value={filter.search} placeholder="id, label or label=value" onInput={(e) => setSearch(e.currentTarget.value)} /></label>
        <label>Status
          <select value={filter.status} onChange={(e) => setFilter({ ...filter, status: e.currentTarget.value as AppFilter['status'] })}>
            <option value="all">All</option>
            {APP_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Health
          <select value={filter.health} onChange={(e) => setFilter({ ...filter, health: e.currentTarget.value as AppFilter['health'] })}>
            <option value="all">All</option>
            {HEALTHS.map((h) => <option key={h} value={h}>{h}</option>)}
          </select>
        </label>
      </div>
      <ErrorNote error={state.error} />
      {!state.loaded ? <p>Loading…</p> : rows.length === 0 ? (
        <p class="empty">{state.view.apps.size === 0 ? 'No apps yet. Create one to run a service on the agents.' : 'No app matches.'}</p>
      ) : (
        <table class="apps">
          <caption class="visually-hidden">Apps by group: status, health and resources</caption>
          <thead>
            <tr><th scope="col">App</th><th scope="col">Status</th><th scope="col">Health</th><th scope="col" class="num">Instances</th><th scope="col" class="num">CPUs</th><th scope="col" class="num">Mem (MiB)</th></tr>
          </thead>
          {byGroup(shown).map(({ group, rows: groupRows }) => (
            <tbody key={group}>
              <tr class="group"><th scope="rowgroup" colSpan={6}>{group}</th></tr>
              {groupRows.map(({ app, status, health }) => (
                <tr key={app.id} data-app={app.id}>
                  <th scope="row"><a href={routeHash({ page: 'app', id: app.id, tab: 'instances' })}>{app.id}</a></th>
                  <td data-label="Status"><StatusBadge status={status} /></td>
                  <td data-label="Health"><HealthBar counts={health} /></td>
                  <td data-label="Instances" class="num">{(app.tasks ?? []).filter((t) => t.state === 'TASK_RUNNING').length} / {app.instances}</td>
                  <td data-label="CPUs" class="num">{formatNumber(app.cpus)}</td>
                  <td data-label="Mem" class="num">{formatNumber(app.mem)}</td>
                </tr>
              ))}
            </tbody>
          ))}
        </table>
      )}
      {!all && rows.length > FIRST_ROWS && <button type="button" onClick={() => setAll(true)}>Show all {rows.length} apps</button>}
    </section>
  );
}
