import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { NAV, parseRoute, type Route } from '../core/routes.ts';
import { AgentsPage } from './agents-page.tsx';
import { errorText, forgetToken, storedToken, storeToken, tokenAccepted, whenUnauthenticated } from './api.ts';
import { AppPage } from './app-page.tsx';
import { AppsPage } from './apps-page.tsx';
import { DeploymentsPage } from './deployments-page.tsx';
import { JobPage, JobsPage, NewJobPage } from './jobs-page.tsx';
import { NewAppPage } from './new-app-page.tsx';
import { QuotasPage } from './quotas-page.tsx';
import { store, useStore } from './store.ts';
import './styles.css';

type Auth = 'checking' | 'needed' | 'ok';

function Login({ onDone, refused }: { onDone: () => void; refused: string | undefined }) {
  const [token, setToken] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState(refused);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    storeToken(token.trim(), remember);
    try {
      if (await tokenAccepted()) {
        onDone();
        return;
      }
      forgetToken();
      setError('That token was refused (unknown, revoked or expired).');
    } catch (err) {
      forgetToken();
      setError(errorText(err));
    }
  };
  return (
    <main id="main" class="login">
      <h1 id="page-title" tabIndex={-1}>Sign in to Corral</h1>
      <p>This scheduler runs with <code>--auth</code>. Paste an API token: <code>corral up</code> writes the admin's to <code>./data/admin.token</code>.</p>
      <form onSubmit={(e) => void submit(e)}>
        <label>API token <input type="password" autoComplete="off" required value={token} onInput={(e) => setToken(e.currentTarget.value)} /></label>
        <label class="check"><input type="checkbox" checked={remember} onChange={(e) => setRemember(e.currentTarget.checked)} /> Remember on this browser (otherwise until this tab closes)</label>
        {error !== undefined && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary">Sign in</button>
      </form>
    </main>
  );
}

function Page({ route }: { route: Route }) {
  const state = useStore();
  switch (route.page) {
    case 'app': return <AppPage state={state} id={route.id} tab={route.tab} />;
    case 'new': return <NewAppPage />;
    case 'deployments': return <DeploymentsPage state={state} />;
    case 'agents': return <AgentsPage state={state} />;
    case 'jobs': return <JobsPage state={state} />;
    case 'job': return <JobPage state={state} id={route.id} />;
    case 'new-job': return <NewJobPage />;
    case 'quotas': return <QuotasPage state={state} />;
    default: return <AppsPage state={state} search={route.search} />;
  }
}

function LiveIndicator() {
  const { live } = useStore();
  const words = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' }[live];
  return <span class={`live live-${live}`} role="status">{words}</span>;
}

function Shell() {
  const [route, setRoute] = useState(parseRoute(location.hash));
  const [auth, setAuth] = useState<Auth>('checking');
  const [refused, setRefused] = useState<string>();
  useEffect(() => {
    const onHash = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    whenUnauthenticated(() => {
      store.stop();
      setAuth((was) => {
        if (was === 'ok') setRefused('The token stopped working (revoked or expired); sign in again.');
        return 'needed';
      });
    });
    tokenAccepted().then((accepted) => setAuth(accepted ? 'ok' : 'needed'), () => setAuth('ok'));
  }, []);
  useEffect(() => {
    if (auth === 'ok') store.start();
    return () => store.stop();
  }, [auth]);
  // Keyboard and screen-reader users land on the new page's heading.
  useEffect(() => document.getElementById('page-title')?.focus(), [route.page, auth]);

  if (auth === 'checking') return <main id="main"><p>Loading…</p></main>;
  if (auth === 'needed') return <Login refused={refused} onDone={() => { setRefused(undefined); setAuth('ok'); }} />;
  const current = route.page === 'app' || route.page === 'new' ? 'apps' : route.page === 'job' || route.page === 'new-job' ? 'jobs' : route.page;
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('page-title')?.focus(); }}>Skip to content</a>
      <header class="top">
        <span class="brand">Corral</span>
        <nav aria-label="Main">
          {NAV.map((item) => <a key={item.page} href={item.hash} aria-current={current === item.page ? 'page' : undefined}>{item.label}</a>)}
        </nav>
        <LiveIndicator />
        {storedToken() !== undefined && <button type="button" class="link" onClick={() => { forgetToken(); store.stop(); setAuth('needed'); }}>Sign out</button>}
      </header>
      <main id="main"><Page route={route} /></main>
    </>
  );
}

render(<Shell />, document.getElementById('root') as HTMLElement);
