import { useEffect, useState } from 'preact/hooks';
import { diffVersions } from '../core/diff.ts';
import { formatAge, stateLabel, taskAddresses } from '../core/format.ts';
import type { App, QueueEntry, TaskFailure } from '../core/marathon.ts';
import { APP_TABS, routeHash, type AppTab } from '../core/routes.ts';
import { reachView, type ReachAnswer } from '../core/reach.ts';
import { appStatus, healthCounts, taskHealth } from '../core/status.ts';
import { formOf } from '../core/app-form.ts';
import { debugView } from '../core/debug.ts';
import { api, ApiError, appPath, errorText } from './api.ts';
import { AppDefinitionEditor } from './app-form.tsx';
import { LogTail } from './logs.tsx';
import { useNow, type State } from './store.ts';
import { Confirm, ErrorNote, HealthBar, StatusBadge, UsageBar } from './widgets.tsx';

const TAB_LABELS: Record<AppTab, string> = { instances: 'Instances', config: 'Configuration', edit: 'Edit', debug: 'Debug', reach: 'How to reach it' };

/** What a write answered: the deployment it started, or the API's words. */
type Outcome = { ok: true; text: string } | { ok: false; text: string; force?: () => void } | undefined;

/** One API call an action makes; `?force=true` is added when the operator forces it past a deployment's lock. */
interface Call { method: string; path: string; body?: unknown }
type Act = (what: string, call: Call) => Promise<boolean>;
const forced = (path: string): string => `${path}${path.includes('?') ? '&' : '?'}force=true`;

const started = (answer: unknown, what: string): Outcome => {
  const id = (answer as { deploymentId?: string } | undefined)?.deploymentId;
  return { ok: true, text: id === undefined ? `${what}: done.` : `${what}: deployment ${id} started.` };
};

export function AppPage({ state, id, tab }: { state: State; id: string; tab: AppTab }) {
  const app = state.view.apps.get(id);
  const [outcome, setOutcome] = useState<Outcome>();
  const [asking, setAsking] = useState<'suspend' | 'destroy' | undefined>();
  const [instances, setInstances] = useState<string>('');
  useEffect(() => setInstances(app === undefined ? '' : String(app.instances)), [app?.instances, id]);

  if (app === undefined) {
    return (
      <section aria-labelledby="page-title">
        <h1 id="page-title" tabIndex={-1}>{id}</h1>
        {state.loaded ? <p class="empty">There is no app {id} (it may have been destroyed). <a href="#/apps">All apps</a></p> : <p>Loading…</p>}
      </section>
    );
  }

  const act = async (what: string, call: Call, force = false): Promise<boolean> => {
    setOutcome(undefined);
    try {
      setOutcome(started(await api(call.method, force ? forced(call.path) : call.path, call.body), what));
      return true;
    } catch (err) {
      // 409: a deployment holds the app; Marathon's UI offers to force the change (that deployment is cancelled).
      const locked = !force && err instanceof ApiError && err.problem.status === 409;
      setOutcome({ ok: false, text: `${what}: ${errorText(err)}`, ...(locked ? { force: () => void act(what, call, true) } : {}) });
      return false;
    }
  };
  const scale = (count: number): Promise<boolean> => act(`Scale to ${count}`, { method: 'PUT', path: appPath(id), body: { instances: count } });
  const status = appStatus(app, state.view.queue.get(id));

  return (
    <section aria-labelledby="page-title">
      <p class="crumbs"><a href="#/apps">Apps</a> / {id}</p>
      <div class="page-head">
        <h1 id="page-title" tabIndex={-1}>{id}</h1>
        <StatusBadge status={status} />
      </div>
      <div class="summary">
        <HealthBar counts={healthCounts(app)} />
        <span>{app.instances} instance{app.instances === 1 ? '' : 's'} · {app.cpus} cpus · {app.mem} MiB · version {app.version}</span>
      </div>
      <div class="toolbar" role="group" aria-label="App actions">
        <form class="inline" onSubmit={(e) => { e.preventDefault(); void scale(Number(instances)); }}>
          <label>Instances <input type="number" min={0} step={1} required value={instances} onInput={(e) => setInstances(e.currentTarget.value)} /></label>
          <button type="submit">Scale</button>
        </form>
        <button type="button" onClick={() => void act('Restart', { method: 'POST', path: appPath(id, '/restart'), body: {} })}>Restart</button>
        <button type="button" onClick={() => setAsking('suspend')} disabled={app.instances === 0}>Suspend</button>
        <button type="button" class="danger" onClick={() => setAsking('destroy')}>Destroy</button>
      </div>
      {outcome !== undefined && (
        <p class={outcome.ok ? 'note' : 'error'} role={outcome.ok ? 'status' : 'alert'}>
          {outcome.text}
          {!outcome.ok && outcome.force !== undefined && <> <button type="button" onClick={outcome.force}>Force it (cancels the running deployment)</button></>}
        </p>
      )}
      <Confirm open={asking === 'suspend'} title={`Suspend ${id}?`} confirmLabel="Suspend" onCancel={() => setAsking(undefined)}
        onConfirm={() => { setAsking(undefined); void scale(0); }}>
        <p>All {app.instances} instances are stopped; the configuration stays, and scaling up starts them again.</p>
      </Confirm>
      <Confirm open={asking === 'destroy'} danger title={`Destroy ${id}?`} confirmLabel={`Destroy ${id}`} onCancel={() => setAsking(undefined)}
        onConfirm={() => {
          setAsking(undefined);
          void act('Destroy', { method: 'DELETE', path: appPath(id) }).then((ok) => { if (ok) location.hash = '#/apps'; });
        }}>
        <p>Its instances are killed and its configuration and versions are deleted. This cannot be undone.</p>
      </Confirm>
      <nav class="tabs" aria-label="App views">
        {APP_TABS.map((t) => <a key={t} href={routeHash({ page: 'app', id, tab: t })} aria-current={t === tab ? 'page' : undefined}>{TAB_LABELS[t]}</a>)}
      </nav>
      {tab === 'instances' && <Instances app={app} act={act} />}
      {tab === 'config' && <Versions app={app} act={act} />}
      {tab === 'edit' && <Edit app={app} />}
      {tab === 'debug' && <Debug app={app} queued={state.view.queue.get(id)} revision={state.revision} />}
      {tab === 'reach' && <Reach app={app} />}
    </section>
  );
}

function Instances({ app, act }: { app: App; act: Act }) {
  const now = useNow();
  const [logsOf, setLogsOf] = useState<string>();
  const tasks = [...(app.tasks ?? [])].sort((a, b) => (a.id < b.id ? -1 : 1));
  if (tasks.length === 0) return <p class="empty">No instances{app.instances === 0 ? ' (suspended)' : ' yet'}.</p>;
  return (
    <>
    <table class="instances">
      <caption class="visually-hidden">Instances of {app.id}</caption>
      <thead><tr><th scope="col">Instance</th><th scope="col">Address</th><th scope="col">State</th><th scope="col">Health</th><th scope="col">Version</th><th scope="col">Age</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>
        {tasks.map((task) => {
          const health = taskHealth(task) ?? '—';
          const addresses = taskAddresses(task, app.container?.portMappings);
          return (
            <tr key={task.id} data-task={task.id}>
              <th scope="row" class="mono">{task.id}</th>
              <td data-label="Address" class="mono">{addresses.endpoints.join(' ')}{addresses.ip !== undefined && <span class="task-ip"> IP {addresses.ip}</span>}</td>
              <td data-label="State"><span class={`state state-${stateLabel(task.state)}`}>{stateLabel(task.state)}</span></td>
              <td data-label="Health"><span class={`health health-${health}`}>{health}</span></td>
              <td data-label="Version" class="mono">{task.version}{task.version === app.version ? '' : ' (old)'}</td>
              <td data-label="Age">{formatAge(task.startedAt ?? task.stagedAt, now)}</td>
              <td class="row-actions">
                <button type="button" aria-label={`Logs of ${task.id}`} aria-pressed={logsOf === task.id} onClick={() => setLogsOf(logsOf === task.id ? undefined : task.id)}>Logs</button>
                <button type="button" aria-label={`Kill ${task.id}`} onClick={() => void act(`Kill ${task.id}`, { method: 'DELETE', path: appPath(app.id, `/tasks/${encodeURIComponent(task.id)}`) })}>Kill</button>
                <button type="button" aria-label={`Kill ${task.id} and scale down`} onClick={() => void act(`Kill ${task.id} and scale`, { method: 'DELETE', path: appPath(app.id, `/tasks/${encodeURIComponent(task.id)}?scale=true`) })}>Kill &amp; scale</button>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
    {logsOf !== undefined && <LogTail key={logsOf} taskId={logsOf} />}
    </>
  );
}

/** Reads a JSON resource, again whenever `key` changes; its error in words. */
function useResource<T>(path: string, key: unknown): { data?: T; error?: string } {
  const [result, setResult] = useState<{ data?: T; error?: string }>({});
  useEffect(() => {
    if (path === '') return undefined;
    let live = true;
    api<T>('GET', path).then((data) => live && setResult({ data }), (err) => live && setResult({ error: errorText(err) }));
    return () => {
      live = false;
    };
  }, [path, key]);
  return result;
}

function Versions({ app, act }: { app: App; act: Act }) {
  const { data, error } = useResource<{ versions: string[] }>(appPath(app.id, '/versions'), app.version);
  const versions = data?.versions ?? [];
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const older = from !== '' ? from : (versions[1] ?? versions[0] ?? '');
  const newer = to !== '' ? to : (versions[0] ?? '');
  const left = useResource<Record<string, unknown>>(older === '' ? '' : appPath(app.id, `/versions/${encodeURIComponent(older)}`), `${older}`);
  const right = useResource<Record<string, unknown>>(newer === '' ? '' : appPath(app.id, `/versions/${encodeURIComponent(newer)}`), `${newer}`);
  if (error !== undefined) return <ErrorNote error={error} />;
  const changes = left.data !== undefined && right.data !== undefined ? diffVersions(left.data, right.data) : undefined;
  const deploy = (version: string): Promise<boolean> => act(`Deploy version ${version}`, { method: 'PUT', path: appPath(app.id), body: { version } });
  const show = (value: unknown): string => JSON.stringify(value);
  return (
    <div class="versions">
      <div>
        <h2>Versions</h2>
        <ol class="version-list">
          {versions.map((v) => (
            <li key={v}>
              <span class="mono">{v}</span>{v === app.version && <span class="badge">current</span>}
              {v !== app.version && <button type="button" aria-label={`Deploy version ${v}`} onClick={() => void deploy(v)}>Deploy this version</button>}
            </li>
          ))}
        </ol>
      </div>
      <div>
        <h2>Compare</h2>
        <div class="toolbar">
          <label>From <select value={older} onChange={(e) => setFrom(e.currentTarget.value)}>{versions.map((v) => <option key={v} value={v}>{v}</option>)}</select></label>
          <label>To <select value={newer} onChange={(e) => setTo(e.currentTarget.value)}>{versions.map((v) => <option key={v} value={v}>{v}</option>)}</select></label>
          {older !== app.version && older !== '' && <button type="button" onClick={() => void deploy(older)}>Deploy {older}</button>}
        </div>
        <ErrorNote error={left.error ?? right.error} />
        {changes === undefined ? <p>Loading…</p> : changes.length === 0 ? <p class="empty">These versions are the same.</p> : (
          <table class="diff" aria-label={`Changes from ${older} to ${newer}`}>
            <thead><tr><th scope="col">Field</th><th scope="col">From</th><th scope="col">To</th></tr></thead>
            <tbody>
              {changes.map((c) => (
                <tr key={c.path} class={`diff-${c.kind}`}>
                  <th scope="row" class="mono">{c.path}</th>
                  <td data-label="From" class="mono">{c.kind === 'added' ? '' : show(c.before)}</td>
                  <td data-label="To" class="mono">{c.kind === 'removed' ? '' : show(c.after)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}

/** Fields the API sets: left out of the editor, since a PUT must not carry them. */
const READ_ONLY = ['version', 'versionInfo', 'tasks', 'deployments', 'tasksStaged', 'tasksRunning', 'tasksHealthy', 'tasksUnhealthy', 'lastTaskFailure'];

function Edit({ app }: { app: App }) {
  const current = useResource<Record<string, unknown>>(appPath(app.id, `/versions/${encodeURIComponent(app.version)}`), app.version);
  const [outcome, setOutcome] = useState<Outcome>();
  if (current.error !== undefined) return <ErrorNote error={current.error} />;
  if (current.data === undefined) return <p>Loading…</p>;
  // `ports` repeats portDefinitions' service ports in GET answers; a PUT may carry only one of them.
  const hidden = (key: string): boolean => READ_ONLY.includes(key) || (key === 'ports' && current.data?.portDefinitions !== undefined);
  const base = Object.fromEntries(Object.entries(current.data).filter(([k]) => !hidden(k)));
  const deploy = async (body: Record<string, unknown>, force: boolean): Promise<void> => {
    setOutcome(undefined);
    const path = `${appPath(app.id)}?partialUpdate=false`;
    setOutcome(started(await api('PUT', force ? forced(path) : path, body), 'Deploy'));
  };
  return (
    <div class="editor">
      {/* Keyed by version: a new version (this edit's, or another client's) starts from it. */}
      <AppDefinitionEditor key={app.version} base={base} initial={formOf(base)} fixedId submitLabel="Deploy changes"
        jsonLabel={`Configuration of ${app.id} (JSON, as PUT /v2/apps${app.id} takes it)`} send={deploy} />
      {outcome !== undefined && <p class={outcome.ok ? 'note' : 'error'} role="status">{outcome.text}</p>}
    </div>
  );
}

function Debug({ app, queued, revision }: { app: App; queued: QueueEntry | undefined; revision: number }) {
  const { data, error } = useResource<{ app: App & { lastTaskFailure?: TaskFailure } }>(`${appPath(app.id)}?embed=app.lastTaskFailure`, revision);
  const now = useNow();
  const [reset, setReset] = useState<string>();
  const view = debugView(app, queued, data?.app.lastTaskFailure, now);
  return (
    <div class="debug">
      <h2>Waiting to launch</h2>
      {view.waiting === undefined ? <p class="empty">Nothing waits: every instance asked is placed.</p> : (
        <>
          <p><strong>{view.waiting.count} instance{view.waiting.count === 1 ? '' : 's'} waiting</strong>{view.waiting.since === undefined ? '' : ` (since ${view.waiting.since})`}: {view.waiting.reason}.</p>
          {view.waiting.refusals.length > 0 && (
            <table class="refusals">
              <caption>Why agents refused the next instance (the last placement tried)</caption>
              <thead><tr><th scope="col">Reason</th><th scope="col">Agents refused</th></tr></thead>
              <tbody>
                {view.waiting.refusals.map((r) => (
                  <tr key={r.what} class={`refusal-${r.kind}`}>
                    <th scope="row">{r.what}{r.kind === 'constraint' && <span class="badge">constraint</span>}</th>
                    <td data-label="Agents refused"><UsageBar label={r.what} used={r.agents} total={r.of} unit=" agents" /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
      <h2>Launch delay</h2>
      <p>{view.delay.text}</p>
      {view.delay.inForce && (
        <button type="button" onClick={() => api('DELETE', `/v2/queue${app.id}/delay`).then(() => setReset('Delay reset.'), (err) => setReset(errorText(err)))}>Reset launch delay</button>
      )}
      {reset !== undefined && <p class="note" role="status">{reset}</p>}
      <h2>Last task failure</h2>
      <ErrorNote error={error} />
      {view.failure === undefined ? <p class="empty">No task of this app has failed.</p> : (
        <>
          <p><strong>{view.failure.headline}</strong></p>
          <pre class="failure-message">{view.failure.message}</pre>
          <dl>
            <dt>Task</dt><dd class="mono">{view.failure.task}</dd>
            <dt>Version</dt><dd class="mono">{view.failure.version}</dd>
            <dt>When</dt><dd>{view.failure.when}</dd>
          </dl>
        </>
      )}
      {view.failure !== undefined && <LogTail key={view.failure.task} taskId={view.failure.task} live={false} />}
    </div>
  );
}

/** DNS names and LB routes, read by the scheduler from the DNS and LB HTTP APIs (the page may call only the scheduler). */
function Reach({ app }: { app: App }) {
  // Read again when the instances change (their addresses are the records) or on a click.
  const [asked, setAsked] = useState(0);
  const instances = (app.tasks ?? []).map((t) => `${t.id}:${t.state}`).join(',');
  const { data, error } = useResource<ReachAnswer>(`/corral/v1/reach/${app.id.split('/').filter((s) => s !== '').map(encodeURIComponent).join('/')}`, `${instances} ${asked} ${app.version}`);
  if (error !== undefined) return <ErrorNote error={error} />;
  if (data === undefined) return <p>Loading…</p>;
  const view = reachView(app, data);
  const names = (rows: Array<{ name: string; values: string[]; port?: string; agent: boolean }>, caption: string) => (
    <table class="reach">
      <caption>{caption}</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Answers</th></tr></thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.name}>
            <th scope="row" class="mono">{r.name}{r.port !== undefined && <span class="badge">{r.port}</span>}{r.agent && <span class="badge">agent</span>}</th>
            <td data-label="Answers" class="mono">{r.values.map((v) => <div key={v}>{v}</div>)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
  return (
    <div class="reach-view">
      <div class="toolbar"><button type="button" onClick={() => setAsked(asked + 1)}>Read again</button></div>
      <h2>DNS</h2>
      {view.dns.state !== 'ok' ? <p class={view.dns.state === 'error' ? 'error' : 'empty'} role={view.dns.state === 'error' ? 'alert' : undefined}>{view.dns.text}</p> : (
        <>
          {view.dns.note !== undefined && <p class="empty">{view.dns.note}</p>}
          {view.dns.addresses.length > 0 && names(view.dns.addresses, 'Names (A records): the instances\' addresses')}
          {view.dns.services.length > 0 && names(view.dns.services, 'Services (SRV records): host and port per instance; _<port name>._<app> per named port')}
        </>
      )}
      <h2>Load balancer</h2>
      {view.lb.state !== 'ok' ? <p class={view.lb.state === 'error' ? 'error' : 'empty'} role={view.lb.state === 'error' ? 'alert' : undefined}>{view.lb.text}</p> : (
        <>
          {view.lb.note !== undefined && <p class="empty">{view.lb.note}</p>}
          {view.lb.vhosts.length > 0 && (
            <table class="reach">
              <caption>Virtual hosts (on the LB’s HTTP and HTTPS ports)</caption>
              <thead><tr><th scope="col">Host and path</th><th scope="col">App port</th><th scope="col">Service port</th><th scope="col">Try it</th></tr></thead>
              <tbody>{view.lb.vhosts.map((v) => (
                <tr key={v.url}>
                  <th scope="row" class="mono">{v.url}</th><td data-label="App port">{v.label}</td><td data-label="Service port" class="mono">{v.servicePort}</td>
                  <td data-label="Try it" class="mono">{v.try ?? '—'}</td>
                </tr>
              ))}</tbody>
            </table>
          )}
          {view.lb.ports.length > 0 && (
            <table class="reach">
              <caption>Service ports (on the LB’s address)</caption>
              <thead><tr><th scope="col">Service port</th><th scope="col">App port</th><th scope="col">Mode</th><th scope="col">Backends</th></tr></thead>
              <tbody>{view.lb.ports.map((p) => (
                <tr key={p.servicePort}>
                  <th scope="row" class="mono">{p.address}</th>
                  <td data-label="App port">{p.label}</td><td data-label="Mode">{p.mode}</td>
                  <td data-label="Backends">{p.backends}{p.draining > 0 ? ` (+${p.draining} draining)` : ''}</td>
                </tr>
              ))}</tbody>
            </table>
          )}
          {view.lb.rejected.length > 0 && <><h3>Not routed</h3><ul>{view.lb.rejected.map((r) => <li key={r} class="error">{r}</li>)}</ul></>}
        </>
      )}
    </div>
  );
}
